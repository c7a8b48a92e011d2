/**
 * The SSRF matrix of issue 10: every URL here must be refused before a socket opens, and the
 * target must receive nothing. Nothing can leak if the sender regresses: names resolve through
 * an injected table (never real DNS), and the sender connects through the loopback-only guard,
 * which stops and records any socket to another address. Loopback targets are a canary receiver.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { HttpWebhookSender, type HostResolver, type ResolvedAddress } from '../../lambda/adapters/http-webhook-sender';
import type { WebhookDeliveryRequest } from '../../lambda/core/webhook-delivery';
import { classifyAttempt } from '../../lambda/core/webhook-retry-schedule';
import { signPayload, webhookSecretFromBytes } from '../../lambda/core/webhook-signature';
import { LoopbackOnlyGuard } from '../support/loopback-guard';
import { startReceiver, type Receiver } from '../support/webhook-receiver';

const SECRET = webhookSecretFromBytes(new Uint8Array(32).fill(5));
const BODY = '{"version":1,"type":"unread.changed","eventId":"e1","identityId":558355}';

const v4 = (address: string): ResolvedAddress => ({ address, family: 4 });
const v6 = (address: string): ResolvedAddress => ({ address, family: 6 });
const DNS: Record<string, readonly ResolvedAddress[]> = {
  'hooks.example.com': [v4('93.184.216.34')],
  'internal.example.test': [v4('10.0.0.5')],
  'corp.example.test': [v4('172.16.4.2')],
  'home.example.test': [v4('192.168.1.20')],
  'cgnat.example.test': [v4('100.64.0.1')],
  'metadata.example.test': [v4('169.254.169.254')],
  'mixed.example.test': [v4('93.184.216.34'), v4('10.0.0.5')],
  'mapped.example.test': [v6('::ffff:169.254.169.254')],
  'imds6.example.test': [v6('fd00:ec2::254')],
  'linklocal6.example.test': [v6('fe80::1')],
  'loopy.example.test': [v4('127.0.0.1')],
  'localhost': [v4('93.184.216.34')],
};
const resolve: HostResolver = (hostname) =>
  DNS[hostname] === undefined ? Promise.reject(Object.assign(new Error('unknown'), { code: 'ENOTFOUND' })) : Promise.resolve(DNS[hostname]);

let canary: Receiver;
let guard: LoopbackOnlyGuard;

beforeAll(async () => {
  canary = await startReceiver();
});

afterAll(async () => {
  await canary.close();
});

beforeEach(() => {
  guard = new LoopbackOnlyGuard();
});

function delivery(url: string): WebhookDeliveryRequest {
  return { url, body: BODY, headers: signPayload({ id: 'e1', sentAtMs: 1_770_000_000_000, body: BODY, secrets: [SECRET] }) };
}

function sender(localRun: boolean): HttpWebhookSender {
  return new HttpWebhookSender({ localRun, resolve, agents: guard, timeoutMs: 2000 });
}

const P = (): number => canary.port;

describe.each([
  ['from the Lambda', false],
  ['in a local run', true],
] as const)('%s', (_where, localRun) => {
  const refusedEverywhere: readonly (readonly [string, () => string])[] = [
    ['http:// to a public host', () => 'http://hooks.example.com/hook'],
    ['10.x', () => 'https://10.0.0.1/hook'],
    ['172.16.x', () => 'https://172.16.0.1/hook'],
    ['192.168.x', () => 'https://192.168.1.1/hook'],
    ['100.64.x (carrier-grade NAT)', () => 'https://100.64.0.1/hook'],
    ['the metadata service over http', () => 'http://169.254.169.254/latest/meta-data/iam/security-credentials/'],
    ['the metadata service over https', () => 'https://169.254.169.254/latest/meta-data/'],
    ['0.0.0.0', () => `https://0.0.0.0:${P()}/hook`],
    ['[::ffff:127.0.0.1] (IPv4-mapped loopback)', () => `https://[::ffff:127.0.0.1]:${P()}/hook`],
    ['[::ffff:169.254.169.254] (IPv4-mapped metadata)', () => 'https://[::ffff:169.254.169.254]/hook'],
    ['[fd00:ec2::254] (IPv6 metadata)', () => 'https://[fd00:ec2::254]/hook'],
    ['[fe80::1] (IPv6 link-local)', () => 'https://[fe80::1]/hook'],
    ['a name resolving to 10.x', () => 'https://internal.example.test/hook'],
    ['a name resolving to 172.16.x', () => 'https://corp.example.test/hook'],
    ['a name resolving to 192.168.x', () => 'https://home.example.test/hook'],
    ['a name resolving to carrier-grade NAT', () => 'https://cgnat.example.test/hook'],
    ['a name resolving to the metadata service', () => 'https://metadata.example.test/hook'],
    ['a name resolving to a public and a private address', () => 'https://mixed.example.test/hook'],
    ['a name resolving to an IPv4-mapped metadata address', () => 'https://mapped.example.test/hook'],
    ['a name resolving to the IPv6 metadata service', () => 'https://imds6.example.test/hook'],
    ['a name resolving to IPv6 link-local', () => 'https://linklocal6.example.test/hook'],
    ['plain http to localhost when it resolves to a public address', () => `http://localhost:${P()}/hook`],
  ];
  const refusedFromTheLambdaOnly: readonly (readonly [string, () => string])[] = [
    ['http://127.0.0.1', () => `http://127.0.0.1:${P()}/hook`],
    ['https://127.0.0.1', () => `https://127.0.0.1:${P()}/hook`],
    ['[::1]', () => `https://[::1]:${P()}/hook`],
    ['0x7f.1 (hex loopback)', () => `https://0x7f.1:${P()}/hook`],
    ['2130706433 (decimal loopback)', () => `https://2130706433:${P()}/hook`],
    ['127.1 (short loopback)', () => `http://127.1:${P()}/hook`],
    ['localhost', () => `https://localhost:${P()}/hook`],
    ['a name resolving to 127.0.0.1', () => `https://loopy.example.test:${P()}/hook`],
  ];

  test.each(localRun ? refusedEverywhere : [...refusedEverywhere, ...refusedFromTheLambdaOnly])(
    '%s is refused and the target receives nothing',
    async (_case, url) => {
      const outcome = await sender(localRun).send(delivery(url()));

      expect(outcome.kind).toBe('refused');
      expect(classifyAttempt(outcome)).toBe('failed');
      expect(guard.violations).toEqual([]);
      expect(guard.connectedTo).toEqual([]);
      expect(canary.connections()).toBe(0);
    },
  );
});

describe('a redirect (local run, from a loopback receiver)', () => {
  let redirector: Receiver;
  let location = '';

  beforeAll(async () => {
    redirector = await startReceiver((request, res) => res.writeHead(Number(request.url.slice(1)), { location }).end());
  });

  afterAll(async () => {
    await redirector.close();
  });

  test.each([
    [301, 'http://169.254.169.254/latest/meta-data/iam/security-credentials/'],
    [302, 'http://10.0.0.1/admin'],
    [307, 'http://[::ffff:127.0.0.1]/'],
    [308, 'canary'],
  ])('a %i to %s is not followed: a failure, and the target receives nothing', async (status, target) => {
    location = target === 'canary' ? `http://127.0.0.1:${canary.port}/hook` : target;

    const outcome = await sender(true).send(delivery(`http://127.0.0.1:${redirector.port}/${status}`));

    expect(outcome).toMatchObject({ kind: 'response', status });
    expect(classifyAttempt(outcome)).toBe('failed');
    expect(guard.connectedTo).toEqual(['127.0.0.1']);
    expect(guard.violations).toEqual([]);
    expect(canary.connections()).toBe(0);
  });
});

describe('the guard itself', () => {
  test('stops a socket to a public address before it opens', () => {
    expect(() => httpRequest({ host: '93.184.216.34', path: '/', agent: guard.http })).toThrow('test guard stopped');
    expect(guard.violations).toEqual(['connection to 93.184.216.34']);
  });

  test('stops a name that would go to the real DNS', () => {
    expect(() => httpsRequest({ host: 'example.com', path: '/', agent: guard.https })).toThrow('test guard stopped');
    expect(guard.violations).toEqual(['unpinned connection to example.com']);
  });

  test('stops a name whose lookup answers a private address', async () => {
    const error = await new Promise<NodeJS.ErrnoException>((done) => {
      const req = httpsRequest({
        host: 'internal.example.test',
        path: '/',
        agent: guard.https,
        lookup: (_h, _o, callback) => callback(null, [{ address: '10.0.0.5', family: 4 }]),
      });
      req.on('error', done);
      req.end();
    });

    expect(error.code).toBe('ERR_TEST_GUARD');
    expect(guard.violations).toEqual(['connection to 10.0.0.5']);
  });
});
