import { SNSClient } from '@aws-sdk/client-sns';
import type { Command } from 'commander';
import { SnsTopicSubscriptions } from '../../lambda/adapters/sns-subscriptions';
import { ENV } from '../../lambda/env-names';
import { parseIdentityId } from '../../lambda/core/identity-id';
import { EVENT_TYPE, type Direction } from '../../lambda/core/model';
import {
  buildFilterPolicy,
  DIRECTIONS,
  EVENT_TYPES,
  readFilterPolicy,
  SubscriptionFilterError,
  type EventType,
  type FilterPolicy,
} from '../../lambda/core/subscription-filter';
import {
  checkEndpoint,
  DEFAULT_EVENT_TYPES,
  HTTPS_DELIVERY_POLICY,
  needsConfirmation,
  parseArn,
  SUBSCRIPTION_PROTOCOLS,
  usesRawDelivery,
  type SubscriptionProtocol,
  type SubscriptionRequest,
  type TopicSubscription,
  type TopicSubscriptions,
} from '../../lambda/core/subscriptions';
import { UsageError, type CliIo } from './io';

/** Builds the adapter for a topic; tests replace the SNS client with aws-sdk-client-mock. */
export type SubscriptionsFactory = (topicArn: string) => TopicSubscriptions;

/** SNS answers only in the topic's region, so the client is made for it whatever AWS_REGION says. */
export const snsSubscriptions: SubscriptionsFactory = (topicArn) => new SnsTopicSubscriptions(new SNSClient({ region: parseArn(topicArn)?.region ?? '' }), topicArn);

export interface AddFlags {
  readonly email?: string;
  readonly sms?: string;
  readonly https?: string;
  readonly sqs?: string;
  readonly lambda?: string;
  readonly events?: string;
  readonly identity?: readonly string[];
  readonly direction?: string;
}

/** `subscriptions add|list|remove` on the deployed topic. */
export function registerSubscriptionCommands(program: Command, io: CliIo, topicArn: () => string | undefined, factory: SubscriptionsFactory = snsSubscriptions): void {
  const topic = (): string => {
    const arn = topicArn();
    if (!arn) throw new UsageError(`no topic: set ${ENV.topicArn} or pass --topic-arn (the stack's TopicArn output)`);
    return arn;
  };
  const subscriptions = program.command('subscriptions').description('subscribe endpoints to the deployed topic, without a redeploy');
  subscriptions
    .command('add')
    .description('subscribe one endpoint, with a filter policy built from the flags')
    .option('--email <address>', 'an email address (default events: unread.alert)')
    .option('--sms <e164>', 'an E.164 phone number such as +14155550100 (default events: unread.alert)')
    .option('--https <url>', 'an https webhook; it confirms the subscription first (default events: unread.changed)')
    .option('--sqs <arn>', 'an SQS queue ARN, raw delivery (default events: unread.changed)')
    .option('--lambda <arn>', 'a Lambda function ARN (default events: unread.changed)')
    .option('--events <types>', `comma-separated: ${EVENT_TYPES.join(',')}`)
    .option('--identity <id>', 'only events of this identity; repeat for more', (value: string, previous: string[] = []) => [...previous, value])
    .option('--direction <direction>', `only ${EVENT_TYPE} events that ${DIRECTIONS.join(' or ')}; alerts are not filtered by it`)
    .action(async (flags: AddFlags) => {
      const request = parseAddFlags(flags);
      const arn = topic();
      await addSubscription(factory(arn), arn, request, io);
    });
  subscriptions
    .command('list')
    .description("list the topic's subscriptions and what each receives")
    .option('--json', 'print one JSON array')
    .action(async (flags: { json?: boolean }) => {
      const arn = topic();
      await listSubscriptions(factory(arn), arn, io, flags.json === true);
    });
  subscriptions
    .command('remove <subscription-arn>')
    .description('unsubscribe (the ARN that add printed, or one from list)')
    .action(async (subscriptionArn: string) => {
      const arn = topic();
      const checked = parseSubscriptionArn(subscriptionArn, arn);
      await factory(arn).unsubscribe(checked);
      io.stdout.write(`removed subscription ${checked}\n`);
    });
}

