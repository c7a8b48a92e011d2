import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type { Construct } from 'constructs';
import { METRICS } from '../lambda/env-names';

export type CycleMetricName = Exclude<(typeof METRICS)[keyof typeof METRICS], typeof METRICS.namespace | typeof METRICS.service>;

/**
 * The metrics one poller emits through Powertools (EMF): the namespace from `lambda/env-names.ts`
 * and one `service` dimension whose value the stack gives the function (ENV.serviceName), so the
 * alarms and the dashboard of one copy of the stack never read another copy's figures.
 */
export class CycleMetrics {
  /** @param service the `service` dimension value; the function is given the same one */
  constructor(readonly service: string) {}

  /** One metric of this poller; a sum over five minutes unless the options say otherwise. */
  metric(metricName: CycleMetricName, options: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return serviceMetric(this.service, metricName, options);
  }
}

/**
 * One metric any function of this stack emits under the namespace and its `service` dimension;
 * a sum over five minutes unless the options say otherwise.
 */
export function serviceMetric(service: string, metricName: string, options: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: METRICS.namespace,
    metricName,
    dimensionsMap: { service },
    statistic: cloudwatch.Stats.SUM,
    period: Duration.minutes(5),
    ...options,
  });
}

/**
 * An alarm on a count: one period at or above the threshold; no data (nothing ran in the period)
 * is not a failure. The callers add their actions.
 */
export function countAlarm(
  scope: Construct,
  id: string,
  props: Omit<cloudwatch.AlarmProps, 'evaluationPeriods'> & { evaluationPeriods?: number },
): cloudwatch.Alarm {
  return new cloudwatch.Alarm(scope, id, {
    evaluationPeriods: 1,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    ...props,
  });
}
