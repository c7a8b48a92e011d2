import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');

describe('npm start', () => {
  test('polls the simulator on an embedded DynamoDB and prints baselines, then published events', () => {
    const tsx = join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs');
    const run = spawnSync(process.execPath, [tsx, 'bin/start-local.ts', '--interval', '1', '--cycles', '4', '--json'], {
      cwd: root,
      encoding: 'utf8',
      timeout: 60_000,
    });

    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const out = run.stdout;
    expect(out).toMatch(/● baseline {2}identity 558355 \(Support\)/);
    expect(out).toMatch(/[▲▼] (in|de)creased identity \d+/);
    const events = out.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as { type: string });
    expect(events.length).toBeGreaterThan(0);
    expect(events.every((e) => e.type === 'unread.changed')).toBe(true);
    expect(out).toMatch(/cycle 4: polled 5\/5/);
    // The simulator calls the re-poll endpoint as CommBox would: events arrive within seconds of the message.
    expect(out).toMatch(/re-poll endpoint at http:\/\/127\.0\.0\.1:\d+\/repoll: the simulator calls it on every change/);
    const delays = [...out.matchAll(/\(re-poll\) {2}\+(\d+\.\d) s after the message/g)].map((m) => Number(m[1]));
    expect(delays.length).toBeGreaterThan(0);
    for (const delay of delays) expect(delay).toBeLessThan(3);
  });
});
