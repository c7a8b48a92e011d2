/**
 * The CommBox payload is full of customer data (names, phones, emails, message text). Events
 * carry counts and ids only: nothing of it may reach a publication (any of its parts) or the
 * CLI's output, including when a malformed body puts customer data where a count belongs.
 */
import { randomUUID } from 'node:crypto';
import type { EventPublisher, PublishResult } from '../../lambda/core/ports';
import type { Publication } from '../../lambda/core/publication';
import { cli, useDynaliteEnvironment, type CliRun } from '../support/cli-harness';
import { cycleHarness, type CycleHarness } from '../support/cycle-harness';
import { customerSecrets } from './customer-secrets';

/** Keeps every publication whole: message (default, email, sms), subject and attributes. */
class CapturingPublisher implements EventPublisher {
  readonly publications: Publication[] = [];

  publishBatch(batch: readonly Publication[]): Promise<PublishResult[]> {
    this.publications.push(...batch);
    return Promise.resolve(batch.map((p) => ({ eventId: p.eventId, ok: true as const })));
  }
}

useDynaliteEnvironment();

describe('events', () => {
  let h: CycleHarness;
  const publisher = new CapturingPublisher();
  let ids: string[];

  beforeAll(async () => {
    h = await cycleHarness({ seed: 21 });
    ids = h.simulator.world.populate(30, { firstId: 950_001, maxConversations: 4 });
    await h.register(...ids);
    await h.cycle({}, { publisher });
    for (let round = 0; round < 3; round += 1) {
      h.simulator.tick(0.6);
      h.simulator.faults.forIdentity(ids[round] as string, 'wrongShape');
      await h.cycle({}, { publisher });
    }
  });

  afterAll(async () => {
    await h.close();
  });

  test('were published for the changes (so there is something to inspect)', () => {
    expect(publisher.publications.length).toBeGreaterThanOrEqual(20);
  });

  test('carry no customer data in any part of the SNS publication', () => {
    const sent = JSON.stringify(publisher.publications);
    const leaks = customerSecrets(h.simulator, ids).filter((secret) => sent.includes(secret));

    expect(leaks).toEqual([]);
  });
});

describe('the CLI', () => {
  const runs: CliRun[] = [];
  let secrets: string[];

  beforeAll(async () => {
    const h = await cycleHarness({ seed: 22, token: 'cli-customer-data-token' });
    try {
      const table = `security-customer-${randomUUID()}`;
      const env = { API_TOKEN: h.simulator.token, API_BASE_URL: h.simulator.baseUrl, MAX_ATTEMPTS: '2' };
      await cli(['init', '--table', table]);
      const ids = h.simulator.world.populate(15, { firstId: 960_001, maxConversations: 4 });
      for (const id of ids) await cli(['identities', 'add', id, '--table', table]);
      runs.push(await cli(['poll', '--json', '--table', table], env));
      h.simulator.tick(0.8);
      h.simulator.faults.forIdentity(ids[0] as string, 'wrongShape', 'wrongShape');
      h.simulator.faults.forIdentity(ids[1] as string, 'malformed', 'malformed');
      runs.push(await cli(['poll', '--json', '--table', table], env));
      runs.push(await cli(['identities', 'list', '--table', table], env));
      runs.push(await cli(['identities', 'list', '--json', '--table', table], env));
      secrets = customerSecrets(h.simulator, ids);
    } finally {
      await h.close();
    }
  });

  test('printed events and warnings (so there is something to inspect)', () => {
    expect(runs[1]?.stdout).toContain('"type":"unread.changed"');
    expect(runs[1]?.stderr).toContain('malformed response');
  });

  test('prints no customer data, on stdout or stderr, in any command', () => {
    const printed = runs.map((run) => run.stdout + run.stderr).join('\n');

    expect(secrets.filter((secret) => printed.includes(secret))).toEqual([]);
  });
});
