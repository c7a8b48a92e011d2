import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { Alarms } from './alarms';
import { ApiTokenSecret } from './api-token-secret';
import { CycleDashboard } from './cycle-dashboard';
import { EventSubscriptions, type IntegratorQueueSpec, type SubscriptionSpec } from './event-subscriptions';
import { EventTopic } from './event-topic';
import { PollSchedule } from './poll-schedule';
import { Poller, type PollerTuning } from './poller';
import { RegistryTable } from './registry-table';
import { RepollEndpoint, type RepollEndpointTuning } from './repoll-endpoint';
import { WebhookDispatcher } from './webhook-dispatcher';

export interface UnreadNotifierStackProps extends StackProps, PollerTuning, RepollEndpointTuning {
  /**
   * What happens to the stateful resources (table, token secret, function log group) when they
   * leave the stack. DESTROY is for throw-away test stacks.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /** How often every identity is polled. @default Duration.minutes(1) */
  readonly scheduleRate?: Duration;
  /** Schedules, each polling one parallel-scan segment of the registry. @default 1 */
  readonly shards?: number;
  /** Import the token secret by this name instead of creating an empty one. @default - a new empty secret */
  readonly apiTokenSecretName?: string;
  /**
   * The customer managed KMS key ARN of the imported secret (`apiTokenSecretName`); the poller may
   * decrypt with it through Secrets Manager only. @default - the secret uses the AWS managed key
   */
  readonly apiTokenSecretKmsKeyArn?: string;
  /** Event subscriptions by email. @default - none */
  readonly alertEmails?: readonly SubscriptionSpec[];
  /** Event subscriptions by SMS (E.164 numbers). @default - none */
  readonly smsNumbers?: readonly SubscriptionSpec[];
  /** Event subscriptions by HTTPS webhook. @default - none */
  readonly webhookUrls?: readonly SubscriptionSpec[];
  /** An SQS queue for integrators. @default - none */
  readonly integratorQueue?: IntegratorQueueSpec;
  /** Emails for the operations alarms. @default - none */
  readonly opsEmails?: readonly string[];
}

/** unread-notifier: a schedule polls CommBox, a table remembers, a topic tells the subscribers. */
export class UnreadNotifierStack extends Stack {
  readonly registry: RegistryTable;
  readonly events: EventTopic;
  readonly apiToken: ApiTokenSecret;
  readonly poller: Poller;
  readonly schedule: PollSchedule;
  readonly subscriptions: EventSubscriptions;
  readonly repoll: RepollEndpoint;
  readonly webhooks: WebhookDispatcher;
  readonly alarms: Alarms;
  readonly dashboard: CycleDashboard;

