/**
 * The sender against real receivers on 127.0.0.1 (a local run, where loopback is allowed),
 * plain http and https with a certificate made for a made-up name. No DNS: an injected resolver
 * answers, and the loopback-only guard fails the test if a socket would open anywhere else.
 */
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { HttpWebhookSender, systemResolver, type HostResolver, type HttpWebhookSenderOptions, type ResolvedAddress } from '../../lambda/adapters/http-webhook-sender';
import type { DeliveryAttemptOutcome, WebhookDeliveryRequest } from '../../lambda/core/webhook-delivery';
import { classifyAttempt, decideAfterAttempt, DISPATCHER_RETRY_SCHEDULE } from '../../lambda/core/webhook-retry-schedule';
import { signPayload, webhookSecretFromBytes } from '../../lambda/core/webhook-signature';
import { LoopbackOnlyGuard } from '../support/loopback-guard';
import { makeTestCertificate } from '../support/test-certificate';
import { flatHeaders, startReceiver, type Answer, type Receiver } from '../support/webhook-receiver';

const SECRET = webhookSecretFromBytes(new Uint8Array(32).fill(9));
const NOW_MS = Date.parse('2026-02-12T15:09:23.998Z');
const EVENT_ID = '0f1c2a3b-4d5e-8f60-9a1b-2c3d4e5f6071';
const BODY = JSON.stringify({ version: 1, type: 'unread.changed', eventId: EVENT_ID, identityId: 558355, total: 3 });
const HOST = 'hooks.example.test';

const noDns: HostResolver = (hostname) => Promise.reject(Object.assign(new Error(`no DNS in tests (${hostname})`), { code: 'ENOTFOUND' }));
const resolverOf =
  (table: Record<string, readonly ResolvedAddress[]>): HostResolver =>
  (hostname) =>
    table[hostname] === undefined ? noDns(hostname) : Promise.resolve(table[hostname]);
const LOOPBACK: readonly ResolvedAddress[] = [{ address: '127.0.0.1', family: 4 }];

let guard: LoopbackOnlyGuard;
const receivers: Receiver[] = [];

beforeEach(() => {
  guard = new LoopbackOnlyGuard();
});

afterEach(async () => {
  // Close first: a failed expectation must not leave servers open and jest waiting for them.
  await Promise.all(receivers.splice(0).map((r) => r.close()));
  expect(guard.violations).toEqual([]);
});

async function receiver(answer?: Answer, tls?: { key: string; cert: string }): Promise<Receiver> {
  const started = await startReceiver(answer, tls);
  receivers.push(started);
  return started;
}

function sender(options: Partial<HttpWebhookSenderOptions> = {}): HttpWebhookSender {
  return new HttpWebhookSender({ localRun: true, resolve: noDns, agents: guard, timeoutMs: 5000, ...options });
}

function delivery(url: string): WebhookDeliveryRequest {
  return { url, body: BODY, headers: signPayload({ id: EVENT_ID, sentAtMs: NOW_MS, body: BODY, secrets: [SECRET] }) };
}

function verifiedByLibrary(body: string, headers: Record<string, string>): unknown {
  const now = jest.spyOn(Date, 'now').mockReturnValue(NOW_MS);
  try {
    return new Webhook(SECRET).verify(body, headers);
  } finally {
    now.mockRestore();
  }
}

const decide = (outcome: DeliveryAttemptOutcome): ReturnType<typeof decideAfterAttempt> =>
  decideAfterAttempt({ outcome, attempt: 1, schedule: DISPATCHER_RETRY_SCHEDULE, nowMs: NOW_MS });

