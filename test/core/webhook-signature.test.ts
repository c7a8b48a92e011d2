/**
 * Our signatures, checked by an outside implementation: the official `standardwebhooks` package,
 * which is what receivers use. Its timestamp tolerance reads Date.now, so that is pinned.
 */
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import {
  InvalidWebhookSecretError,
  newWebhookSecret,
  parseWebhookSecret,
  rotateSecret,
  SECRET_ROTATION_OVERLAP_MS,
  signingSecrets,
  signPayload,
  webhookSecretFromBytes,
  type WebhookSecret,
} from '../../lambda/core/webhook-signature';

const NOW_MS = Date.parse('2026-02-12T15:09:23.998Z');
const HOUR_MS = 3_600_000;
const BODY = '{"version":1,"type":"unread.changed","eventId":"0f1c2a3b-4d5e-8f60-9a1b-2c3d4e5f6071","identityId":558355,"total":3}';
const ID = '0f1c2a3b-4d5e-8f60-9a1b-2c3d4e5f6071';

const bytes = (fill: number, size = 32): Uint8Array => new Uint8Array(size).fill(fill);
const OLD_SECRET = webhookSecretFromBytes(bytes(1));
const NEW_SECRET = webhookSecretFromBytes(bytes(2));
const OTHER_SECRET = webhookSecretFromBytes(bytes(3));

function verifiedBy(secret: WebhookSecret, body: string, headers: Record<string, string>, atMs = NOW_MS): unknown {
  const now = jest.spyOn(Date, 'now').mockReturnValue(atMs);
  try {
    return new Webhook(secret).verify(body, headers);
  } finally {
    now.mockRestore();
  }
}

describe('secrets', () => {
  test('a new secret is whsec_ and the base64 of 32 bytes from the given source', () => {
    const secret = newWebhookSecret((size) => bytes(7, size));

    expect(secret).toBe(`whsec_${Buffer.from(bytes(7)).toString('base64')}`);
  });

  test('a stored secret parses back to itself', () => {
    expect(parseWebhookSecret(OLD_SECRET)).toBe(OLD_SECRET);
  });

  test.each([
    ['without the whsec_ prefix', Buffer.from(bytes(1)).toString('base64')],
    ['with characters outside base64', 'whsec_not*base64*at*all*not*base64*at*all*not*'],
    ['with too few bytes (16)', `whsec_${Buffer.from(bytes(1, 16)).toString('base64')}`],
    ['with too many bytes (65)', `whsec_${Buffer.from(bytes(1, 65)).toString('base64')}`],
  ])('a secret %s is refused without being quoted', (_case, raw) => {
    const error = captureError(() => parseWebhookSecret(raw));

    expect(error).toBeInstanceOf(InvalidWebhookSecretError);
    expect((error as Error).message).not.toContain(raw.slice(6, 20));
  });
});

