import { decideAlert } from '../../lambda/core/alert-decision';
import { BUILT_IN_ALERT_DEFAULTS, describeAlertPolicy, resolveAlertPolicy, type AlertPolicy } from '../../lambda/core/alert-policy';
import { nextAlert, previewAlert } from '../../lambda/core/alert-preview';
import { unread } from '../support/alert-simulation';

const MIN = 60_000;
const now = Date.parse('2026-02-12T10:00:00Z');
const policy: AlertPolicy = BUILT_IN_ALERT_DEFAULTS;

function afterNewThenRise(p: AlertPolicy = policy) {
  const first = decideAlert({ policy: p, previous: unread(0), next: unread(1), now, isBaseline: false }).state;
  return decideAlert({ policy: p, state: first, previous: unread(1), next: unread(4), now: now + MIN, isBaseline: false }).state;
}

describe('nextAlert (identities show: the next due alert)', () => {
  test('is the deferred digest and when the cooldown lets it out', () => {
    const next = nextAlert({ policy, state: afterNewThenRise(), current: unread(4), now: now + 2 * MIN });
    expect(next).toMatchObject({ kind: 'digest', dueAt: now + 15 * MIN, alert: { kind: 'digest', total: 4, lastAlertTotal: 1, changes: 1 } });
  });

  test('follows the current policy, not the one the state was stored with', () => {
    const quiet: AlertPolicy = { ...policy, quietHours: { start: 10 * 60, end: 12 * 60 } };
    expect(nextAlert({ policy: quiet, state: afterNewThenRise(), current: unread(4), now: now + 2 * MIN })?.dueAt).toBe(Date.parse('2026-02-12T12:00:00Z'));
  });

  test('is undefined when nothing is owed or scheduled', () => {
    const { state } = decideAlert({ policy, next: unread(0), now, isBaseline: true });
    expect(nextAlert({ policy, state, current: unread(0), now })).toBeUndefined();
  });
});

describe('previewAlert (preview <id>)', () => {
  test('shows the pending alert when there is one', () => {
    expect(previewAlert({ policy, state: afterNewThenRise(), current: unread(4), now: now + 2 * MIN })).toMatchObject({ sample: false, alert: { kind: 'digest' } });
  });

  test('otherwise shows a sample new alert for the stored snapshot', () => {
    expect(previewAlert({ policy, current: unread(3), now })).toMatchObject({ sample: true, alert: { kind: 'new', total: 3, waitingSince: now } });
  });
});

describe('describeAlertPolicy (identities show)', () => {
  test('lists every field as the flags write it and says which are defaults', () => {
    const lines = describeAlertPolicy(resolveAlertPolicy({ cooldown: 5 * MIN, quietHours: { start: 1320, end: 420 } }, policy));
    expect(lines.map((l) => `${l.flag} ${String(l.value)}${l.isDefault ? ' (default)' : ''}`)).toEqual([
      '--min-unread 1 (default)',
      '--cooldown 5m',
      '--quiet-hours 22:00-07:00',
      '--time-zone UTC (default)',
      '--remind-after off (default)',
      '--max-reminders 3 (default)',
      '--notify-cleared false (default)',
      '--snooze-until off (default)',
    ]);
  });
});
