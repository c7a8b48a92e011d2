import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { METRICS } from '../lambda/env-names';

export type CycleMetricName = Exclude<(typeof METRICS)[keyof typeof METRICS], typeof METRICS.namespace | typeof METRICS.service>;

/**
 * A metric the handler emits through Powertools (EMF): namespace and the one `service`
 * dimension come from `lambda/env-names.ts`, the same constants the handler uses.
 */
export function cycleMetric(metricName: CycleMetricName, options: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: METRICS.namespace,
    metricName,
    dimensionsMap: { service: METRICS.service },
    statistic: cloudwatch.Stats.SUM,
    period: Duration.minutes(5),
    ...options,
  });
}