describe('signPayload', () => {
  test('matches the Standard Webhooks reference vector', () => {
    // From the Standard Webhooks libraries' own tests.
    const headers = signPayload({
      id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
      sentAtMs: 1614265330 * 1000,
      body: '{"test": 2432232314}',
      secrets: [parseWebhookSecret('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw')],
    });

    expect(headers['webhook-signature']).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });

  test('the headers carry the id, the Unix seconds of the attempt and one v1 signature', () => {
    const headers = signPayload({ id: ID, sentAtMs: NOW_MS, body: BODY, secrets: [NEW_SECRET] });

    expect(headers['webhook-id']).toBe(ID);
    expect(headers['webhook-timestamp']).toBe(String(Math.floor(NOW_MS / 1000)));
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
  });

  test('the standardwebhooks library verifies a delivery and returns the event', () => {
    const headers = signPayload({ id: ID, sentAtMs: NOW_MS, body: BODY, secrets: [NEW_SECRET] });

    expect(verifiedBy(NEW_SECRET, BODY, { ...headers })).toEqual(JSON.parse(BODY));
  });

  test('the library refuses a body changed after signing', () => {
    const headers = signPayload({ id: ID, sentAtMs: NOW_MS, body: BODY, secrets: [NEW_SECRET] });

    expect(() => verifiedBy(NEW_SECRET, BODY.replace('"total":3', '"total":4'), { ...headers })).toThrow(WebhookVerificationError);
  });

  test('the library refuses another webhook-id with the same signature', () => {
    const headers = signPayload({ id: ID, sentAtMs: NOW_MS, body: BODY, secrets: [NEW_SECRET] });

    expect(() => verifiedBy(NEW_SECRET, BODY, { ...headers, 'webhook-id': 'another-id' })).toThrow(WebhookVerificationError);
  });

  test('the library refuses a signature made with another secret', () => {
    const headers = signPayload({ id: ID, sentAtMs: NOW_MS, body: BODY, secrets: [OTHER_SECRET] });

    expect(() => verifiedBy(NEW_SECRET, BODY, { ...headers })).toThrow(WebhookVerificationError);
  });

  test('the timestamp is in seconds: the library accepts it 4 minutes later and refuses it 6 minutes later', () => {
    const headers = signPayload({ id: ID, sentAtMs: NOW_MS, body: BODY, secrets: [NEW_SECRET] });

    expect(verifiedBy(NEW_SECRET, BODY, { ...headers }, NOW_MS + 4 * 60_000)).toEqual(JSON.parse(BODY));
    expect(() => verifiedBy(NEW_SECRET, BODY, { ...headers }, NOW_MS + 6 * 60_000)).toThrow('Message timestamp too old');
  });

  test('non-ASCII in the body is signed as UTF-8, as receivers read it', () => {
    const body = '{"label":"Büro ✉ 東京"}';
    const headers = signPayload({ id: ID, sentAtMs: NOW_MS, body, secrets: [NEW_SECRET] });

    expect(verifiedBy(NEW_SECRET, body, { ...headers })).toEqual({ label: 'Büro ✉ 東京' });
  });

  test.each([
    ['empty', ''],
    ['with a space', 'a b'],
    ['with a line break', 'a\r\nx-injected: 1'],
  ])('an id %s is refused (it would break the header or the signed string)', (_case, id) => {
    expect(() => signPayload({ id, sentAtMs: NOW_MS, body: BODY, secrets: [NEW_SECRET] })).toThrow('webhook-id');
  });

  test('signing without a secret is refused', () => {
    expect(() => signPayload({ id: ID, sentAtMs: NOW_MS, body: BODY, secrets: [] })).toThrow('at least one secret');
  });
});

describe('secret rotation', () => {
  const rotated = rotateSecret({ current: OLD_SECRET }, NEW_SECRET, NOW_MS);

  test('during the overlap a delivery carries two signatures, space-separated, and the library accepts either secret', () => {
    const headers = signPayload({ id: ID, sentAtMs: NOW_MS + HOUR_MS, body: BODY, secrets: signingSecrets(rotated, NOW_MS + HOUR_MS) });

    expect(headers['webhook-signature'].split(' ')).toHaveLength(2);
    expect(verifiedBy(OLD_SECRET, BODY, { ...headers }, NOW_MS + HOUR_MS)).toEqual(JSON.parse(BODY));
    expect(verifiedBy(NEW_SECRET, BODY, { ...headers }, NOW_MS + HOUR_MS)).toEqual(JSON.parse(BODY));
    expect(() => verifiedBy(OTHER_SECRET, BODY, { ...headers }, NOW_MS + HOUR_MS)).toThrow(WebhookVerificationError);
  });

  test('the old secret signs for 24 hours after the rotation and no longer', () => {
    expect(signingSecrets(rotated, NOW_MS + SECRET_ROTATION_OVERLAP_MS - 1)).toEqual([NEW_SECRET, OLD_SECRET]);
    expect(signingSecrets(rotated, NOW_MS + SECRET_ROTATION_OVERLAP_MS)).toEqual([NEW_SECRET]);
  });

  test('after the overlap the library refuses the old secret', () => {
    const at = NOW_MS + SECRET_ROTATION_OVERLAP_MS;
    const headers = signPayload({ id: ID, sentAtMs: at, body: BODY, secrets: signingSecrets(rotated, at) });

    expect(() => verifiedBy(OLD_SECRET, BODY, { ...headers }, at)).toThrow(WebhookVerificationError);
  });

  test('a second rotation within the overlap keeps only the two newest secrets', () => {
    const twice = rotateSecret(rotated, OTHER_SECRET, NOW_MS + HOUR_MS);

    expect(signingSecrets(twice, NOW_MS + 2 * HOUR_MS)).toEqual([OTHER_SECRET, NEW_SECRET]);
  });
});

function captureError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error');
}
