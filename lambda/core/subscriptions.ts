import { EVENT_TYPE } from './model';
import { ALERT_EVENT_TYPE, type EventType, type FilterPolicy } from './subscription-filter';

/**
 * Subscribers of the deployed topic, as `unread-notifier subscriptions` manages them: the rules
 * per protocol and the port the SNS adapter implements.
 */

export type SubscriptionProtocol = 'email' | 'sms' | 'https' | 'sqs' | 'lambda';
export const SUBSCRIPTION_PROTOCOLS: readonly SubscriptionProtocol[] = ['email', 'sms', 'https', 'sqs', 'lambda'];

/** People get alerts, systems get every change (CONTRACT.md "Alerts for people"). */
export const DEFAULT_EVENT_TYPES: Readonly<Record<SubscriptionProtocol, readonly EventType[]>> = {
  email: [ALERT_EVENT_TYPE],
  sms: [ALERT_EVENT_TYPE],
  https: [EVENT_TYPE],
  sqs: [EVENT_TYPE],
  lambda: [EVENT_TYPE],
};

/**
 * Raw delivery for queues only, as the stack's integrator queue: the SQS message body is then
 * the event JSON itself (the `default` of the published MessageStructure json) and the event's
 * attributes arrive as SQS message attributes. HTTPS receivers keep SNS's signed envelope (the
 * event JSON is its `Message`), so they can verify a message came from SNS and can answer the
 * SubscriptionConfirmation; Lambda always gets the envelope; email and SMS get their own texts.
 */
export function usesRawDelivery(protocol: SubscriptionProtocol): boolean {
  return protocol === 'sqs';
}

/**
 * The stack's retry policy for HTTPS subscribers (lib/event-subscriptions.ts WEBHOOK_DELIVERY_POLICY),
 * in the JSON form of the SNS `DeliveryPolicy` attribute: a quick first retry, then exponential
 * backoff up to a minute, about ten minutes in all; at most ten requests a second.
 */
export const HTTPS_DELIVERY_POLICY = {
  healthyRetryPolicy: {
    minDelayTarget: 1,
    maxDelayTarget: 60,
    numRetries: 20,
    numNoDelayRetries: 1,
    numMinDelayRetries: 2,
    numMaxDelayRetries: 10,
    // As CDK renders sns.BackoffFunction.EXPONENTIAL, which its integration test deploys.
    backoffFunction: 'EXPONENTIAL',
  },
  throttlePolicy: { maxReceivesPerSecond: 10 },
  requestPolicy: { headerContentType: 'application/json' },
} as const;

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const E164 = /^\+[1-9][0-9]{6,14}$/;
const PARTITION_REGION_ACCOUNT = String.raw`arn:aws[a-z-]*:%s:[a-z]{2}(?:-[a-z]+)+-\d:\d{12}`;
const SQS_ARN = new RegExp(`^${PARTITION_REGION_ACCOUNT.replace('%s', 'sqs')}:[A-Za-z0-9_-]{1,80}(?:\\.fifo)?$`);
const LAMBDA_ARN = new RegExp(`^${PARTITION_REGION_ACCOUNT.replace('%s', 'lambda')}:function:[A-Za-z0-9_-]{1,64}(?::(?:\\$LATEST|[A-Za-z0-9_-]{1,128}))?$`);

/** What a valid endpoint of each protocol looks like, for error messages. */
const EXPECTED: Readonly<Record<SubscriptionProtocol, string>> = {
  email: 'an email address such as team@example.com',
  sms: 'an E.164 phone number such as +14155550100',
  https: 'an https URL without credentials, such as https://hooks.example.com/unread',
  sqs: 'an SQS queue ARN such as arn:aws:sqs:eu-west-1:123456789012:unread-events',
  lambda: 'a Lambda function ARN such as arn:aws:lambda:eu-west-1:123456789012:function:on-unread',
};

/** Undefined when `endpoint` is valid for `protocol`; otherwise what was expected. */
export function checkEndpoint(protocol: SubscriptionProtocol, endpoint: string): string | undefined {
  const valid =
    protocol === 'email'
      ? EMAIL.test(endpoint) && endpoint.length <= 254
      : protocol === 'sms'
        ? E164.test(endpoint)
        : protocol === 'https'
          ? isHttpsUrl(endpoint)
          : protocol === 'sqs'
            ? SQS_ARN.test(endpoint)
            : LAMBDA_ARN.test(endpoint);
  return valid ? undefined : EXPECTED[protocol];
}

function isHttpsUrl(endpoint: string): boolean {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return false;
  }
  // Credentials in the URL would show in every listing of the subscription's attributes.
  return url.protocol === 'https:' && url.username === '' && url.password === '' && url.hostname !== '' && endpoint.length <= 2048;
}

/** The parts of an SNS, SQS or Lambda ARN that matter here. */
export interface ArnParts {
  readonly partition: string;
  readonly service: string;
  readonly region: string;
  readonly account: string;
  /** Everything after the account, e.g. the topic name, or `function:name`. */
  readonly resource: string;
}

export function parseArn(arn: string): ArnParts | undefined {
  const match = /^arn:(aws[a-z-]*):([a-z0-9-]+):([a-z0-9-]*):(\d{12}):(.+)$/.exec(arn);
  if (!match) return undefined;
  const [, partition, service, region, account, resource] = match as unknown as [string, string, string, string, string, string];
  return { partition, service, region, account, resource };
}

export interface SubscriptionRequest {
  readonly protocol: SubscriptionProtocol;
  readonly endpoint: string;
  /** @default - every event */
  readonly filterPolicy?: FilterPolicy;
  readonly rawMessageDelivery: boolean;
  /** @default - SNS's default retries */
  readonly deliveryPolicy?: object;
}

/**
 * Whether SNS waits for the endpoint to confirm before it delivers: email and HTTPS always; a
 * queue or function of another account than the topic's until that account confirms.
 */
export function needsConfirmation(protocol: SubscriptionProtocol, endpoint: string, topicArn: string): boolean {
  if (protocol === 'email' || protocol === 'https') return true;
  if (protocol === 'sms') return false;
  return parseArn(endpoint)?.account !== parseArn(topicArn)?.account;
}

export interface TopicSubscription {
  /** Undefined while the subscription waits for its confirmation. */
  readonly subscriptionArn?: string;
  readonly protocol: string;
  readonly endpoint: string;
  readonly pendingConfirmation: boolean;
  /** The filter policy as SNS holds it; undefined when it has none (or for a pending one). */
  readonly filterPolicy?: unknown;
  readonly rawMessageDelivery?: boolean;
}

/** The subscriptions of one topic (the SNS adapter). Errors carry a one-line message. */
export interface TopicSubscriptions {
  /** Answers the new subscription's ARN (also while it waits for its confirmation). */
  subscribe(request: SubscriptionRequest): Promise<string>;
  /** Every subscription of the topic, across pages. */
  list(): Promise<TopicSubscription[]>;
  unsubscribe(subscriptionArn: string): Promise<void>;
}
