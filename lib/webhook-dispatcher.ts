import * as path from 'node:path';
import { ArnFormat, Duration, RemovalPolicy, Stack, Validations, type CfnResource } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subs from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { WEBHOOK_EVENT_TYPES } from '../lambda/core/webhook-endpoint';
import { ENV, METRICS, WEBHOOKS_TABLE } from '../lambda/env-names';
import { WEBHOOK_ENV, WEBHOOK_METRICS } from '../lambda/webhook-config';
import { countAlarm, serviceMetric } from './cycle-metrics';
import { DeadLetterQueue } from './dead-letter-queue';
import { HouseNodejsFunction } from './house-nodejs-function';

const PROJECT_ROOT = path.resolve(__dirname, '..');

/** The dispatcher's handler: `lambda/handlers/webhook-dispatcher.ts`, export `handler`. */
export const WEBHOOK_DISPATCHER_ENTRY = path.join(PROJECT_ROOT, 'lambda', 'handlers', 'webhook-dispatcher.ts');

/** One batch: up to 10 attempts in parallel, each at most 15 s, plus the table and queue calls around them. */
export const WEBHOOK_DISPATCHER_TIMEOUT = Duration.seconds(60);
/** AWS's advice for an SQS event source: six times the function timeout, so a throttled batch is not retried early. */
const QUEUE_VISIBILITY = Duration.seconds(WEBHOOK_DISPATCHER_TIMEOUT.toSeconds() * 6);
/** Receives of one message before SQS moves it to the DLQ: only crashes count (each attempt is a new message). */
const MAX_RECEIVES = 5;

export type WebhookMetricName = (typeof WEBHOOK_METRICS)[keyof typeof WEBHOOK_METRICS];

export interface WebhookDispatcherProps {
  /** The registry table: the webhooks table is named after it (`<name>-webhooks`), as the CLI finds it from TABLE_NAME. */
  readonly registryTable: dynamodb.ITableV2;
  /** The event topic: `unread.changed` and `unread.alert` events are fanned out to the endpoints. */
  readonly topic: sns.ITopic;
  /**
   * What happens to the webhooks table (endpoints and delivery log) when it leaves the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Dispatcher functions working on deliveries at once (the delivery queue's maximum concurrency):
   * bounds what webhooks take of the account's Lambda concurrency. Per endpoint, deliveries are
   * capped separately (MAX_IN_FLIGHT_PER_ENDPOINT, leases on the endpoint item).
   * @default 10
   */
  readonly maxConcurrency?: number;
  /**
   * Failed attempts (any endpoint) within 15 minutes that raise the WebhookDeliveryFailures alarm.
   * @default 10
   */
  readonly deliveryFailureAlarmThreshold?: number;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** @default RemovalPolicy.RETAIN */
  readonly logRemovalPolicy?: RemovalPolicy;
  /** The `service` dimension of the dispatcher's metrics. @default the stack name */
  readonly service?: string;
}

/**
 * Signed webhooks in AWS (Standard Webhooks 1.0): the topic's events reach an event queue (SNS,
 * raw delivery, filtered to the webhook event types); the dispatcher function fans each out to
 * a delivery queue, one message per (event, endpoint), and makes one attempt per message. A
 * failed attempt is a new message delayed until the next attempt (SQS delay up to 15 minutes,
 * then a visibility timeout up to 12 hours): no function ever waits. After the eighth attempt
 * (27 h 35 min), the delivery goes to the dead-letter queue. Endpoints and the delivery log live
 * in the webhooks table; each endpoint's secret in Secrets Manager under the table's name.
 * Brings its own alarms (without actions: the stack points them at its alarm topic) and dashboard row.
 */
export class WebhookDispatcher extends Construct {
  readonly table: dynamodb.TableV2;
  /** Events from the topic, waiting to be fanned out. */
  readonly eventQueue: sqs.Queue;
  /** Events that could not be fanned out (SNS could not deliver them, or five receives failed). */
  readonly eventDeadLetterQueue: DeadLetterQueue;
  /** One message per delivery attempt. */
  readonly deliveryQueue: sqs.Queue;
  /** Deliveries whose retry schedule is used up, and delivery messages that failed five receives. */
  readonly deadLetterQueue: DeadLetterQueue;
  readonly fn: HouseNodejsFunction;
  readonly service: string;
  readonly alarms: Readonly<Record<string, cloudwatch.Alarm>>;

