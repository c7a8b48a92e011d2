import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
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
    return new cloudwatch.Metric({
      namespace: METRICS.namespace,
      metricName,
      dimensionsMap: { service: this.service },
      statistic: cloudwatch.Stats.SUM,
      period: Duration.minutes(5),
      ...options,
    });
  }
}
