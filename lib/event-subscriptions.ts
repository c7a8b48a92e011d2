import { Duration, Token } from 'aws-cdk-lib';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subs from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { isIdentityId } from '../lambda/core/identity-id';
import type { Direction } from '../lambda/core/model';
import { buildFilterPolicy, EVENT_TYPES, SubscriptionFilterError, type EventType, type FilterPolicy } from '../lambda/core/subscription-filter';
import { DEFAULT_EVENT_TYPES, type SubscriptionProtocol } from '../lambda/core/subscriptions';
import { DeadLetterQueue } from './dead-letter-queue';

/** The `direction` message attribute values an event can carry. */
export const DIRECTIONS: readonly Direction[] = ['increased', 'decreased'];

/**
 * Limits a subscription to some events, through a filter policy on the event's message
 * attributes (`eventType`, `identityId`, `direction`).
 */
export interface EventFilter {
  /**
   * The kinds of event: `unread.alert` (for people, shaped by the alert policy) and
   * `unread.changed` (every change, for systems).
   * @default - email and SMS: `unread.alert`; webhooks and the integrator queue: `unread.changed`
   */
  readonly events?: readonly EventType[];
  /**
   * Only events of this CommBox identity (a positive int64 as a decimal string).
   * @default - every identity
   */
  readonly identityId?: string;
  /**
   * Only change events whose `direction` is one of these (alerts have none, and a subscription
   * to both kinds still gets every alert); needs `unread.changed` among the events.
   * @default - both directions
   */
  readonly directions?: readonly Direction[];
}

/** One subscriber: an email address, an E.164 phone number or an https URL, with an optional filter. */
export interface SubscriptionSpec extends EventFilter {
  readonly endpoint: string;
}

/** The SQS queue integrators read the events from (raw JSON, one event per message). */
export interface IntegratorQueueSpec extends EventFilter {
  /**
   * An existing queue to subscribe. Its policy must let this topic send to it (CDK adds that
   * statement only to queues it owns), and a KMS key on it must let SNS use it.
   * @default - a queue created by the stack, with its own dead-letter queue
   */
  readonly queue?: sqs.IQueue;
}

export interface EventSubscriptionsProps {
  readonly topic: sns.ITopic;
  /** @default - none */
  readonly alertEmails?: readonly SubscriptionSpec[];
  /** @default - none */
  readonly smsNumbers?: readonly SubscriptionSpec[];
  /** @default - none */
  readonly webhookUrls?: readonly SubscriptionSpec[];
  /** @default - no integrator queue */
  readonly integratorQueue?: IntegratorQueueSpec;
  /** @default WEBHOOK_DELIVERY_POLICY */
  readonly webhookDeliveryPolicy?: sns.DeliveryPolicy;
}

/**
 * Retries for HTTPS subscribers: a quick first retry, then exponential backoff up to a minute,
 * about ten minutes in all before SNS gives up and the message goes to the dead-letter queue.
 */
export const WEBHOOK_DELIVERY_POLICY: sns.DeliveryPolicy = {
  healthyRetryPolicy: {
    minDelayTarget: Duration.seconds(1),
    maxDelayTarget: Duration.seconds(60),
    numRetries: 20,
    numNoDelayRetries: 1,
    numMinDelayRetries: 2,
    numMaxDelayRetries: 10,
    backoffFunction: sns.BackoffFunction.EXPONENTIAL,
  },
  // A slow receiver is not flooded when a burst of identities changes at once.
  throttlePolicy: { maxReceivesPerSecond: 10 },
  // The body is the SNS JSON envelope (signed, so receivers can verify it), not text.
  requestPolicy: { headerContentType: 'application/json' },
};

/** How long the integrator queue keeps an event nobody has received; its DLQ keeps one for 14 days. */
export const INTEGRATOR_QUEUE_RETENTION = Duration.days(7);

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
/** A plausible email address (SNS sends the confirmation; this only catches typos at synth). */
export const isEmailAddress = (endpoint: string): boolean => EMAIL.test(endpoint);
const E164 = /^\+[1-9][0-9]{6,14}$/;

/**
 * Who hears about changes. Every subscription gets a redrive policy to one dead-letter queue,
 * so a message SNS could not deliver (an endpoint gone, a filter error) is kept and alarmed on
 * instead of dropped.
 */
export class EventSubscriptions extends Construct {
  /** Where SNS puts what it could not deliver; only when there is at least one subscription. */
  readonly deadLetterQueue?: DeadLetterQueue;
  /** The integrator queue, when one was asked for. */
  readonly integratorQueue?: sqs.IQueue;
  /** The dead-letter queue of the integrator queue, when the stack created that queue. */
  readonly integratorDeadLetterQueue?: DeadLetterQueue;

