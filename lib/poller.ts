import * as path from 'node:path';
import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { DEFAULTS, loadConfig } from '../lambda/config';
import { ALERT_ENV, ENV, METRICS, TABLE_KEY } from '../lambda/env-names';
import type { ApiTokenSecret } from './api-token-secret';
import { CycleMetrics } from './cycle-metrics';
import { DeadLetterQueue } from './dead-letter-queue';
import { HouseNodejsFunction } from './house-nodejs-function';

const PROJECT_ROOT = path.resolve(__dirname, '..');

/** The handler the stack points Lambda at: `lambda/handler.ts`, export `handler`. */
export const POLLER_ENTRY = path.join(PROJECT_ROOT, 'lambda', 'handler.ts');
export const POLLER_HANDLER = 'handler';

/** How much longer than the function can run a claim on a pending event lasts. */
export const CLAIM_LEASE_MARGIN = Duration.seconds(60);

/**
 * The stack-wide alert policy: policy fields as the CLI flags write them (`{"cooldown": "15m",
 * "quietHours": "22:00-07:00"}`); each becomes the function's ALERT_* variable. `snoozeUntil`
 * has none: a snooze belongs to one identity.
 */
export type AlertPolicyDefaults = { readonly [K in keyof typeof ALERT_ENV]?: string | number | boolean };

/** What an operator tunes about the poller; the stack takes the same props and passes them on. */
export interface PollerTuning {
  /**
   * The alert policy of every identity that does not set its own value (CONTRACT.md "Alerts for people").
   * @default - the built-in defaults: minUnread 1, cooldown 15m, no quiet hours, UTC, no reminders (3 at most), no `cleared`
   */
  readonly alertPolicy?: AlertPolicyDefaults;
  /**
   * Function timeout; must be shorter than the schedule interval, so two ticks of one shard never overlap.
   * @default interval minus 10 seconds, at most 15 minutes (50 seconds for the 1-minute default)
   */
  readonly timeout?: Duration;
  /** CommBox API origin. @default DEFAULTS.apiBaseUrl ('https://api.commbox.io') */
  readonly apiBaseUrl?: string;
  /** Upstream requests in flight at once, per shard. @default DEFAULTS.pollConcurrency (128) */
  readonly pollConcurrency?: number;
  /** Failed polls in a row after which an identity counts as failing (and alarms). @default DEFAULTS.failureStreakThreshold (5) */
  readonly failureStreakThreshold?: number;
  /** Function memory in MB; Lambda's CPU share grows with it. @default 256 */
  readonly memorySize?: number;
  /** Retention of the function's logs. @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
}

export interface PollerProps extends PollerTuning {
  readonly table: dynamodb.ITableV2;
  readonly topic: sns.ITopic;
  readonly apiToken: ApiTokenSecret;
  /** How often the schedule invokes the function: the timeout and the event age stay below it. */
  readonly interval: Duration;
  /** @default RemovalPolicy.RETAIN */
  readonly logRemovalPolicy?: RemovalPolicy;
}

/**
 * The poll-cycle function: bundled `lambda/handler.ts`, configured through the same environment
 * names `lambda/config.ts` reads, allowed exactly what one cycle does, and invoked asynchronously
 * without retries (the next tick is the retry); an invocation that fails anyway is kept in a queue.
 */
export class Poller extends Construct {
  readonly fn: HouseNodejsFunction;
  /** Failed asynchronous invocations (on-failure destination). */
  readonly failureQueue: DeadLetterQueue;
  readonly timeout: Duration;
  /** The cycle metrics the function emits, under this stack's name as their `service` dimension. */
  readonly metrics: CycleMetrics;
  /** The function's configuration (environment), for siblings that poll with the same settings. */
  readonly environment: Readonly<Record<string, string>>;