  constructor(scope: Construct, id: string, props: WebhookDispatcherProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    this.service = props.service ?? stack.stackName;

    this.table = new dynamodb.TableV2(this, 'Table', {
      // Named after the registry, as the CLI and the dispatcher derive it from TABLE_NAME; unique as the registry's own name is.
      tableName: `${props.registryTable.tableName}${WEBHOOKS_TABLE.suffix}`,
      partitionKey: { name: WEBHOOKS_TABLE.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: WEBHOOKS_TABLE.sortKey, type: dynamodb.AttributeType.STRING },
      billing: dynamodb.Billing.onDemand(),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryptionV2.awsManagedKey(),
      removalPolicy,
      deletionProtection: removalPolicy === RemovalPolicy.RETAIN,
    });

    this.eventDeadLetterQueue = new DeadLetterQueue(this, 'EventDlq', { purpose: 'events the webhook dispatcher could not fan out' });
    this.eventQueue = new sqs.Queue(this, 'EventQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: QUEUE_VISIBILITY,
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.eventDeadLetterQueue, maxReceiveCount: MAX_RECEIVES },
    });
    props.topic.addSubscription(
      new subs.SqsSubscription(this.eventQueue, {
        // The body is the event JSON (the SNS `default`), exactly what receivers get.
        rawMessageDelivery: true,
        // Endpoints are registered at run time, so the filter is every type an endpoint can ask for.
        filterPolicy: { eventType: sns.SubscriptionFilter.stringFilter({ allowlist: [...WEBHOOK_EVENT_TYPES] }) },
        deadLetterQueue: this.eventDeadLetterQueue,
      }),
    );

    this.deadLetterQueue = new DeadLetterQueue(this, 'DeadLetters', { purpose: 'webhook deliveries whose retry schedule was used up' });
    this.deliveryQueue = new sqs.Queue(this, 'DeliveryQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: QUEUE_VISIBILITY,
      // One message lives one attempt: at most its 15-minute delay plus a 12-hour postponement.
      retentionPeriod: Duration.days(2),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: MAX_RECEIVES },
    });

    this.fn = new HouseNodejsFunction(this, 'Function', {
      description: 'unread-notifier: signed webhooks (Standard Webhooks): fans events out to endpoints and makes each delivery attempt',
      entry: WEBHOOK_DISPATCHER_ENTRY,
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: path.join(PROJECT_ROOT, 'package-lock.json'),
      timeout: WEBHOOK_DISPATCHER_TIMEOUT,
      environment: {
        [ENV.tableName]: props.registryTable.tableName,
        [WEBHOOK_ENV.deliveryQueueUrl]: this.deliveryQueue.queueUrl,
        [WEBHOOK_ENV.deadLetterQueueUrl]: this.deadLetterQueue.queueUrl,
        [ENV.serviceName]: this.service,
        POWERTOOLS_METRICS_NAMESPACE: METRICS.namespace,
      },
      logGroupRetention: props.logRetention,
      logGroupRemovalPolicy: props.logRemovalPolicy ?? RemovalPolicy.RETAIN,
    });
    Validations.of(this.fn).acknowledge({
      id: 'Serverless-LambdaDLQ',
      reason:
        'Invoked only by its two SQS event sources, never asynchronously: a failed message stays in its queue and goes to that queue\'s dead-letter queue after five receives, and a delivery out of retries is sent to the webhook dead-letter queue by the function itself.',
    });
    this.fn.addEventSource(new SqsEventSource(this.eventQueue, { batchSize: 10, reportBatchItemFailures: true, maxConcurrency: 2 }));
    this.fn.addEventSource(
      new SqsEventSource(this.deliveryQueue, { batchSize: 10, reportBatchItemFailures: true, maxConcurrency: props.maxConcurrency ?? 10 }),
    );
    for (const mapping of this.fn.node.children.filter((child) => child instanceof lambda.EventSourceMapping)) {
      Validations.of(mapping).acknowledge({
        id: 'Serverless-LambdaEventSourceMappingDestination',
        reason:
          "Lambda's on-failure destinations are for stream sources; for an SQS source the queue's own redrive policy is that destination: a message that fails five receives moves to its dead-letter queue, which is alarmed on.",
      });
    }

    // Endpoints and the delivery log only: the local-only partitions (secrets, backlog) are out of reach.
    iam.Grant.addToPrincipal({
      grantee: this.fn,
      actions: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
      resourceArns: [this.table.tableArn],
      conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [WEBHOOKS_TABLE.endpointPartition, `${WEBHOOKS_TABLE.logPartitionPrefix}*`] } },
    });
    // The endpoints' secrets, which the CLI creates at run time under the webhooks table's name; nothing else.
    const secretsArn = stack.formatArn({
      service: 'secretsmanager',
      resource: 'secret',
      resourceName: `${this.table.tableName}/wh_*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    iam.Grant.addToPrincipal({ grantee: this.fn, actions: ['secretsmanager:GetSecretValue'], resourceArns: [secretsArn] });
    const tableLogicalId = stack.resolve((this.table.node.defaultChild as CfnResource).logicalId) as string;
    Validations.of(this.fn.role ?? this.fn).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:<${tableLogicalId}>/wh_*]`,
      reason:
        "One Secrets Manager secret per webhook endpoint, created by 'unread-notifier webhooks add' at run time, so the names cannot be listed in the template; the wildcard covers exactly the secrets named under this stack's webhooks table (and read only).",
    });
    this.deliveryQueue.grantSendMessages(this.fn);
    this.deadLetterQueue.grantSendMessages(this.fn);

    this.alarms = this.makeAlarms(props.deliveryFailureAlarmThreshold ?? 10);
  }

  /** One of the dispatcher's metrics, under the stack's `service` dimension; a sum over five minutes unless told otherwise. */
  metric(metricName: WebhookMetricName, options: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return serviceMetric(this.service, metricName, options);
  }

  private makeAlarms(failureThreshold: number): Record<string, cloudwatch.Alarm> {
    const alarms: Record<string, cloudwatch.Alarm> = {};
    const add = (alarmId: string, props: Omit<cloudwatch.AlarmProps, 'evaluationPeriods' | 'comparisonOperator' | 'treatMissingData'>): void => {
      alarms[alarmId] = countAlarm(this, alarmId, props);
    };
    add('DispatcherErrors', {
      metric: this.fn.metricErrors({ period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM }),
      threshold: 1,
      alarmDescription: 'The webhook dispatcher failed (configuration, the webhooks table or the queues). Deliveries stay queued and are retried; see the dispatcher log group.',
    });
    add('EndpointDisabled', {
      metric: this.metric(WEBHOOK_METRICS.endpointDisabled),
      threshold: 1,
      alarmDescription:
        "A webhook endpoint was disabled: it answered 410 Gone, or failed for 5 days and 8 attempts in a row. 'unread-notifier webhooks list' shows which and why; fix it, then 'webhooks enable <id>' and 'webhooks replay <id> --since <ISO>'.",
    });
    add('DeliveryFailures', {
      metric: this.metric(WEBHOOK_METRICS.attemptFailed, { period: Duration.minutes(15) }),
      threshold: failureThreshold,
      alarmDescription: `At least ${failureThreshold} webhook attempts failed within 15 minutes (each is retried on the schedule). 'unread-notifier webhooks deliveries <id>' shows what the receivers answered.`,
    });
    return alarms;
  }

  /** The dashboard row of the webhooks. */
  widgets(): cloudwatch.IWidget[] {
    const minute = Duration.minutes(1);
    return [
      new cloudwatch.GraphWidget({
        title: 'Webhooks: deliveries',
        left: [
          this.metric(WEBHOOK_METRICS.delivered, { period: minute, label: 'delivered' }),
          this.metric(WEBHOOK_METRICS.attemptFailed, { period: minute, label: 'failed attempts' }),
          this.metric(WEBHOOK_METRICS.deadLettered, { period: minute, label: 'dead-lettered' }),
          this.metric(WEBHOOK_METRICS.deferred, { period: minute, label: 'deferred (endpoint busy)' }),
        ],
        right: [this.metric(WEBHOOK_METRICS.endpointDisabled, { period: minute, label: 'endpoints disabled' })],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Webhooks: queues',
        left: [
          this.deliveryQueue.metricApproximateNumberOfMessagesVisible({ period: minute, statistic: cloudwatch.Stats.MAXIMUM, label: 'deliveries due' }),
          this.deliveryQueue.metricApproximateNumberOfMessagesNotVisible({ period: minute, statistic: cloudwatch.Stats.MAXIMUM, label: 'deliveries waiting or in flight' }),
          this.eventQueue.metricApproximateNumberOfMessagesVisible({ period: minute, statistic: cloudwatch.Stats.MAXIMUM, label: 'events to fan out' }),
        ],
        right: [this.deliveryQueue.metricApproximateAgeOfOldestMessage({ period: minute, statistic: cloudwatch.Stats.MAXIMUM, label: 'oldest delivery (s)' })],
        width: 12,
      }),
    ];
  }
}
