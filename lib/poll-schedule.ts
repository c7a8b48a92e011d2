import { CfnResource, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as targets from 'aws-cdk-lib/aws-scheduler-targets';
import { Construct } from 'constructs';
import { DeadLetterQueue } from './dead-letter-queue';

/** Most schedules (parallel-scan segments) one stack creates. */
export const MAX_SHARDS = 100;

export interface PollScheduleProps {
  readonly fn: lambda.IFunction;
  /**
   * How often each shard is polled: whole minutes, at least one.
   * @default Duration.minutes(1)
   */
  readonly rate?: Duration;
  /**
   * How many schedules, each invoking the function with `{segment: i, totalSegments: shards}`
   * so each polls one parallel-scan segment of the registry.
   * @default 1
   */
  readonly shards?: number;
  /**
   * Retries when Scheduler cannot hand the invocation to Lambda (throttling, a service error).
   * @default 2
   */
  readonly retryAttempts?: number;
}

/**
 * EventBridge Scheduler schedules in a group of their own, one per shard, with a retry policy
 * bounded by the interval and a dead-letter queue for invocations Scheduler could not deliver.
 */
export class PollSchedule extends Construct {
  readonly group: scheduler.ScheduleGroup;
  readonly schedules: readonly scheduler.Schedule[];
  readonly deadLetterQueue: DeadLetterQueue;
  readonly role: iam.Role;
  readonly rate: Duration;

  constructor(scope: Construct, id: string, props: PollScheduleProps) {
    super(scope, id);
    this.rate = props.rate ?? Duration.minutes(1);
    const rateSeconds = this.rate.toSeconds();
    if (rateSeconds < 60 || rateSeconds % 60 !== 0) {
      throw new Error(`the schedule rate must be a whole number of minutes, at least 1; got ${rateSeconds} s`);
    }
    const shards = props.shards ?? 1;
    if (!Number.isInteger(shards) || shards < 1 || shards > MAX_SHARDS) {
      throw new Error(`shards must be an integer from 1 to ${MAX_SHARDS}; got ${shards}`);
    }
    const retryAttempts = props.retryAttempts ?? 2;
    if (!Number.isInteger(retryAttempts) || retryAttempts < 0 || retryAttempts > 185) {
      throw new Error(`retryAttempts must be an integer from 0 to 185; got ${retryAttempts}`);
    }

    // A group per stack: two copies of the stack in one account never share or clash over schedules.
    // (CDK retains schedule groups by default; an empty group left behind would serve nothing.)
    this.group = new scheduler.ScheduleGroup(this, 'Group', { removalPolicy: RemovalPolicy.DESTROY });
    this.deadLetterQueue = new DeadLetterQueue(this, 'Dlq', { purpose: 'poll invocations EventBridge Scheduler could not deliver' });

    const stack = Stack.of(this);
    // One role for all shards, assumable by Scheduler only for schedules of this account and group.
    this.role = new iam.Role(this, 'InvokeRole', {
      description: 'Lets the unread-notifier schedules invoke the poller',
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account, 'aws:SourceArn': this.group.scheduleGroupArn } },
      }),
    });

    // An invocation older than one interval is stale: the next tick already polls again.
    const maxEventAge = Duration.seconds(Math.min(rateSeconds, 24 * 3600));
    const schedules: scheduler.Schedule[] = [];
    for (let segment = 0; segment < shards; segment += 1) {
      schedules.push(
        new scheduler.Schedule(this, `Shard${segment}`, {
          scheduleGroup: this.group,
          schedule: scheduler.ScheduleExpression.rate(this.rate),
          description: `unread-notifier poll, segment ${segment} of ${shards}`,
          target: new targets.LambdaInvoke(props.fn, {
            role: this.role,
            input: scheduler.ScheduleTargetInput.fromObject({ segment, totalSegments: shards }),
            retryAttempts,
            maxEventAge,
            deadLetterQueue: this.deadLetterQueue,
          }),
        }),
      );
    }
    // A schedule may tick as soon as it exists: it must not exist before its role may invoke the
    // function and send to the DLQ (the role's policy is a resource of its own, created in parallel otherwise).
    for (const schedule of schedules) schedule.node.addDependency(this.role);
    this.schedules = schedules;
    const cfnFunction = props.fn.node.defaultChild;
    if (CfnResource.isCfnResource(cfnFunction)) {
      Validations.of(this.role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${stack.getLogicalId(cfnFunction)}.Arn>:*]`,
        reason: 'fn.grantInvoke (used by the Scheduler Lambda target) also covers the versions and aliases of this one function (its ARN followed by ":*"); the role can invoke nothing else.',
      });
    }
  }
}
