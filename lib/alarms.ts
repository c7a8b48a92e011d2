import { ArnFormat, Duration, Stack, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subs from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRICS } from '../lambda/env-names';
import { countAlarm, type CycleMetrics } from './cycle-metrics';
import { DeadLetterQueue } from './dead-letter-queue';
import { isEmailAddress } from './event-subscriptions';
import { TopicKey } from './topic-key';

/** How many schedule intervals without an invocation make the NotPolling alarm fire. */
const NOT_POLLING_INTERVALS = 2;
/** CloudWatch refuses an alarm whose period times its evaluation periods exceeds seven days. */
const CLOUDWATCH_MAX_EVALUATION_RANGE = Duration.days(7);
/** The longest schedule interval the NotPolling alarm can watch: 5,040 minutes (three and a half days). */
export const MAX_WATCHED_INTERVAL = Duration.minutes(CLOUDWATCH_MAX_EVALUATION_RANGE.toMinutes() / NOT_POLLING_INTERVALS);

export interface AlarmsProps {
  readonly fn: lambda.IFunction;
  /** The metrics of that function's cycles, with this stack's own `service` dimension. */
  readonly metrics: CycleMetrics;
  /** The function's timeout: the duration alarm fires when a run comes close to it. */
  readonly timeout: Duration;
  /** The schedule interval: the "not polling" alarm waits for two of them; at most MAX_WATCHED_INTERVAL. */
  readonly interval: Duration;
  /** Every dead-letter queue of the stack, by a short PascalCase label used in construct ids. */
  readonly deadLetterQueues: Readonly<Record<string, sqs.IQueue>>;
  /**
   * Email addresses that get the alarm notifications.
   * @default - none: the alarm topic exists and can be subscribed to later
   */
  readonly opsEmails?: readonly string[];
  /**
   * Share of the timeout above which the maximum duration alarms.
   * @default 0.8
   */
  readonly durationAlarmRatio?: number;
  /**
   * The event topic, when it has subscribers: notifications SNS failed to deliver (an SMS past
   * the account's spend limit, in the sandbox, to an opted-out number; an email or webhook that
   * kept failing) alarm.
   * @default - no alarm on deliveries
   */
  readonly eventTopic?: sns.ITopic;
}

/**
 * The operations alarms, all sent to one encrypted alarm topic: function errors, throttles,
 * duration near the timeout, no invocations at all, messages in any dead-letter queue, the
 * upstream refusing the token (401), a token that cannot be read, registry items that cannot be
 * decoded and identities failing again and again.
 */
export class Alarms extends Construct {
  /** Where every alarm goes; subscribe an ops email, a chat integration or a pager to it. */
  readonly topic: sns.Topic;
  /** The alarm topic's own key. */
  readonly key: TopicKey;
  readonly alarms: Readonly<Record<string, cloudwatch.Alarm>>;
  /** Alarm notifications SNS could not deliver; only when there are ops emails. */
  readonly deadLetterQueue?: DeadLetterQueue;

