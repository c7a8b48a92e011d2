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
  });

  test('registers a demo receiver as a signed webhook: each change reaches it and it verifies the signature with standardwebhooks', () => {
    const tsx = join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs');
    const run = spawnSync(process.execPath, [tsx, 'bin/start-local.ts', '--interval', '1', '--cycles', '3', '--json'], { cwd: root, encoding: 'utf8', timeout: 60_000 });

    expect(run.status).toBe(0);
    const out = run.stdout;
    expect(out).toMatch(/signed webhook wh_[0-9a-f]{20} to the demo receiver at http:\/\/127\.0\.0\.1:\d+\//);
    const events = out.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as { eventId: string });
    const verified = [...out.matchAll(/✓ webhook verified \(standardwebhooks\): unread\.changed identity \d+, webhook-id (\w{8})/g)].map((m) => m[1]);
    expect(events.length).toBeGreaterThan(0);
    expect(verified.sort()).toEqual(events.map((e) => e.eventId.slice(0, 8)).sort());
    expect(out).not.toMatch(/webhook refused/);
  });
});