  constructor(scope: Construct, id: string, props: EventSubscriptionsProps) {
    super(scope, id);
    const emails = props.alertEmails ?? [];
    const phones = props.smsNumbers ?? [];
    const webhooks = props.webhookUrls ?? [];
    emails.forEach((spec) => check(spec, 'alertEmails', 'email', isEmailAddress, 'an email address'));
    phones.forEach((spec) => check(spec, 'smsNumbers', 'sms', (e) => E164.test(e), 'an E.164 phone number such as +14155550100'));
    webhooks.forEach((spec) => check(spec, 'webhookUrls', 'https', isHttpsUrl, 'an https URL without credentials'));
    if (props.integratorQueue) checkFilter(props.integratorQueue, 'sqs', 'integratorQueue');
    for (const [name, list] of [['alertEmails', emails], ['smsNumbers', phones], ['webhookUrls', webhooks]] as const) {
      const seen = new Set<string>();
      for (const { endpoint } of list) {
        if (seen.has(endpoint)) throw new Error(`${name}: ${JSON.stringify(endpoint)} is listed twice`);
        seen.add(endpoint);
      }
    }
    if (emails.length + phones.length + webhooks.length === 0 && !props.integratorQueue) return;

    const dlq = new DeadLetterQueue(this, 'DeliveryDlq', { purpose: 'event deliveries SNS gave up on' });
    this.deadLetterQueue = dlq;
    const { topic } = props;

    for (const spec of emails) {
      withFilter(topic.addSubscription(new subs.EmailSubscription(spec.endpoint, { deadLetterQueue: dlq })), filterOf(spec, 'email'));
    }
    for (const spec of phones) {
      // Built directly: subs.SmsSubscription drops the deadLetterQueue option, and SMS deserves a redrive policy as much as email.
      withFilter(
        new sns.Subscription(topic, spec.endpoint, { topic, protocol: sns.SubscriptionProtocol.SMS, endpoint: spec.endpoint, deadLetterQueue: dlq }),
        filterOf(spec, 'sms'),
      );
    }
    for (const spec of webhooks) {
      withFilter(
        topic.addSubscription(
          new subs.UrlSubscription(spec.endpoint, {
            protocol: sns.SubscriptionProtocol.HTTPS,
            deliveryPolicy: props.webhookDeliveryPolicy ?? WEBHOOK_DELIVERY_POLICY,
            deadLetterQueue: dlq,
          }),
        ),
        filterOf(spec, 'https'),
      );
    }
    if (props.integratorQueue) {
      let queue = props.integratorQueue.queue;
      if (!queue) {
        this.integratorDeadLetterQueue = new DeadLetterQueue(this, 'IntegratorDlq', { purpose: 'integrator messages received five times without being deleted' });
        queue = new sqs.Queue(this, 'IntegratorQueue', {
          encryption: sqs.QueueEncryption.SQS_MANAGED,
          enforceSSL: true,
          // An integrator that is down over a long weekend still gets every event. Shorter than the DLQ's
          // 14 days: a dead letter keeps its first enqueue time, so it has a week left there to be read.
          retentionPeriod: INTEGRATOR_QUEUE_RETENTION,
          deadLetterQueue: { queue: this.integratorDeadLetterQueue, maxReceiveCount: 5 },
        });
      }
      this.integratorQueue = queue;
      // Raw delivery: the message body is the event JSON itself and the attributes arrive as SQS message attributes.
      withFilter(topic.addSubscription(new subs.SqsSubscription(queue, { rawMessageDelivery: true, deadLetterQueue: dlq })), filterOf(props.integratorQueue, 'sqs'));
    }
  }
}

/**
 * The filter policy of a spec, on message attributes (the events of its kind by default, see
 * EventFilter.events); nothing when it does not filter. Built by the builder
 * `unread-notifier subscriptions add` uses (lambda/core/subscription-filter.ts).
 */
export function filterOf(filter: EventFilter, protocol: SubscriptionProtocol): FilterPolicy | undefined {
  return buildFilterPolicy({
    eventTypes: filter.events ?? DEFAULT_EVENT_TYPES[protocol],
    ...(filter.identityId !== undefined ? { identityIds: [filter.identityId] } : {}),
    ...(filter.directions ? { directions: filter.directions } : {}),
  });
}

/**
 * Sets the filter policy on the subscription's resource: CDK's `filterPolicy` prop cannot say
 * `$or`, which a direction on a subscription to both kinds of event needs.
 */
function withFilter(subscription: sns.Subscription, policy: FilterPolicy | undefined): void {
  if (policy) (subscription.node.defaultChild as sns.CfnSubscription).filterPolicy = policy;
}

function check(spec: SubscriptionSpec, key: string, protocol: SubscriptionProtocol, valid: (endpoint: string) => boolean, expected: string): void {
  if (!Token.isUnresolved(spec.endpoint) && !valid(spec.endpoint)) {
    throw new Error(`${key}: ${JSON.stringify(spec.endpoint)} is not ${expected}`);
  }
  checkFilter(spec, protocol, `${key} (${spec.endpoint})`);
}

function checkFilter(filter: EventFilter, protocol: SubscriptionProtocol, where: string): void {
  for (const type of filter.events ?? []) {
    if (!(EVENT_TYPES as readonly string[]).includes(type)) {
      throw new Error(`${where}: events may hold only ${EVENT_TYPES.map((t) => JSON.stringify(t)).join(' and ')}; got ${JSON.stringify(type)}`);
    }
  }
  if (filter.identityId !== undefined && !isIdentityId(filter.identityId)) {
    throw new Error(`${where}: identityId must be a positive 64-bit integer written as a string, such as "558355"; got ${JSON.stringify(filter.identityId)}`);
  }
  for (const direction of filter.directions ?? []) {
    if (!DIRECTIONS.includes(direction)) {
      throw new Error(`${where}: directions may hold only ${DIRECTIONS.map((d) => JSON.stringify(d)).join(' and ')}; got ${JSON.stringify(direction)}`);
    }
  }
  try {
    filterOf(filter, protocol);
  } catch (error) {
    if (!(error instanceof SubscriptionFilterError)) throw error;
    const events = filter.events ? '' : ` (its events are ${DEFAULT_EVENT_TYPES[protocol].join(', ')} unless "events" says otherwise)`;
    throw new Error(`${where}: ${error.message}${events}`, { cause: error });
  }
}

function isHttpsUrl(endpoint: string): boolean {
  try {
    const url = new URL(endpoint);
    // Credentials in the URL would sit in the template and in the subscription's attributes in clear.
    return url.protocol === 'https:' && url.username === '' && url.password === '';
  } catch {
    return false;
  }
}
