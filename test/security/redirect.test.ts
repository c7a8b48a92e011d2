/**
 * A redirect from the upstream is refused, never followed: following it would carry the bearer
 * token to wherever the Location points. A second server stands in for that target and must
 * receive nothing, whatever the redirect status.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CommBoxObjectsSource } from '../../lambda/adapters/commbox/commbox-objects-source';
import { StaticTokenProvider } from '../../lambda/adapters/token-provider';
import { Secret } from '../../lambda/config';
import { UpstreamError } from '../../lambda/core/errors';
import { parseIdentityId } from '../../lambda/core/identity-id';
import { cycleHarness } from '../support/cycle-harness';

const TOKEN = 'canary-redirect-9d3e51b7';
const ID = parseIdentityId('558355');

interface Listening {
  readonly baseUrl: string;
  readonly received: { url: string; headers: IncomingHttpHeaders }[];
  close(): Promise<void>;
}

async function listen(answer: (url: string) => { status: number; headers?: Record<string, string>; body?: string }): Promise<Listening> {
  const received: Listening['received'] = [];
  const server: Server = createServer((req, res) => {
    received.push({ url: req.url ?? '', headers: req.headers });
    const { status, headers = {}, body = '' } = answer(req.url ?? '');
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

let target: Listening;

beforeAll(async () => {
  target = await listen(() => ({ status: 200, body: '{"status":200,"totalUnreadChatMessages":0,"data":[]}' }));
});

afterAll(async () => {
  await target.close();
});

afterEach(() => {
  target.received.length = 0;
});

describe('the source with its node:http transport', () => {
  test.each([301, 302, 303, 307, 308])('a %i from the upstream is refused, and the target receives nothing', async (status) => {
    const upstream = await listen(() => ({ status, headers: { location: `${target.baseUrl}/steal?from=commbox` } }));
    try {
      const source = new CommBoxObjectsSource({
        baseUrl: new URL(upstream.baseUrl),
        tokens: new StaticTokenProvider(new Secret(TOKEN)),
        timeoutMs: 1000,
        maxAttempts: 3,
        maxConcurrency: 1,
        baseDelayMs: 1,
      });

      const error = await source.fetchUnread(ID).then(
        () => undefined,
        (e: unknown) => e,
      );

      expect(error).toBeInstanceOf(UpstreamError);
      expect(error).toMatchObject({ kind: 'rejected', message: expect.stringContaining('redirect') });
      expect(upstream.received).toHaveLength(1);
      expect(target.received).toEqual([]);
    } finally {
      await upstream.close();
    }
  });
});

describe('in a poll cycle', () => {
  test('an identity whose upstream redirects fails alone; the others are polled; the target receives nothing', async () => {
    const h = await cycleHarness({ redirectLocation: `${target.baseUrl}/steal` });
    try {
      h.simulator.world.addIdentity('11');
      h.simulator.world.addIdentity('12');
      await h.register('11', '12');
      h.simulator.faults.forIdentity('11', 'redirect', 'redirect', 'redirect');

      const summary = await h.cycle();

      expect(summary).toMatchObject({ polled: 1, failed: 1 });
      expect(target.received).toEqual([]);
    } finally {
      await h.close();
    }
  });
});