describe('over plain http to loopback (local run)', () => {
  test('a delivery is a POST of the event JSON with content-type and the Standard Webhooks headers, verified by the library', async () => {
    const target = await receiver();

    await sender().send(delivery(`http://127.0.0.1:${target.port}/hook?route=a`));

    const [request] = target.received;
    expect(request).toMatchObject({ method: 'POST', url: '/hook?route=a', body: BODY });
    expect(request?.headers).toMatchObject({ 'content-type': 'application/json', 'webhook-id': EVENT_ID, 'webhook-timestamp': String(Math.floor(NOW_MS / 1000)) });
    expect(verifiedByLibrary(request!.body, flatHeaders(request!.headers))).toEqual(JSON.parse(BODY));
  });

  test.each([200, 204])('%i is delivered', async (status) => {
    const target = await receiver((_r, res) => res.writeHead(status).end());

    const outcome = await sender().send(delivery(`http://127.0.0.1:${target.port}/hook`));

    expect(outcome).toMatchObject({ kind: 'response', status });
    expect(classifyAttempt(outcome)).toBe('delivered');
  });

  test('500 is retried on the schedule', async () => {
    const target = await receiver((_r, res) => res.writeHead(500).end('{"error":"boom"}'));

    const outcome = await sender().send(delivery(`http://127.0.0.1:${target.port}/hook`));

    expect(outcome).toMatchObject({ kind: 'response', status: 500 });
    expect(decide(outcome)).toMatchObject({ kind: 'retry', delayMs: 5000 });
  });

  test('429 with Retry-After is retried no sooner than it asks', async () => {
    const target = await receiver((_r, res) => res.writeHead(429, { 'retry-after': '120' }).end());

    const outcome = await sender().send(delivery(`http://127.0.0.1:${target.port}/hook`));

    expect(outcome).toMatchObject({ kind: 'response', status: 429, retryAfter: '120' });
    expect(decide(outcome)).toMatchObject({ kind: 'retry', delayMs: 120_000 });
  });

  test('410 disables the endpoint', async () => {
    const target = await receiver((_r, res) => res.writeHead(410).end());

    const outcome = await sender().send(delivery(`http://127.0.0.1:${target.port}/hook`));

    expect(decide(outcome)).toEqual({ kind: 'disable-endpoint', reason: 'gone' });
  });

  test.each([301, 302, 307, 308])('a %i is a failure, and its Location receives nothing', async (status) => {
    const elsewhere = await receiver();
    const target = await receiver((_r, res) => res.writeHead(status, { location: `http://127.0.0.1:${elsewhere.port}/stolen` }).end());

    const outcome = await sender().send(delivery(`http://127.0.0.1:${target.port}/hook`));

    expect(outcome).toMatchObject({ kind: 'response', status });
    expect(classifyAttempt(outcome)).toBe('failed');
    expect(elsewhere.connections()).toBe(0);
  });

  test('a receiver that never answers is a timeout', async () => {
    const target = await receiver(() => undefined);

    const outcome = await sender({ timeoutMs: 300 }).send(delivery(`http://127.0.0.1:${target.port}/hook`));

    expect(outcome.kind).toBe('timeout');
    expect(decide(outcome).kind).toBe('retry');
  });

  test('an answer whose body is still arriving at the time limit counts as answered', async () => {
    const target = await receiver((_r, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('ok, and more to come');
    });

    const outcome = await sender({ timeoutMs: 300 }).send(delivery(`http://127.0.0.1:${target.port}/hook`));

    expect(outcome).toMatchObject({ kind: 'response', status: 200 });
  });

  test('a connection reset before an answer is a network error', async () => {
    const target = await receiver((_r, res) => res.socket?.destroy());

    const outcome = await sender().send(delivery(`http://127.0.0.1:${target.port}/hook`));

    expect(outcome).toMatchObject({ kind: 'network', code: 'ECONNRESET' });
    expect(decide(outcome).kind).toBe('retry');
  });

  test('a closed port is a network error', async () => {
    const port = await freePort();

    const outcome = await sender().send(delivery(`http://127.0.0.1:${port}/hook`));

    expect(outcome).toMatchObject({ kind: 'network', code: 'ECONNREFUSED' });
  });

  test('an endless response body is read up to the cap, then the connection is closed', async () => {
    const chunk = Buffer.alloc(64 * 1024, 'x');
    const target = await receiver((_r, res) => {
      res.writeHead(200);
      const pump = (): void => {
        while (!res.destroyed && res.write(chunk));
        if (!res.destroyed) res.once('drain', pump);
      };
      pump();
    });

    const outcome = await sender({ timeoutMs: 10_000, maxResponseBytes: 4096 }).send(delivery(`http://127.0.0.1:${target.port}/hook`));

    expect(outcome).toMatchObject({ kind: 'response', status: 200 });
    expect(outcome.durationMs).toBeLessThan(5000);
    await target.closedWhileWriting;
  });

  test('a name is resolved once and the connection goes to the address that was checked (no DNS rebinding)', async () => {
    const target = await receiver();
    const answers: (readonly ResolvedAddress[])[] = [LOOPBACK, [{ address: '169.254.169.254', family: 4 }]];
    const resolve = jest.fn<Promise<readonly ResolvedAddress[]>, [string]>(() => Promise.resolve(answers.shift() ?? []));

    const outcome = await sender({ resolve }).send(delivery(`http://localhost:${target.port}/hook`));

    expect(outcome).toMatchObject({ kind: 'response', status: 204 });
    expect(resolve).toHaveBeenCalledTimes(1);
    expect(guard.connectedTo).toEqual(['127.0.0.1']);
    expect(target.received[0]?.headers.host).toBe(`localhost:${target.port}`);
  });

  test('a name that does not resolve is a network error', async () => {
    const outcome = await sender().send(delivery('http://localhost:1/hook'));

    expect(outcome).toMatchObject({ kind: 'network', code: 'ENOTFOUND' });
  });

  test('a resolver that never answers runs into the time limit', async () => {
    const outcome = await sender({ resolve: () => new Promise(() => undefined), timeoutMs: 200 }).send(delivery('http://localhost:1/hook'));

    expect(outcome.kind).toBe('timeout');
  });

  test('nothing is logged, and the outcome holds neither the query nor the secret nor the body', async () => {
    const written: string[] = [];
    const capture = (...args: unknown[]): boolean => {
      written.push(args.map(String).join(' '));
      return true;
    };
    const spies = [
      ...(['log', 'info', 'warn', 'error', 'debug'] as const).map((method) => jest.spyOn(console, method).mockImplementation(capture)),
      jest.spyOn(process.stdout, 'write').mockImplementation(capture),
      jest.spyOn(process.stderr, 'write').mockImplementation(capture),
    ];
    const outcomes: DeliveryAttemptOutcome[] = [];
    try {
      const ok = await receiver((_r, res) => res.writeHead(200).end('secret-looking body 7f3a'));
      const failing = await receiver((_r, res) => res.writeHead(500).end('secret-looking body 7f3a'));
      const silent = await receiver(() => undefined);
      const quick = sender({ timeoutMs: 300 });
      for (const port of [ok.port, failing.port, silent.port, await freePort()]) {
        outcomes.push(await quick.send(delivery(`http://127.0.0.1:${port}/hook?token=q-canary-51d2`)));
      }
      outcomes.push(await quick.send(delivery('http://user:p-canary-9c1e@127.0.0.1:1/hook?token=q-canary-51d2')));
      outcomes.push(await sender({ localRun: false }).send(delivery('https://10.0.0.1/hook?token=q-canary-51d2')));
    } finally {
      spies.forEach((spy) => spy.mockRestore());
    }

    expect(outcomes.map((o) => o.kind)).toEqual(['response', 'response', 'timeout', 'network', 'refused', 'refused']);
    expect(written).toEqual([]);
    const serialized = JSON.stringify(outcomes);
    for (const canary of ['q-canary-51d2', 'p-canary-9c1e', SECRET, SECRET.slice(6), 'secret-looking body', BODY]) expect(serialized).not.toContain(canary);
  });
});