  constructor(scope: Construct, id: string, props: PollerProps) {
    super(scope, id);
    const intervalSeconds = props.interval.toSeconds();
    this.timeout = props.timeout ?? Duration.seconds(Math.min(intervalSeconds - 10, 900));
    const timeoutSeconds = this.timeout.toSeconds();
    if (timeoutSeconds < 10 || timeoutSeconds >= intervalSeconds || timeoutSeconds > 900) {
      throw new Error(
        `timeout must be from 10 seconds to 15 minutes and shorter than the schedule interval (${intervalSeconds} s); got ${timeoutSeconds} s`,
      );
    }

    // One stack, one `service` dimension: a second copy of the stack in the account never mixes its figures with these.
    this.metrics = new CycleMetrics(Stack.of(this).stackName);

    // The settings that are plain values go through the runtime's own parser, so a value the
    // function would refuse at cold start fails the synth instead, naming the variable.
    const settings = {
      [ENV.apiBaseUrl]: props.apiBaseUrl ?? DEFAULTS.apiBaseUrl,
      [ENV.pollConcurrency]: String(props.pollConcurrency ?? DEFAULTS.pollConcurrency),
      // A claim outlives the run that took it: a cycle killed at its timeout cannot leave an event claimed for ever, nor one still running lose it.
      [ENV.claimLeaseSeconds]: String(timeoutSeconds + CLAIM_LEASE_MARGIN.toSeconds()),
      [ENV.failureStreakThreshold]: String(props.failureStreakThreshold ?? DEFAULTS.failureStreakThreshold),
      [ENV.serviceName]: this.metrics.service,
      ...alertEnvironment(props.alertPolicy ?? {}),
    };
    loadConfig(settings);

    this.failureQueue = new DeadLetterQueue(this, 'FailureQueue', { purpose: 'failed asynchronous invocations of the poller' });

    this.environment = {
      [ENV.tableName]: props.table.tableName,
      [ENV.topicArn]: props.topic.topicArn,
      // The secret's id only: the token is read at run time and never lands in the configuration.
      [ENV.apiTokenSecretId]: props.apiToken.secretId,
      ...settings,
      POWERTOOLS_METRICS_NAMESPACE: METRICS.namespace,
    };
    this.fn = new HouseNodejsFunction(this, 'Function', {
      description: 'unread-notifier: one poll cycle (or one shard of it) over the registered CommBox identities',
      entry: POLLER_ENTRY,
      handler: POLLER_HANDLER,
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: path.join(PROJECT_ROOT, 'package-lock.json'),
      timeout: this.timeout,
      memorySize: props.memorySize,
      environment: { ...this.environment },
      // The schedule ticks again within the interval: a retry could only overlap the next cycle.
      retryAttempts: 0,
      maxEventAge: Duration.seconds(Math.min(Math.max(intervalSeconds, 60), 6 * 3600)),
      onFailure: new destinations.SqsDestination(this.failureQueue),
      logGroupRetention: props.logRetention,
      logGroupRemovalPolicy: props.logRemovalPolicy ?? RemovalPolicy.RETAIN,
    });

    // The cycle scans (one parallel segment) and updates identity items conditionally ...
    props.table.grant(this.fn, 'dynamodb:Scan', 'dynamodb:UpdateItem');
    // ... and keeps one resume-point item per shard; item-level access is limited to those keys.
    iam.Grant.addToPrincipal({
      grantee: this.fn,
      actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem'],
      resourceArns: [props.table.tableArn],
      conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${TABLE_KEY.resumeKeyPrefix}*`] } },
    });
    // ... and reads the open runs (its receipts) and the shards' cycle-end items (when a dead run
    // may be pruned); it updates both with the table-wide UpdateItem above.
    iam.Grant.addToPrincipal({
      grantee: this.fn,
      actions: ['dynamodb:GetItem', 'dynamodb:BatchGetItem'],
      resourceArns: [props.table.tableArn],
      conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [TABLE_KEY.runsKey, `${TABLE_KEY.cycleKeyPrefix}*`] } },
    });
    props.topic.grantPublish(this.fn);
    if (props.topic.masterKey) {
      Validations.of(this.fn.role ?? this.fn).acknowledge({
        id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
        reason: "topic.grantPublish lets the function use the topic's own KMS key (kms:GenerateDataKey*, kms:Decrypt) so SNS can encrypt what it publishes; the grant is scoped to that single key.",
      });
    }
    props.apiToken.grantRead(this.fn);
  }
}

/** ALERT_MIN_UNREAD, ALERT_COOLDOWN, …: one variable per field given. */
function alertEnvironment(policy: AlertPolicyDefaults): Record<string, string> {
  return Object.fromEntries(
    (Object.entries(policy) as [keyof typeof ALERT_ENV, string | number | boolean | undefined][]).flatMap(([field, value]) =>
      value === undefined ? [] : [[ALERT_ENV[field], String(value)]],
    ),
  );
}
