import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');
const tsx = join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs');

function npmStart(args: readonly string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [tsx, 'bin/start-local.ts', ...args], {
    cwd: root,
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, ...env },
  });
}

describe('npm start', () => {
  test('polls the simulator on an embedded DynamoDB and prints baselines, then published events and alerts (--json: both kinds)', () => {
    const run = npmStart(['--interval', '1', '--cycles', '4', '--json']);

    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const out = run.stdout;
    expect(out).toMatch(/● baseline {2}identity 558355 \(Support\)/);
    expect(out).toMatch(/[▲▼] (in|de)creased identity \d+/);
    expect(out).toMatch(/alert policy: minUnread 1, cooldown 20s, quietHours off/);
    const events = out.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as { type: string });
    expect(events.length).toBeGreaterThan(0);
    expect(events.every((e) => e.type === 'unread.changed' || e.type === 'unread.alert')).toBe(true);
    expect(events.some((e) => e.type === 'unread.changed')).toBe(true);
    expect(out).toMatch(/cycle 4: polled 5\/5/);
  });

  test('shows alerts on lines of their own: a `new` at once, rises within the cooldown folded into a digest', () => {
    // A cooldown of 1 s (ALERT_COOLDOWN overrides the demo's 20 s) and a poll every half second.
    const run = npmStart(['--interval', '0.5', '--cycles', '12'], { ALERT_COOLDOWN: '1s' });

    expect(run.status).toBe(0);
    const alerts = run.stdout.split('\n').filter((line) => line.includes('✉ alert'));
    expect(alerts.some((line) => /✉ alert new {6}CommBox: \d+ unread/.test(line))).toBe(true);
    expect(alerts.some((line) => /✉ alert digest {3}CommBox: \d+ -> \d+ unread .*\(\d+ changes? folded\)/.test(line))).toBe(true);
    expect(run.stdout).toMatch(/alert policy: minUnread 1, cooldown 1s/);
  });
});