  constructor(scope: Construct, id: string, props: UnreadNotifierStackProps = {}) {
    super(scope, id, props);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const rate = props.scheduleRate ?? Duration.minutes(1);

    this.registry = new RegistryTable(this, 'Registry', { removalPolicy });
    this.events = new EventTopic(this, 'Events');
    this.apiToken = new ApiTokenSecret(this, 'ApiToken', {
      removalPolicy,
      secretName: props.apiTokenSecretName,
      encryptionKeyArn: props.apiTokenSecretKmsKeyArn,
    });
    const { timeout, apiBaseUrl, pollConcurrency, failureStreakThreshold, memorySize, logRetention, alertPolicy } = props;
    this.poller = new Poller(this, 'Poller', {
      table: this.registry.table,
      topic: this.events.topic,
      apiToken: this.apiToken,
      interval: rate,
      timeout,
      apiBaseUrl,
      pollConcurrency,
      failureStreakThreshold,
      memorySize,
      logRetention,
      alertPolicy,
      logRemovalPolicy: removalPolicy,
    });
    this.schedule = new PollSchedule(this, 'Schedule', { fn: this.poller.fn, rate, shards: props.shards });
    this.subscriptions = new EventSubscriptions(this, 'Subscriptions', {
      topic: this.events.topic,
      alertEmails: props.alertEmails,
      smsNumbers: props.smsNumbers,
      webhookUrls: props.webhookUrls,
      integratorQueue: props.integratorQueue,
    });

    this.repoll = new RepollEndpoint(this, 'Repoll', {
      table: this.registry.table,
      topic: this.events.topic,
      apiToken: this.apiToken,
      pollerEnvironment: this.poller.environment,
      service: this.poller.metrics.service,
      repollEndpointConcurrency: props.repollEndpointConcurrency,
      repollConsumerConcurrency: props.repollConsumerConcurrency,
      repollWindow: props.repollWindow,
      removalPolicy,
      logRetention,
    });

    this.webhooks = new WebhookDispatcher(this, 'Webhooks', {
      registryTable: this.registry.table,
      topic: this.events.topic,
      removalPolicy,
      service: this.poller.metrics.service,
      logRetention,
      logRemovalPolicy: removalPolicy,
    });

    const deadLetterQueues: Record<string, sqs.IQueue> = {
      PollerFailures: this.poller.failureQueue,
      ScheduleDlq: this.schedule.deadLetterQueue,
      RepollDlq: this.repoll.deadLetterQueue,
      WebhookDeadLetters: this.webhooks.deadLetterQueue,
      WebhookEventDlq: this.webhooks.eventDeadLetterQueue,
    };
    if (this.subscriptions.deadLetterQueue) deadLetterQueues.DeliveryDlq = this.subscriptions.deadLetterQueue;
    if (this.subscriptions.integratorDeadLetterQueue) deadLetterQueues.IntegratorDlq = this.subscriptions.integratorDeadLetterQueue;
    this.alarms = new Alarms(this, 'Alarms', {
      fn: this.poller.fn,
      metrics: this.poller.metrics,
      timeout: this.poller.timeout,
      interval: rate,
      deadLetterQueues,
      opsEmails: props.opsEmails,
      ...(this.subscriptions.deadLetterQueue ? { eventTopic: this.events.topic } : {}),
    });
    if (this.alarms.deadLetterQueue) deadLetterQueues.AlarmDeliveryDlq = this.alarms.deadLetterQueue;
    for (const alarm of Object.values(this.webhooks.alarms)) alarm.addAlarmAction(new actions.SnsAction(this.alarms.topic));
    const repollAlarms = this.repoll.addAlarms(this.alarms.topic);
    this.dashboard = new CycleDashboard(this, 'Dashboard', {
      fn: this.poller.fn,
      metrics: this.poller.metrics,
      timeout: this.poller.timeout,
      alarms: [...Object.values(this.alarms.alarms), ...Object.values(this.webhooks.alarms), ...Object.values(repollAlarms)],
      deadLetterQueues,
    });
    this.dashboard.dashboard.addWidgets(...this.webhooks.widgets());
    this.dashboard.dashboard.addWidgets(...this.repoll.dashboardWidgets());

    new CfnOutput(this, 'TableName', { value: this.registry.table.tableName, description: 'TABLE_NAME for the CLI: identities add/remove/list' });
    new CfnOutput(this, 'TopicArn', { value: this.events.topic.topicArn, description: 'SNS topic of unread.changed events' });
    new CfnOutput(this, 'ApiTokenSecretArn', { value: this.apiToken.secret.secretArn, description: 'Put the CommBox token here (aws secretsmanager put-secret-value)' });
    new CfnOutput(this, 'FunctionName', { value: this.poller.fn.functionName, description: 'The poller (logs, manual invoke)' });
    new CfnOutput(this, 'LogGroupName', { value: this.poller.fn.logGroup.logGroupName, description: 'The poller logs: aws logs tail <name> --follow' });
    new CfnOutput(this, 'WebhooksTableName', { value: this.webhooks.table.tableName, description: 'Signed webhooks: endpoints and delivery log (the CLI finds it from TABLE_NAME)' });
    new CfnOutput(this, 'WebhookDeadLetterQueueUrl', { value: this.webhooks.deadLetterQueue.queueUrl, description: 'Webhook deliveries whose retry schedule was used up' });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.alarms.topic.topicArn, description: 'Subscribe operations contacts to the alarms here' });
    if (this.subscriptions.integratorQueue) {
      new CfnOutput(this, 'IntegratorQueueUrl', { value: this.subscriptions.integratorQueue.queueUrl, description: 'SQS queue of raw event JSON for integrators' });
      new CfnOutput(this, 'IntegratorQueueArn', { value: this.subscriptions.integratorQueue.queueArn, description: 'For the IAM policy of whoever reads the integrator queue' });
    }
  }
}

