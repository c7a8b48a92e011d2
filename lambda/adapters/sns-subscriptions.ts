import {
  GetSubscriptionAttributesCommand,
  ListSubscriptionsByTopicCommand,
  SubscribeCommand,
  UnsubscribeCommand,
  type SNSClient,
  type Subscription,
} from '@aws-sdk/client-sns';
import type { SubscriptionRequest, TopicSubscription, TopicSubscriptions } from '../core/subscriptions';

/** GetSubscriptionAttributes calls in flight while listing (SNS throttles per account). */
const ATTRIBUTE_READS_IN_FLIGHT = 4;
const PENDING = 'PendingConfirmation';

/** The subscriptions of one SNS topic. Every failure is thrown as one line naming the operation. */
export class SnsTopicSubscriptions implements TopicSubscriptions {
  constructor(
    private readonly client: SNSClient,
    private readonly topicArn: string,
  ) {}

  async subscribe(request: SubscriptionRequest): Promise<string> {
    const attributes: Record<string, string> = {};
    if (request.filterPolicy) attributes.FilterPolicy = JSON.stringify(request.filterPolicy);
    if (request.rawMessageDelivery) attributes.RawMessageDelivery = 'true';
    if (request.deliveryPolicy) attributes.DeliveryPolicy = JSON.stringify(request.deliveryPolicy);
    const output = await this.call('Subscribe', `topic ${this.topicArn}`, () =>
      this.client.send(
        new SubscribeCommand({
          TopicArn: this.topicArn,
          Protocol: request.protocol,
          Endpoint: request.endpoint,
          ...(Object.keys(attributes).length > 0 ? { Attributes: attributes } : {}),
          // The ARN also while email and HTTPS subscribers have not confirmed, so it can be removed.
          ReturnSubscriptionArn: true,
        }),
      ),
    );
    if (!output.SubscriptionArn) throw new Error('SNS Subscribe answered without a subscription ARN');
    return output.SubscriptionArn;
  }

  async list(): Promise<TopicSubscription[]> {
    const found: Subscription[] = [];
    let nextToken: string | undefined;
    do {
      const token = nextToken;
      const page = await this.call('ListSubscriptionsByTopic', `topic ${this.topicArn}`, () =>
        this.client.send(new ListSubscriptionsByTopicCommand({ TopicArn: this.topicArn, ...(token ? { NextToken: token } : {}) })),
      );
      found.push(...(page.Subscriptions ?? []));
      nextToken = page.NextToken;
    } while (nextToken);
    const described = await mapInBatches(found, ATTRIBUTE_READS_IN_FLIGHT, (subscription) => this.describe(subscription));
    return described.filter((subscription): subscription is TopicSubscription => subscription !== undefined);
  }

  async unsubscribe(subscriptionArn: string): Promise<void> {
    await this.call('Unsubscribe', `subscription ${subscriptionArn}`, () => this.client.send(new UnsubscribeCommand({ SubscriptionArn: subscriptionArn })));
  }

  /** A listed subscription with its filter; undefined when it was removed meanwhile. */
  private async describe(subscription: Subscription): Promise<TopicSubscription | undefined> {
    const base = { protocol: subscription.Protocol ?? 'unknown', endpoint: subscription.Endpoint ?? '' };
    const arn = subscription.SubscriptionArn;
    if (!arn || arn === PENDING) return { ...base, pendingConfirmation: true };
    let attributes: Record<string, string>;
    try {
      const output = await this.call('GetSubscriptionAttributes', `subscription ${arn}`, () =>
        this.client.send(new GetSubscriptionAttributesCommand({ SubscriptionArn: arn })),
      );
      attributes = output.Attributes ?? {};
    } catch (error) {
      if (nameOf((error as Error).cause) === 'NotFoundException') return undefined;
      throw error;
    }
    return {
      ...base,
      subscriptionArn: arn,
      pendingConfirmation: attributes.PendingConfirmation === 'true',
      ...(attributes.FilterPolicy ? { filterPolicy: parseJson(attributes.FilterPolicy) } : {}),
      ...(attributes.RawMessageDelivery ? { rawMessageDelivery: attributes.RawMessageDelivery === 'true' } : {}),
    };
  }

  private async call<T>(operation: string, subject: string, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (error) {
      throw new Error(describeSnsError(operation, subject, error), { cause: error });
    }
  }
}

/** One line an operator can act on; SNS's own message is kept, it names the refused parameter. */
export function describeSnsError(operation: string, subject: string, error: unknown): string {
  const name = nameOf(error);
  const detail = error instanceof Error && error.message && error.message !== name ? `: ${error.message}` : '';
  switch (name) {
    case 'AuthorizationErrorException':
    case 'AccessDeniedException':
    case 'AccessDenied':
      return `SNS refused ${operation} on ${subject}: not authorized; the credentials need sns:${operation} on the topic${detail}`;
    case 'NotFoundException':
      return `SNS ${operation}: ${subject} not found; check TOPIC_ARN (or --topic-arn) and that the stack is deployed${detail}`;
    case 'InvalidParameterException':
    case 'InvalidParameterValueException':
      return `SNS refused ${operation} on ${subject}${detail}`;
    case 'FilterPolicyLimitExceededException':
      return `SNS ${operation}: the topic or account has reached its limit of filter policies (200 per topic by default)${detail}`;
    case 'SubscriptionLimitExceededException':
      return `SNS ${operation}: the topic has reached its limit of subscriptions${detail}`;
    case 'ThrottledException':
      return `SNS ${operation} was throttled; try again in a moment${detail}`;
    default:
      return `SNS ${operation} on ${subject} failed: ${name ?? 'error'}${detail}`;
  }
}

function nameOf(error: unknown): string | undefined {
  return error instanceof Error ? error.name : undefined;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

async function mapInBatches<T, R>(items: readonly T[], size: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  for (let start = 0; start < items.length; start += size) {
    results.push(...(await Promise.all(items.slice(start, start + size).map(fn))));
  }
  return results;
}