  constructor(scope: Construct, id: string, props: AlarmsProps) {
    super(scope, id);
    const stack = Stack.of(this);
    if (props.interval.toSeconds() > MAX_WATCHED_INTERVAL.toSeconds()) {
      throw new Error(
        `the schedule interval must be at most ${MAX_WATCHED_INTERVAL.toMinutes()} minutes: the NotPolling alarm watches ${NOT_POLLING_INTERVALS} intervals, and CloudWatch alarms look back at most ${CLOUDWATCH_MAX_EVALUATION_RANGE.toDays()} days; got ${props.interval.toMinutes({ integral: false })} minutes`,
      );
    }
    this.key = new TopicKey(this, 'TopicKey', { description: 'Encrypts the unread-notifier alarm topic' });
    // CloudWatch encrypts the notification itself when it publishes, so it needs the key (an AWS managed key would refuse it);
    // only for this account's alarms, like the topic policy below.
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
    );
    this.topic = new sns.Topic(this, 'Topic', { displayName: 'Unread notifier alarms', masterKey: this.key, enforceSSL: true });
    // The topic policy that enforces TLS replaces the default one: let this account's alarms publish, and nobody else's.
    this.topic.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: {
          ArnLike: { 'aws:SourceArn': stack.formatArn({ service: 'cloudwatch', resource: 'alarm', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME }) },
          StringEquals: { 'aws:SourceAccount': stack.account },
        },
      }),
    );
    const deadLetterQueues = { ...props.deadLetterQueues };
    const opsEmails = props.opsEmails ?? [];
    for (const email of opsEmails) {
      if (!Token.isUnresolved(email) && !isEmailAddress(email)) throw new Error(`opsEmails: ${JSON.stringify(email)} is not an email address`);
    }
    if (new Set(opsEmails).size !== opsEmails.length) throw new Error('opsEmails: an address is listed twice');
    if (opsEmails.length > 0) {
      const dlq = new DeadLetterQueue(this, 'DeliveryDlq', { purpose: 'alarm notifications SNS could not deliver' });
      for (const email of opsEmails) this.topic.addSubscription(new subs.EmailSubscription(email, { deadLetterQueue: dlq }));
      this.deadLetterQueue = dlq;
      // Seen on the console and the dashboard even though its own notification may not get through.
      deadLetterQueues.AlarmDeliveryDlq = dlq;
    }

    const alarms: Record<string, cloudwatch.Alarm> = {};
    const period = Duration.minutes(5);
    const add = (alarmId: string, options: Omit<cloudwatch.AlarmProps, 'evaluationPeriods'> & { evaluationPeriods?: number }): void => {
      // No data means no invocation in the period, which is not itself a failure (NotPolling watches that).
      const alarm = countAlarm(this, alarmId, options);
      alarm.addAlarmAction(new actions.SnsAction(this.topic));
      alarms[alarmId] = alarm;
    };

    add('FunctionErrors', {
      metric: props.fn.metricErrors({ period, statistic: cloudwatch.Stats.SUM }),
      threshold: 1,
      alarmDescription: 'The poller failed (an aborted cycle: bad configuration, a 401 after re-reading the secret, DynamoDB unreachable, or a timeout). See the function log group.',
    });
    add('FunctionThrottles', {
      metric: props.fn.metricThrottles({ period, statistic: cloudwatch.Stats.SUM }),
      threshold: 1,
      alarmDescription: 'Lambda throttled the poller: the account or reserved concurrency is exhausted, so some shards were not polled.',
    });
    const ratio = props.durationAlarmRatio ?? 0.8;
    add('DurationNearTimeout', {
      metric: props.fn.metricDuration({ period, statistic: cloudwatch.Stats.MAXIMUM }),
      threshold: Math.round(props.timeout.toMilliseconds() * ratio),
      alarmDescription: `A poll cycle ran for more than ${Math.round(ratio * 100)}% of the function timeout: add shards, raise POLL_CONCURRENCY or the timeout before cycles start being cut short.`,
    });
    // Two intervals, at least ten minutes, without a single invocation: the schedule is off or cannot invoke.
    const stalledPeriod = Duration.seconds(Math.max(props.interval.toSeconds(), 300));
    add('NotPolling', {
      metric: props.fn.metricInvocations({ period: stalledPeriod, statistic: cloudwatch.Stats.SUM }),
      threshold: 1,
      evaluationPeriods: NOT_POLLING_INTERVALS,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      alarmDescription: 'The poller has not been invoked for two periods: the schedules are disabled, deleted or cannot invoke the function.',
    });
    add('UpstreamUnauthorized', {
      metric: props.metrics.metric(METRICS.unauthorized, { period }),
      threshold: 1,
      alarmDescription: 'CommBox answered 401: the token in the API token secret is wrong or revoked. Put a valid one with aws secretsmanager put-secret-value.',
    });
    add('TokenUnavailable', {
      metric: props.metrics.metric(METRICS.tokenUnavailable, { period }),
      threshold: 1,
      alarmDescription:
        'The poller could not read the CommBox token, so CommBox was not called: the secret is empty (put the token with aws secretsmanager put-secret-value), the function may not read it, or KMS refused to decrypt it. See the function log group.',
    });
    add('MalformedItems', {
      metric: props.metrics.metric(METRICS.malformedItems, { period, statistic: cloudwatch.Stats.MAXIMUM }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      alarmDescription: 'The registry holds items the poller cannot decode; they are skipped until repaired. identities list shows them as broken, and the function log names their keys.',
    });
    if (props.eventTopic) {
      // SNS has no per-protocol dimension: the topic's failures, SMS among them. An SMS past the monthly
      // spend limit fails without any other sign, so this is how that limit is noticed.
      add('NotificationsFailed', {
        metric: props.eventTopic.metricNumberOfNotificationsFailed({ period, statistic: cloudwatch.Stats.SUM }),
        threshold: 1,
        alarmDescription:
          'SNS failed to deliver notifications of the event topic (SMS, email or webhook). For SMS: the monthly spend limit reached, the account still in the SMS sandbox, no origination identity for US numbers, or an opted-out number; see docs/alerts.md and the SMS delivery-status logs.',
      });
    }
    add('FailingIdentities', {
      metric: props.metrics.metric(METRICS.failingIdentities, { period, statistic: cloudwatch.Stats.MAXIMUM }),
      threshold: 1,
      alarmDescription: 'Some identities have failed several polls in a row (FAILURE_STREAK_THRESHOLD): see "identity poll failed" in the function logs.',
    });
    for (const [label, queue] of Object.entries(deadLetterQueues)) {
      add(`${label}Messages`, {
        metric: queue.metricApproximateNumberOfMessagesVisible({ period, statistic: cloudwatch.Stats.MAXIMUM }),
        threshold: 1,
        alarmDescription: `A message is waiting in the ${label} dead-letter queue: read it, fix the cause, then redrive or purge it.`,
      });
    }
    this.alarms = alarms;
  }
}
