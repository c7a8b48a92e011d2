import {
  endpointsFor,
  HEALTHY,
  InvalidWebhookEndpointIdError,
  InvalidWebhookUrlError,
  isWebhookEventType,
  newWebhookEndpointId,
  parseWebhookEndpointId,
  parseWebhookUrl,
  redactWebhookUrl,
  type WebhookEndpoint,
  type WebhookEventType,
} from '../../lambda/core/webhook-endpoint';

let nextId = 0;
function endpoint(options: { events?: WebhookEventType[]; identityIds?: string[]; disabled?: boolean } = {}): WebhookEndpoint {
  nextId += 1;
  return {
    id: parseWebhookEndpointId(`wh_${String(nextId).padStart(20, '0')}`),
    url: `https://hooks.example.com/${nextId}`,
    events: options.events ?? ['unread.changed'],
    ...(options.identityIds === undefined ? {} : { identityIds: options.identityIds }),
    status: options.disabled === true ? { state: 'disabled', reason: 'gone', sinceMs: 0 } : { state: 'active' },
    health: HEALTHY,
  };
}

const CHANGE = { type: 'unread.changed', identityId: '558355' };
const ALERT = { type: 'unread.alert', identityId: '558355' };

describe('endpointsFor', () => {
  test('an endpoint for changes gets changes and not alerts', () => {
    const changes = endpoint({ events: ['unread.changed'] });

    expect(endpointsFor(CHANGE, [changes])).toEqual([changes]);
    expect(endpointsFor(ALERT, [changes])).toEqual([]);
  });

  test('an endpoint for both event types gets both', () => {
    const both = endpoint({ events: ['unread.changed', 'unread.alert'] });

    expect(endpointsFor(CHANGE, [both])).toEqual([both]);
    expect(endpointsFor(ALERT, [both])).toEqual([both]);
  });

  test('an identity filter lets only those identities through', () => {
    const filtered = endpoint({ identityIds: ['1', '558355'] });

    expect(endpointsFor(CHANGE, [filtered])).toEqual([filtered]);
    expect(endpointsFor({ ...CHANGE, identityId: '2' }, [filtered])).toEqual([]);
  });

  test('an empty identity filter means every identity', () => {
    const all = endpoint({ identityIds: [] });

    expect(endpointsFor(CHANGE, [all])).toEqual([all]);
  });

  test('a disabled endpoint gets nothing', () => {
    expect(endpointsFor(CHANGE, [endpoint({ disabled: true })])).toEqual([]);
  });

  test('a webhook.test event matches no endpoint (the CLI sends it to one endpoint directly)', () => {
    expect(endpointsFor({ type: 'webhook.test', identityId: '558355' }, [endpoint({ events: ['unread.changed', 'unread.alert'] })])).toEqual([]);
  });

  test('keeps the order of the endpoints given', () => {
    const a = endpoint();
    const b = endpoint({ events: ['unread.alert'] });
    const c = endpoint();

    expect(endpointsFor(CHANGE, [a, b, c])).toEqual([a, c]);
  });
});

describe('event types and endpoint ids', () => {
  test.each([
    ['unread.changed', true],
    ['unread.alert', true],
    ['webhook.test', false],
    ['Unread.Changed', false],
  ])('isWebhookEventType(%p) is %p', (type, known) => {
    expect(isWebhookEventType(type)).toBe(known);
  });

  test('a new endpoint id is wh_ and the hex of 10 random bytes', () => {
    expect(newWebhookEndpointId((size) => new Uint8Array(size).fill(0xab))).toBe(`wh_${'ab'.repeat(10)}`);
  });

  test.each(['wh_0123', 'WH_0123456789abcdef0123', 'wh_0123456789ABCDEF0123', 'wh_0123456789abcdef0123 ', '../wh_0123456789abcdef'])(
    'the id %p is refused',
    (raw) => {
      expect(() => parseWebhookEndpointId(raw)).toThrow(InvalidWebhookEndpointIdError);
    },
  );
});

