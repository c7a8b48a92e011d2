import type { Logger } from '@aws-lambda-powertools/logger';
import { CycleTelemetry } from '../../lambda/cycle-telemetry';

/** What the handler logs when a run's receipt cannot do its part: a warning saying what it costs, never an error. */
function telemetry() {
  const warnings: [string, unknown][] = [];
  const logger = { warn: (message: string, extra: unknown) => void warnings.push([message, extra]) } as unknown as Logger;
  return { warnings, telemetry: new CycleTelemetry(logger, 5) };
}

describe('CycleTelemetry on run receipts', () => {
  test('a run that could not close says its events go out again once their claims expire', () => {
    const { warnings, telemetry: t } = telemetry();

    t.receiptFailed('close', new Error('ProvisionedThroughputExceededException'));

    expect(warnings).toEqual([
      ['could not close the run; its events are sent again once their claims expire', { error: { name: 'Error', message: 'ProvisionedThroughputExceededException' } }],
    ]);
  });

  test('a backlog of dead runs is logged with their number', () => {
    const { warnings, telemetry: t } = telemetry();

    t.receiptFailed('backlog', 101);

    expect(warnings).toEqual([[expect.stringContaining('too many runs left open'), { openRuns: 101 }]]);
  });
});