describe('over https with a certificate for a made-up name', () => {
  let tls: { key: string; cert: string };

  beforeAll(() => {
    tls = makeTestCertificate(HOST);
  });

  const httpsSender = (options: Partial<HttpWebhookSenderOptions> = {}): HttpWebhookSender =>
    sender({ resolve: resolverOf({ [HOST]: LOOPBACK, 'other.example.test': LOOPBACK }), ca: tls.cert, ...options });

  test('is delivered to the pinned address while the certificate and SNI use the name, and the library verifies it', async () => {
    const target = await receiver(undefined, tls);

    const outcome = await httpsSender().send(delivery(`https://${HOST}:${target.port}/hook`));

    expect(outcome).toMatchObject({ kind: 'response', status: 204 });
    expect(guard.connectedTo).toEqual(['127.0.0.1']);
    const [request] = target.received;
    expect(request?.servername).toBe(HOST);
    expect(request?.headers.host).toBe(`${HOST}:${target.port}`);
    expect(verifiedByLibrary(request!.body, flatHeaders(request!.headers))).toEqual(JSON.parse(BODY));
  });

  test('a name the certificate does not carry is refused by TLS, and no request is made', async () => {
    const target = await receiver(undefined, tls);

    const outcome = await httpsSender().send(delivery(`https://other.example.test:${target.port}/hook`));

    expect(outcome).toMatchObject({ kind: 'network', code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
    expect(target.received).toEqual([]);
  });

  test('the address itself is not on the certificate either: https://127.0.0.1 fails the check', async () => {
    const target = await receiver(undefined, tls);

    const outcome = await httpsSender().send(delivery(`https://127.0.0.1:${target.port}/hook`));

    expect(outcome).toMatchObject({ kind: 'network', code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
    expect(target.received).toEqual([]);
  });

  test('a certificate from no trusted CA is refused', async () => {
    const target = await receiver(undefined, tls);

    const outcome = await httpsSender({ ca: undefined }).send(delivery(`https://${HOST}:${target.port}/hook`));

    expect(outcome).toMatchObject({ kind: 'network', code: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
    expect(target.received).toEqual([]);
  });
});

describe('the system resolver', () => {
  // Numeric hosts are answered by getaddrinfo itself, without a DNS query.
  test.each([
    ['127.0.0.1', 4],
    ['::1', 6],
  ] as const)('answers %s with family %i, in the shape the address check reads', async (address, family) => {
    await expect(systemResolver(address)).resolves.toEqual([{ address, family }]);
  });
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