/** Everything is checked here, before any request: a refused command calls nothing. */
export function parseAddFlags(flags: AddFlags): SubscriptionRequest {
  const given = SUBSCRIPTION_PROTOCOLS.filter((protocol) => flags[protocol] !== undefined);
  if (given.length !== 1) {
    throw new UsageError(`give exactly one endpoint: ${SUBSCRIPTION_PROTOCOLS.map((p) => `--${p}`).join(', ')}${given.length > 1 ? ` (got ${given.map((p) => `--${p}`).join(' and ')})` : ''}`);
  }
  const protocol = given[0] as SubscriptionProtocol;
  const endpoint = (flags[protocol] ?? '').trim();
  const expected = checkEndpoint(protocol, endpoint);
  if (expected) throw new UsageError(`--${protocol} ${JSON.stringify(shorten(endpoint))} is not ${expected}`);

  const eventTypes = flags.events === undefined ? DEFAULT_EVENT_TYPES[protocol] : parseEvents(flags.events);
  const identityIds = (flags.identity ?? []).map((raw) => {
    try {
      return parseIdentityId(raw.trim());
    } catch (error) {
      throw new UsageError(`--identity: ${(error as Error).message}`);
    }
  });
  let directions: Direction[] | undefined;
  if (flags.direction !== undefined) {
    const direction = flags.direction.trim();
    if (!(DIRECTIONS as readonly string[]).includes(direction)) throw new UsageError(`--direction must be ${DIRECTIONS.join(' or ')}, got ${JSON.stringify(shorten(direction))}`);
    directions = [direction as Direction];
    if (!eventTypes.includes(EVENT_TYPE)) {
      const why = flags.events === undefined ? `${protocol} subscriptions get ${eventTypes.join(',')} unless --events says otherwise` : `--events has no ${EVENT_TYPE}`;
      throw new UsageError(`--direction applies to ${EVENT_TYPE} events only, and ${why} (e.g. --events ${EVENT_TYPES.join(',')})`);
    }
  }
  let filterPolicy: FilterPolicy | undefined;
  try {
    filterPolicy = buildFilterPolicy({ eventTypes, identityIds, ...(directions ? { directions } : {}) });
  } catch (error) {
    if (error instanceof SubscriptionFilterError) throw new UsageError(error.message);
    throw error;
  }
  return {
    protocol,
    endpoint,
    ...(filterPolicy ? { filterPolicy } : {}),
    rawMessageDelivery: usesRawDelivery(protocol),
    ...(protocol === 'https' ? { deliveryPolicy: HTTPS_DELIVERY_POLICY } : {}),
  };
}

function parseEvents(raw: string): EventType[] {
  const types = raw.split(',').map((part) => part.trim()).filter((part) => part !== '');
  if (types.length === 0) throw new UsageError(`--events needs at least one of ${EVENT_TYPES.join(', ')}`);
  for (const type of types) {
    if (!(EVENT_TYPES as readonly string[]).includes(type)) throw new UsageError(`--events: unknown event type ${JSON.stringify(shorten(type))}; expected ${EVENT_TYPES.join(', ')}`);
  }
  return [...new Set(types)] as EventType[];
}

/** A subscription ARN of this topic: the topic's ARN, a colon and the subscription's id. */
export function parseSubscriptionArn(raw: string, topicArn: string): string {
  const arn = raw.trim();
  if (arn === 'PendingConfirmation') {
    throw new UsageError('a subscription that waits for its confirmation is listed without an ARN; use the ARN that subscriptions add printed');
  }
  const parts = parseArn(arn);
  if (!parts || parts.service !== 'sns' || !/^[A-Za-z0-9_-]{1,256}(\.fifo)?:[0-9a-f-]{36}$/.test(parts.resource)) {
    throw new UsageError(`${JSON.stringify(shorten(arn))} is not an SNS subscription ARN (arn:aws:sns:REGION:ACCOUNT:TOPIC:ID, as subscriptions list prints it)`);
  }
  if (!arn.startsWith(`${topicArn}:`)) {
    throw new UsageError(`subscription ${arn} is not a subscription of ${topicArn}; check ${ENV.topicArn} or --topic-arn`);
  }
  return arn;
}

export async function addSubscription(subscriptions: TopicSubscriptions, topicArn: string, request: SubscriptionRequest, io: CliIo): Promise<void> {
  const arn = await subscriptions.subscribe(request);
  io.stdout.write(`${arn}\n`);
  const filter = describeFilter(request.filterPolicy);
  io.stderr.write(`subscribed ${request.protocol} ${request.endpoint}: ${filter}${request.rawMessageDelivery ? ', raw delivery' : ''}\n`);
  if (needsConfirmation(request.protocol, request.endpoint, topicArn)) io.stderr.write(`pending confirmation: ${confirmationHint(request)}\n`);
  for (const line of permissionHint(request, topicArn)) io.stderr.write(`${line}\n`);
}

