import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');
const tsx = join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs');

/** What `npm start -s -- …` runs (npm's own banner is left out with -s). */
function npmStart(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [tsx, 'bin/start-local.ts', ...args], { cwd: root, encoding: 'utf8', timeout: 60_000, env: { ...process.env, ...env } });
}

describe('npm start', () => {
  // One run serves the tests below: it takes a few seconds.
  const run = npmStart(['--interval', '1', '--cycles', '4', '--json']);
  const people = run.stderr.trimEnd().split('\n');

  test('polls the simulator on an embedded DynamoDB: baselines, then events, then a closing summary', () => {
    expect(run.status).toBe(0);
    expect(people).toContainEqual(expect.stringMatching(/● baseline {2}identity 558355 \(Support\): \d+ unread/));
    expect(people).toContainEqual(expect.stringMatching(/[▲▼] identity \d+ \(.+\): \d+ → \d+ unread \([+-]\d+\) {2}\[#\d+ \d+→\d+.*\] {2}([0-9a-f]{8}|\+\d+\.\d s after the message)$/));
    // An identity whose event a re-poll holds at that moment is skipped by the cycle (its claim), so
    // not every cycle polls all five.
    expect(people).toContainEqual(expect.stringMatching(/cycle 4: polled [1-5]\/5/));
    expect(people.at(-1)).toMatch(/^done: 4 cycle\(s\) in [\d.]+ s, (1[0-9]|20) polls, 5 baselines, \d+ events and \d+ alerts to stdout, 0 failed$/);
  });

  test('with --json, stdout holds only the JSON of the events and alerts, one per line (npm start -s -- --json | jq)', () => {
    const lines = run.stdout.trimEnd().split('\n');
    const events = lines.map((line) => JSON.parse(line) as { type: string; eventId: string });
    const changes = events.filter((e) => e.type === 'unread.changed');
    const alerts = events.filter((e) => e.type === 'unread.alert');

    expect(changes.length).toBeGreaterThan(0);
    expect(changes.length + alerts.length).toBe(events.length);
    expect(people.filter((line) => /[▲▼] identity/.test(line))).toHaveLength(changes.length);
    expect(people.filter((line) => / ✉ /.test(line))).toHaveLength(alerts.length);
  });

  test('says which alert policy the demo runs', () => {
    expect(people).toContainEqual(expect.stringMatching(/^alert policy: minUnread 1, cooldown 20s, quietHours off, /));
  });

  test('the simulator calls the re-poll endpoint as CommBox would: events arrive within seconds of the message', () => {
    expect(people).toContainEqual(expect.stringMatching(/^re-poll endpoint at http:\/\/127\.0\.0\.1:\d+\/repoll; the simulator calls it on each change$/));
    const repoll = people.map((line) => /^re-poll: (\d+) of the events went out on the simulator's webhooks, a median (\d+\.\d) s after the message$/.exec(line)).find(Boolean);
    expect(Number(repoll?.[1])).toBeGreaterThan(0);
    expect(Number(repoll?.[2])).toBeLessThan(2);
  });

  test('says where the events went', () => {
    expect(people).toContain('events and alerts are printed as JSON lines on stdout and sent nowhere else (no --topic-arn).');
  });

  test('every line for people fits 100 columns', () => {
    expect(people.filter((line) => [...line].length > 100)).toEqual([]);
  });

  test('--help shows how to pass options through npm', () => {
    const help = npmStart(['--help']);

    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^Usage: npm start -- \[options\]/);
    expect(help.stdout).toContain('npm start -- --interval 2 --cycles 5 --json');
  });

  test('a bad option value is one line and exit code 2', () => {
    const bad = npmStart(['--interval', 'soon']);

    expect(bad.status).toBe(2);
    expect(bad.stderr).toBe('npm start: error: --interval must be a positive number, got "soon"\n');
  });

  test('a demo receiver is registered as a signed webhook: every event and alert reaches it and it verifies the signature with standardwebhooks', () => {
    const events = run.stdout.trimEnd().split('\n').map((line) => JSON.parse(line) as { eventId: string });
    const verified = people.flatMap((line) => /✓ webhook verified \(standardwebhooks\): unread\.(changed|alert) identity \d+, webhook-id (\w{8})$/.exec(line)?.[2] ?? []);

    expect(people).toContainEqual(expect.stringMatching(/^signed webhooks go to a demo receiver at http:\/\/127\.0\.0\.1:\d+\//));
    expect(verified.sort()).toEqual(events.map((e) => e.eventId.slice(0, 8)).sort());
    expect(people.filter((line) => /webhook refused|webhook attempt/.test(line))).toEqual([]);
  });

  test('shows alerts on lines of their own: a `new` at once, rises within the cooldown folded into a digest', () => {
    // A cooldown of 1 s (ALERT_COOLDOWN overrides the demo's 20 s) and a poll every half second.
    const fast = npmStart(['--interval', '0.5', '--cycles', '12'], { ALERT_COOLDOWN: '1s' });
    const lines = fast.stderr.split('\n');

    expect(fast.status).toBe(0);
    expect(lines).toContainEqual(expect.stringMatching(/ ✉ new {6}\d+ \(.+\): \d+ unread in \d+ conversations?, waiting since \d\d:\d\d$/));
    expect(lines).toContainEqual(expect.stringMatching(/ ✉ digest {3}\d+ \(.+\): \d+ -> \d+ unread .*since \d\d:\d\d, \d+ folded$/));
    expect(lines).toContainEqual(expect.stringMatching(/^alert policy: minUnread 1, cooldown 1s, /));
  });
});