describe('the URL policy', () => {
  const inLambda = { localRun: false };
  const localRun = { localRun: true };

  test.each([
    ['https://hooks.example.com/unread', inLambda, 'https://hooks.example.com/unread'],
    ['https://hooks.example.com:8443/a?route=x', inLambda, 'https://hooks.example.com:8443/a?route=x'],
    ['HTTPS://Hooks.Example.COM', inLambda, 'https://hooks.example.com/'],
    ['https://[2606:4700::1]/hook', inLambda, 'https://[2606:4700::1]/hook'],
    ['https://93.184.216.34/hook', inLambda, 'https://93.184.216.34/hook'],
    ['http://127.0.0.1:8080/hook', localRun, 'http://127.0.0.1:8080/hook'],
    ['http://localhost:3000/hook', localRun, 'http://localhost:3000/hook'],
    ['http://[::1]:3000/hook', localRun, 'http://[::1]:3000/hook'],
    ['https://127.0.0.1:8443/hook', localRun, 'https://127.0.0.1:8443/hook'],
    ['http://0x7f.1:8080/', localRun, 'http://127.0.0.1:8080/'],
  ])('%s is accepted (%o) as %s', (raw, policy, href) => {
    expect(parseWebhookUrl(raw, policy).href).toBe(href);
  });

  test.each([
    ['plain http to a public host', 'http://hooks.example.com/hook', inLambda, 'must use https'],
    ['plain http to a public host in a local run', 'http://hooks.example.com/hook', localRun, 'plain http only to localhost'],
    ['plain http to loopback from the Lambda', 'http://127.0.0.1:8080/hook', inLambda, 'must use https'],
    ['https to loopback from the Lambda', 'https://127.0.0.1/hook', inLambda, 'loopback'],
    ['https to localhost from the Lambda', 'https://localhost/hook', inLambda, 'loopback'],
    ['plain http to a private address in a local run', 'http://10.0.0.1/hook', localRun, 'plain http only to localhost'],
    ['a private address', 'https://10.1.2.3/hook', inLambda, 'private'],
    ['172.16/12', 'https://172.16.0.10/hook', inLambda, 'private'],
    ['192.168/16', 'https://192.168.0.1/hook', inLambda, 'private'],
    ['the metadata service', 'https://169.254.169.254/latest/meta-data/', inLambda, 'metadata'],
    ['IPv6 loopback', 'https://[::1]/hook', inLambda, 'loopback'],
    ['IPv4-mapped loopback, even in a local run', 'https://[::ffff:127.0.0.1]/hook', localRun, 'loopback'],
    ['hex loopback (0x7f.1)', 'https://0x7f.1/hook', inLambda, 'loopback'],
    ['decimal loopback (2130706433)', 'https://2130706433/hook', inLambda, 'loopback'],
    ['short loopback (127.1)', 'https://127.1/hook', inLambda, 'loopback'],
    ['userinfo', 'https://user:hunter2@hooks.example.com/hook', inLambda, 'user name or password'],
    ['a fragment', 'https://hooks.example.com/hook#part', inLambda, 'fragment'],
    ['an empty fragment', 'https://hooks.example.com/hook#', inLambda, 'fragment'],
    ['another scheme', 'ftp://hooks.example.com/hook', inLambda, 'must use https'],
    ['a relative URL', '/hook', inLambda, 'not an absolute URL'],
    ['an overlong URL', `https://hooks.example.com/${'a'.repeat(2100)}`, inLambda, 'at most 2048'],
  ])('%s is refused', (_case, raw, policy, message) => {
    expect(() => parseWebhookUrl(raw, policy)).toThrow(InvalidWebhookUrlError);
    expect(() => parseWebhookUrl(raw, policy)).toThrow(message);
  });

  test.each([inLambda, localRun])('a refusal (%o) never quotes the query or the user name and password', (policy) => {
    const message = refusalMessage('http://alice:hunter2@hooks.example.com/hook?token=s3cr3t', policy);

    expect(message).toContain('http://hooks.example.com/hook?…');
    expect(message).not.toMatch(/alice|hunter2|s3cr3t/);
  });
});

function refusalMessage(raw: string, policy: { localRun: boolean }): string {
  try {
    parseWebhookUrl(raw, policy);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error(`expected ${raw} to be refused`);
}

describe('redactWebhookUrl', () => {
  test.each([
    ['https://hooks.example.com/a/b', 'https://hooks.example.com/a/b'],
    ['https://hooks.example.com:8443/a?token=s3cr3t', 'https://hooks.example.com:8443/a?…'],
    ['https://user:hunter2@hooks.example.com/a#frag', 'https://hooks.example.com/a'],
    ['not a url', '(not a URL)'],
  ])('%s is logged as %s', (raw, shown) => {
    expect(redactWebhookUrl(raw)).toBe(shown);
  });
});