function confirmationHint(request: SubscriptionRequest): string {
  if (request.protocol === 'email') return 'SNS sent a confirmation email; nothing is delivered before its link is followed';
  if (request.protocol === 'https') return 'SNS posted a SubscriptionConfirmation to the URL; the receiver must visit its SubscribeURL';
  return `the ${request.protocol === 'sqs' ? "queue's" : "function's"} account must confirm the subscription`;
}

/**
 * What the endpoint must allow before SNS can deliver. Printed as exact `aws` commands rather
 * than applied: the queue and the function may belong to someone else, and their policies are
 * theirs to change.
 */
export function permissionHint(request: SubscriptionRequest, topicArn: string): string[] {
  const endpoint = parseArn(request.endpoint);
  if (!endpoint) return [];
  if (request.protocol === 'sqs') {
    const name = endpoint.resource;
    const domain = endpoint.partition === 'aws-cn' ? 'amazonaws.com.cn' : 'amazonaws.com';
    const queueUrl = `https://sqs.${endpoint.region}.${domain}/${endpoint.account}/${name}`;
    const policy = {
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'AllowUnreadNotifierTopic',
          Effect: 'Allow',
          Principal: { Service: 'sns.amazonaws.com' },
          Action: 'sqs:SendMessage',
          Resource: request.endpoint,
          Condition: { ArnEquals: { 'aws:SourceArn': topicArn } },
        },
      ],
    };
    return [
      'the queue must let the topic send to it; if its policy has no such statement, run (this replaces the',
      "queue's policy: merge the statement into an existing one instead):",
      `  aws sqs set-queue-attributes --region ${endpoint.region} --queue-url ${queueUrl} --attributes '${JSON.stringify({ Policy: JSON.stringify(policy) })}'`,
      'a queue encrypted with a customer managed KMS key must also let sns.amazonaws.com use that key (kms:GenerateDataKey, kms:Decrypt)',
    ];
  }
  if (request.protocol === 'lambda') {
    const topicName = parseArn(topicArn)?.resource ?? 'topic';
    const statementId = `unread-notifier-${topicName}`.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 100);
    return [
      'the function must let SNS invoke it; if it does not yet, run:',
      `  aws lambda add-permission --region ${endpoint.region} --function-name ${request.endpoint} --statement-id ${statementId} --action lambda:InvokeFunction --principal sns.amazonaws.com --source-arn ${topicArn}`,
    ];
  }
  return [];
}

export async function listSubscriptions(subscriptions: TopicSubscriptions, topicArn: string, io: CliIo, json: boolean): Promise<void> {
  const found = await subscriptions.list();
  if (json) {
    const rows = found.map((s) => ({
      subscriptionArn: s.subscriptionArn ?? null,
      protocol: s.protocol,
      endpoint: s.endpoint,
      pendingConfirmation: s.pendingConfirmation,
      filterPolicy: s.filterPolicy ?? null,
      ...(s.rawMessageDelivery === undefined ? {} : { rawMessageDelivery: s.rawMessageDelivery }),
    }));
    io.stdout.write(`${JSON.stringify(rows)}\n`);
    return;
  }
  if (found.length === 0) {
    io.stdout.write(`no subscriptions on ${topicArn}\n`);
    return;
  }
  for (const s of found) io.stdout.write(`${describeSubscription(s)}\n`);
}

function describeSubscription(s: TopicSubscription): string {
  const arn = s.subscriptionArn ?? '(no ARN yet)';
  const state = s.pendingConfirmation ? 'pending confirmation; ' : '';
  return `${arn}\t${s.protocol}\t${s.endpoint}\t${state}${describeFilter(s.filterPolicy)}${s.rawMessageDelivery ? ', raw delivery' : ''}`;
}

/** In words when the policy is one this tool builds; as SNS holds it otherwise. */
export function describeFilter(policy: unknown): string {
  if (policy === undefined) return 'every event';
  const filter = readFilterPolicy(policy);
  if (!filter) return `filter policy ${JSON.stringify(policy)}`;
  const parts = [filter.eventTypes ? `${filter.eventTypes.join(',')} events` : 'every event type'];
  if (filter.identityIds) parts.push(`of identit${filter.identityIds.length === 1 ? 'y' : 'ies'} ${filter.identityIds.join(',')}`);
  if (filter.directions) parts.push(`${EVENT_TYPE} only when ${filter.directions.join(' or ')}`);
  return parts.join(', ');
}

function shorten(text: string): string {
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
}
