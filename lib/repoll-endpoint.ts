import * as path from 'node:path';
import { CfnOutput, Duration, Fn, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sources from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { DEFAULT_REPOLL_WINDOW_MS } from '../lambda/core/repoll-debounce';
import { ENV, METRICS, TABLE_KEY } from '../lambda/env-names';
import { REPOLL_ENV, REPOLL_METRICS } from '../lambda/repoll-config';
import type { ApiTokenSecret } from './api-token-secret';
import { CONTROL_TOWER } from './control-tower';
import { countAlarm } from './cycle-metrics';
import { DeadLetterQueue } from './dead-letter-queue';
import { HouseNodejsFunction } from './house-nodejs-function';
import { CLAIM_LEASE_MARGIN } from './poller';

const PROJECT_ROOT = path.resolve(__dirname, '..');

/** The Function URL's handler: `lambda/handlers/repoll-endpoint.ts`, export `handler`. */
export const REPOLL_ENDPOINT_ENTRY = path.join(PROJECT_ROOT, 'lambda', 'handlers', 'repoll-endpoint.ts');
/** The queue consumer: `lambda/handlers/repoll-consumer.ts`, export `handler`. */
export const REPOLL_CONSUMER_ENTRY = path.join(PROJECT_ROOT, 'lambda', 'handlers', 'repoll-consumer.ts');

/** Why auth NONE is acceptable here; shown beside both the cdk-nag and the Control Tower acknowledgements. */
export const PUBLIC_URL_REASON =
  'CommBox cannot sign its webhook calls or send headers, so the URL is public on purpose: the secret is checked in code, in constant time (a header or a path segment, two secrets valid during a rotation), before anything is read; a request can at most cause one debounced poll of a registered identity, never an event by itself.';

/** What an operator tunes about the re-poll endpoint; the stack takes the same props and passes them on. */
export interface RepollEndpointTuning {
  /**
   * Reserved concurrency of the endpoint function: requests beyond it are answered 429 by Lambda,
   * which caps what a flood of requests can cost. 0 reserves none (accounts whose concurrency
   * limit is too low to reserve any).
   * @default 5
   */
  readonly repollEndpointConcurrency?: number;
  /**
   * Re-poll consumers running at once (the SQS event source's maximum concurrency): a burst of
   * webhooks for many identities never becomes more than this many batches of CommBox requests
   * at once. From 2 (the event source's minimum). It takes no reserved concurrency, so it needs
   * none of the account's quota.
   * @default 2
   */
  readonly repollConsumerConcurrency?: number;
  /**
   * Requests for one identity within this window cause one poll, plus one at its end.
   * @default 2 seconds
   */
  readonly repollWindow?: Duration;
}

export interface RepollEndpointProps extends RepollEndpointTuning {
  readonly table: dynamodb.ITableV2;
  readonly topic: sns.ITopic;
  readonly apiToken: ApiTokenSecret;
  /** The poller's environment: the consumer polls with the same settings (its own claim lease aside). */
  readonly pollerEnvironment: Readonly<Record<string, string>>;
  /** The `service` dimension of the poller's metrics; the endpoint and the consumer use it too. */
  readonly service: string;
  /** @default RemovalPolicy.RETAIN (the secret and the log groups) */
  readonly removalPolicy?: RemovalPolicy;
  /** @default the house default (a month) */
  readonly logRetention?: logs.RetentionDays;
}

/** How long one consumer invocation may run: room for one identity's slowest fetch (about 25 s) and more. */
export const REPOLL_CONSUMER_TIMEOUT = Duration.seconds(60);
/** Polls of one message before it goes to the dead-letter queue. */
export const REPOLL_MAX_RECEIVES = 3;
/** A queued re-poll older than this is late: the alarm fires (the schedule still polls it). */
export const REPOLL_QUEUE_AGE_ALARM = Duration.minutes(2);

/**
 * "Re-poll now": a public HTTPS endpoint (Lambda Function URL) that CommBox's webhooks call, a
 * secret for it in Secrets Manager, a queue of re-polls with a dead-letter queue, and a consumer
 * that polls the queued identities through the same store and outbox as the schedule. See
 * docs/repoll.md for the choice of a Function URL over API Gateway.
 */
export class RepollEndpoint extends Construct {
  readonly endpoint: HouseNodejsFunction;
  readonly consumer: HouseNodejsFunction;
  readonly url: lambda.FunctionUrl;
  /** `https://<id>.lambda-url.<region>.on.aws`, without a trailing slash (the RepollUrl output). */
  readonly baseUrl: string;
  readonly secret: secretsmanager.Secret;
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: DeadLetterQueue;
  /** The alarms of the endpoint and the consumer; empty until `addAlarms`. */
  readonly alarms: Record<string, cloudwatch.Alarm> = {};
  private readonly service: string;

  constructor(scope: Construct, id: string, props: RepollEndpointProps) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const endpointConcurrency = props.repollEndpointConcurrency ?? 5;
    const consumerConcurrency = props.repollConsumerConcurrency ?? 2;
    if (!Number.isInteger(endpointConcurrency) || endpointConcurrency < 0 || endpointConcurrency > 1000) {
      throw new Error(`repollEndpointConcurrency must be an integer from 0 (none reserved) to 1000; got ${endpointConcurrency}`);
    }
    if (!Number.isInteger(consumerConcurrency) || consumerConcurrency < 2 || consumerConcurrency > 1000) {
      throw new Error(`repollConsumerConcurrency must be an integer from 2 to 1000; got ${consumerConcurrency}`);
    }
    const windowMs = props.repollWindow?.toMilliseconds() ?? DEFAULT_REPOLL_WINDOW_MS;
    if (windowMs > 60_000) throw new Error(`repollWindow must be at most 60 seconds; got ${windowMs} ms`);
    this.service = props.service;

    // {"current":"<48 letters and digits>","previous":""}: letters and digits travel in a URL path unescaped.
    this.secret = new secretsmanager.Secret(this, 'Secret', {
      description: 'Secret of the unread-notifier re-poll endpoint: {"current":"…","previous":"…"}; both are accepted during a rotation',
      generateSecretString: {
        secretStringTemplate: JSON.stringify({ previous: '' }),
        generateStringKey: 'current',
        passwordLength: 48,
        excludePunctuation: true,
        includeSpace: false,
      },
      removalPolicy,
    });
    Validations.of(this.secret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'The endpoint secret is also typed into the CommBox console (the webhook URL), which no rotation Lambda can change: it is rotated by hand in two steps, current→previous and a new current, then previous cleared once CommBox uses the new URL (docs/repoll.md).',
    });

    this.deadLetterQueue = new DeadLetterQueue(this, 'Dlq', { purpose: 're-polls that failed repeatedly' });
    this.queue = new sqs.Queue(this, 'Queue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // Lambda's advice for SQS event sources: six times the function timeout, so a batch is never handed out twice while it runs.
      visibilityTimeout: Duration.seconds(REPOLL_CONSUMER_TIMEOUT.toSeconds() * 6),
      // A re-poll is a hint: one an hour old is worth nothing more than the next scheduled poll.
      retentionPeriod: Duration.hours(1),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: REPOLL_MAX_RECEIVES },
      removalPolicy: RemovalPolicy.DESTROY,
    });

    const endpointEnv = {
      [ENV.tableName]: props.table.tableName,
      [REPOLL_ENV.queueUrl]: this.queue.queueUrl,
      [REPOLL_ENV.secretId]: this.secret.secretArn,
      [REPOLL_ENV.windowMs]: String(windowMs),
      [ENV.serviceName]: props.service,
      POWERTOOLS_METRICS_NAMESPACE: METRICS.namespace,
    };
    this.endpoint = new HouseNodejsFunction(this, 'EndpointFunction', {
      description: 'unread-notifier: the re-poll endpoint (checks the secret, debounces, queues re-polls)',
      entry: REPOLL_ENDPOINT_ENTRY,
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: path.join(PROJECT_ROOT, 'package-lock.json'),
      timeout: Duration.seconds(10),
      environment: endpointEnv,
      ...(endpointConcurrency > 0 ? { reservedConcurrentExecutions: endpointConcurrency } : {}),
      logGroupRetention: props.logRetention,
      logGroupRemovalPolicy: removalPolicy,
    });
    // Function URLs keep no access log, so the path (which may carry the secret) is recorded nowhere.
    this.url = this.endpoint.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.NONE, invokeMode: lambda.InvokeMode.BUFFERED });
    Validations.of(this.endpoint).acknowledge(
      { id: CONTROL_TOWER.lambdaFunctionUrlAuth, reason: PUBLIC_URL_REASON },
      { id: CONTROL_TOWER.lambdaFunctionPublicAccess, reason: PUBLIC_URL_REASON },
      {
        id: 'Serverless-LambdaDLQ',
        reason: 'Only its Function URL invokes it, synchronously: the caller gets the answer (a 5xx tells CommBox to retry), and a dead-letter queue applies to asynchronous invocations only.',
      },
    );

    // Conditional updates of the re-poll marker and the read that tells a missing item from a debounced one: identity items only.
    grantOnIdentityItems(this.endpoint, props.table, ['dynamodb:UpdateItem', 'dynamodb:GetItem']);
    this.queue.grantSendMessages(this.endpoint);
    this.secret.grantRead(this.endpoint);

    const consumerTimeoutSeconds = REPOLL_CONSUMER_TIMEOUT.toSeconds();
    const consumerEnv = {
      ...props.pollerEnvironment,
      // Its claims outlive its own run, as the poller's outlive the poller's.
      [ENV.claimLeaseSeconds]: String(consumerTimeoutSeconds + CLAIM_LEASE_MARGIN.toSeconds()),
    };
    this.consumer = new HouseNodejsFunction(this, 'ConsumerFunction', {
      description: 'unread-notifier: polls the identities the re-poll endpoint queued (targeted poll, same store and outbox)',
      entry: REPOLL_CONSUMER_ENTRY,
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: path.join(PROJECT_ROOT, 'package-lock.json'),
      timeout: REPOLL_CONSUMER_TIMEOUT,
      environment: consumerEnv,
      logGroupRetention: props.logRetention,
      logGroupRemovalPolicy: removalPolicy,
    });
    this.consumer.addEventSource(
      new sources.SqsEventSource(this.queue, {
        batchSize: 10,
        // No batching window: a re-poll is about seconds.
        maxBatchingWindow: undefined,
        maxConcurrency: consumerConcurrency,
        reportBatchItemFailures: true,
      }),
    );
    Validations.of(this.consumer).acknowledge(
      {
        id: 'Serverless-LambdaDLQ',
        reason: 'Only its SQS event source invokes it (synchronously, by batches); a message that fails repeatedly goes to the queue\'s own dead-letter queue through its redrive policy, which is alarmed on.',
      },
      {
        id: 'Serverless-LambdaEventSourceMappingDestination',
        reason: 'An on-failure destination is for stream sources; for an SQS source the queue\'s redrive policy (maxReceiveCount, then the dead-letter queue) is where failed messages go, with the message itself.',
      },
    );
    // Reads identity items by key (GetItem, BatchGetItem) and writes them conditionally (UpdateItem); no scan, no resume point.
    grantOnIdentityItems(this.consumer, props.table, ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:UpdateItem']);
    // ... and reads the open runs: an entry of a closed run was published and is not sent again.
    iam.Grant.addToPrincipal({
      grantee: this.consumer,
      actions: ['dynamodb:GetItem'],
      resourceArns: [props.table.tableArn],
      conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [TABLE_KEY.runsKey] } },
    });
    props.topic.grantPublish(this.consumer);
    if (props.topic.masterKey) {
      Validations.of(this.consumer.role ?? this.consumer).acknowledge({
        id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
        reason: "topic.grantPublish lets the consumer use the topic's own KMS key (kms:GenerateDataKey*, kms:Decrypt) so SNS can encrypt what it publishes; the grant is scoped to that single key.",
      });
    }
    props.apiToken.grantRead(this.consumer);

    // The URL without its trailing slash, so `<RepollUrl>/repoll/<secret>` has no empty segment.
    this.baseUrl = Fn.join('', ['https://', Fn.select(2, Fn.split('/', this.url.url))]);
    new CfnOutput(Stack.of(this), 'RepollUrl', {
      value: this.baseUrl,
      description: 'The re-poll endpoint: POST <RepollUrl>/repoll with Authorization: Bearer <secret>, or <RepollUrl>/repoll/<secret> for CommBox (docs/repoll.md)',
    });
    new CfnOutput(Stack.of(this), 'RepollSecretArn', {
      value: this.secret.secretArn,
      description: 'The re-poll secret: aws secretsmanager get-secret-value --secret-id <arn> --query SecretString',
    });
  }

  /**
   * The endpoint's and the consumer's alarms, sent to `topic`: 4xx and 5xx rates of the URL,
   * consumer errors, re-polls waiting too long. The dead-letter queue is alarmed on with the
   * stack's other dead-letter queues.
   */
  addAlarms(topic: sns.ITopic): Readonly<Record<string, cloudwatch.Alarm>> {
    const period = Duration.minutes(5);
    const add = (alarmId: string, options: Omit<cloudwatch.AlarmProps, 'evaluationPeriods'> & { evaluationPeriods?: number }): void => {
      const alarm = countAlarm(this, alarmId, options);
      alarm.addAlarmAction(new actions.SnsAction(topic));
      this.alarms[alarmId] = alarm;
    };
    add('Url4xxRate', {
      metric: this.urlRate('Url4xxCount', period, 10),
      threshold: 50,
      evaluationPeriods: 2,
      alarmDescription:
        'Half of the re-poll requests (at least 10 in 5 minutes) were refused with 4xx, twice in a row: usually a wrong or outdated secret in the CommBox webhook URL (401), or requests throttled by the reserved concurrency (429). The endpoint logs say which.',
    });
    add('Url5xxRate', {
      metric: this.urlRate('Url5xxCount', period, 1),
      threshold: 10,
      alarmDescription: 'More than 10% of the re-poll requests failed with 5xx: the secret, the table or the queue could not be reached (503) or the function failed. See the endpoint log group.',
    });
    add('ConsumerErrors', {
      metric: this.consumer.metricErrors({ period, statistic: cloudwatch.Stats.SUM }),
      threshold: 1,
      alarmDescription: 'The re-poll consumer failed (configuration, a 401, DynamoDB unreachable). Queued re-polls are retried, then dead-lettered; the schedule still polls every identity.',
    });
    add('QueueAge', {
      metric: this.queue.metricApproximateAgeOfOldestMessage({ period: Duration.minutes(1), statistic: cloudwatch.Stats.MAXIMUM }),
      threshold: REPOLL_QUEUE_AGE_ALARM.toSeconds(),
      evaluationPeriods: 3,
      alarmDescription: `A queued re-poll has waited over ${REPOLL_QUEUE_AGE_ALARM.toMinutes()} minutes for three minutes: the consumer is throttled, failing or too slow for the webhook traffic (raise repollConsumerConcurrency).`,
    });
    return this.alarms;
  }

  /** One dashboard row: requests and answers, what the endpoint decided, the queue and the consumer. */
  dashboardWidgets(): cloudwatch.IWidget[] {
    const minute = Duration.minutes(1);
    const repoll = (metricName: string, label: string): cloudwatch.Metric =>
      new cloudwatch.Metric({ namespace: METRICS.namespace, metricName, dimensionsMap: { service: this.service }, statistic: cloudwatch.Stats.SUM, period: minute, label });
    const url = (metricName: string, label: string): cloudwatch.Metric => this.endpoint.metric(metricName, { period: minute, statistic: cloudwatch.Stats.SUM, label });
    return [
      new cloudwatch.GraphWidget({
        title: 'Re-poll endpoint: requests and answers',
        left: [url('UrlRequestCount', 'requests'), url('Url4xxCount', '4xx'), url('Url5xxCount', '5xx'), this.endpoint.metricThrottles({ period: minute, statistic: cloudwatch.Stats.SUM, label: 'throttled' })],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Re-poll endpoint: identities',
        left: [
          repoll(REPOLL_METRICS.pollNow, 'poll now'),
          repoll(REPOLL_METRICS.trailing, 'trailing poll'),
          repoll(REPOLL_METRICS.collapsed, 'collapsed'),
          repoll(REPOLL_METRICS.ignoredUnregistered, 'unregistered'),
          repoll(REPOLL_METRICS.ignoredObjectOnly, 'ObjectId only'),
          repoll(REPOLL_METRICS.ignoredMalformed, 'malformed'),
          repoll(REPOLL_METRICS.unauthorized, 'wrong secret'),
        ],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Re-poll queue and consumer',
        left: [
          this.queue.metricApproximateNumberOfMessagesVisible({ period: minute, statistic: cloudwatch.Stats.MAXIMUM, label: 'queued' }),
          repoll(REPOLL_METRICS.consumerPolled, 'polled'),
          repoll(REPOLL_METRICS.consumerRetried, 'retried'),
        ],
        right: [this.queue.metricApproximateAgeOfOldestMessage({ period: minute, statistic: cloudwatch.Stats.MAXIMUM, label: 'oldest (s)' })],
        width: 8,
      }),
    ];
  }

  /** A share of the URL's requests, in percent; 0 while fewer than `minRequests` came in. */
  private urlRate(metricName: 'Url4xxCount' | 'Url5xxCount', period: Duration, minRequests: number): cloudwatch.MathExpression {
    return new cloudwatch.MathExpression({
      expression: `IF(requests >= ${minRequests}, 100 * errors / requests, 0)`,
      usingMetrics: {
        requests: this.endpoint.metric('UrlRequestCount', { period, statistic: cloudwatch.Stats.SUM }),
        errors: this.endpoint.metric(metricName, { period, statistic: cloudwatch.Stats.SUM }),
      },
      period,
      label: `${metricName.replace('Count', '')} rate (%)`,
    });
  }
}

/** Item-level access to identity items only: not to the bookkeeping items (keys starting with TABLE_KEY.bookkeepingPrefix). */
function grantOnIdentityItems(grantee: iam.IGrantable, table: dynamodb.ITableV2, actions: string[]): void {
  iam.Grant.addToPrincipal({
    grantee,
    actions,
    resourceArns: [table.tableArn],
    conditions: { 'ForAllValues:StringNotLike': { 'dynamodb:LeadingKeys': [`${TABLE_KEY.bookkeepingPrefix}*`] } },
  });
}
