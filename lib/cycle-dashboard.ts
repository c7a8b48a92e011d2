import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRICS } from '../lambda/env-names';
import type { CycleMetricName, CycleMetrics } from './cycle-metrics';

export interface CycleDashboardProps {
  readonly fn: lambda.IFunction;
  /** The metrics of that function's cycles, with this stack's own `service` dimension. */
  readonly metrics: CycleMetrics;
  readonly timeout: Duration;
  readonly alarms: readonly cloudwatch.IAlarm[];
  readonly deadLetterQueues: Readonly<Record<string, sqs.IQueue>>;
}

/** One page for the cycle: what was polled, changed and published, the alerts people got, what failed, how long it took. */
export class CycleDashboard extends Construct {
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: CycleDashboardProps) {
    super(scope, id);
    const minute = Duration.minutes(1);
    const { metrics } = props;
    const sum = (name: CycleMetricName, label: string): cloudwatch.Metric => metrics.metric(name, { period: minute, label });
    // No dashboardName: CloudFormation derives one, so two copies of the stack fit in one account.
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', { defaultInterval: Duration.hours(3) });
    this.dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: [...props.alarms], width: 24, height: 3 }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Cycle: polled, changed, published',
        left: [sum(METRICS.polled, 'polled'), sum(METRICS.changed, 'changed'), sum(METRICS.published, 'published')],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Cycle: failures',
        left: [
          sum(METRICS.failed, 'failed'),
          sum(METRICS.throttled, 'throttled (429)'),
          sum(METRICS.unauthorized, 'unauthorized (401)'),
          sum(METRICS.notFound, 'not found (404)'),
          sum(METRICS.publishFailed, 'publish failed'),
          sum(METRICS.skipped, 'skipped at deadline'),
        ],
        right: [metrics.metric(METRICS.failingIdentities, { period: minute, statistic: cloudwatch.Stats.MAXIMUM, label: 'failing identities' })],
        width: 12,
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Alerts for people: sent, deferred, dropped',
        left: [sum(METRICS.alertsSent, 'sent'), sum(METRICS.alertsDeferred, 'deferred (cooldown, quiet hours, snooze)'), sum(METRICS.alertsDropped, 'dropped (read before due)')],
        width: 24,
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Cycle duration (ms)',
        left: [
          metrics.metric(METRICS.cycleDuration, { period: minute, statistic: cloudwatch.Stats.AVERAGE, label: 'average' }),
          metrics.metric(METRICS.cycleDuration, { period: minute, statistic: cloudwatch.Stats.MAXIMUM, label: 'maximum' }),
        ],
        leftAnnotations: [{ value: props.timeout.toMilliseconds(), label: 'function timeout', color: cloudwatch.Color.RED }],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Function: invocations, errors, throttles',
        left: [
          props.fn.metricInvocations({ period: minute, statistic: cloudwatch.Stats.SUM }),
          props.fn.metricErrors({ period: minute, statistic: cloudwatch.Stats.SUM }),
          props.fn.metricThrottles({ period: minute, statistic: cloudwatch.Stats.SUM }),
        ],
        width: 12,
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Token unreadable, registry items undecodable',
        left: [
          sum(METRICS.tokenUnavailable, 'token unavailable'),
          metrics.metric(METRICS.malformedItems, { period: minute, statistic: cloudwatch.Stats.MAXIMUM, label: 'malformed items' }),
        ],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Dead-letter queues: messages waiting',
        left: Object.entries(props.deadLetterQueues).map(([label, queue]) =>
          queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: cloudwatch.Stats.MAXIMUM, label }),
        ),
        width: 12,
      }),
    );
  }
}
