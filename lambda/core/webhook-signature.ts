import { createHmac } from 'node:crypto';

/**
 * Standard Webhooks 1.0 signing (https://www.standardwebhooks.com): receivers verify our
 * deliveries with any of its libraries, in a few lines, with no AWS certificate to fetch.
 * Pure: randomness comes in as an argument, the time as a number.
 */

/** A signing secret as receivers store it: `whsec_` + base64 of 24 to 64 random bytes. */
export type WebhookSecret = string & { readonly __brand: 'WebhookSecret' };

export const WEBHOOK_SECRET_PREFIX = 'whsec_';
/** What `webhooks add` and `rotate-secret` generate: 256 bits, as Svix does. */
export const WEBHOOK_SECRET_BYTES = 32;
/** The spec's bounds for a key. */
const MIN_SECRET_BYTES = 24;
const MAX_SECRET_BYTES = 64;
const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** How long the old secret keeps signing after `rotate-secret`, so receivers can switch over. */
export const SECRET_ROTATION_OVERLAP_MS = 24 * 60 * 60 * 1000;

export class InvalidWebhookSecretError extends Error {
  override readonly name = 'InvalidWebhookSecretError';
}

/** A new secret from `WEBHOOK_SECRET_BYTES` bytes of the given source (node:crypto's `randomBytes` in production). */
export function newWebhookSecret(randomBytes: (size: number) => Uint8Array): WebhookSecret {
  return webhookSecretFromBytes(randomBytes(WEBHOOK_SECRET_BYTES));
}

export function webhookSecretFromBytes(key: Uint8Array): WebhookSecret {
  if (key.byteLength < MIN_SECRET_BYTES || key.byteLength > MAX_SECRET_BYTES) {
    throw new InvalidWebhookSecretError(`a webhook secret must have ${MIN_SECRET_BYTES} to ${MAX_SECRET_BYTES} bytes, got ${key.byteLength}`);
  }
  return `${WEBHOOK_SECRET_PREFIX}${Buffer.from(key).toString('base64')}` as WebhookSecret;
}

/** Checks a stored secret; the message never quotes it. */
export function parseWebhookSecret(raw: string): WebhookSecret {
  const encoded = raw.startsWith(WEBHOOK_SECRET_PREFIX) ? raw.slice(WEBHOOK_SECRET_PREFIX.length) : undefined;
  if (encoded === undefined || !STRICT_BASE64.test(encoded)) {
    throw new InvalidWebhookSecretError(`a webhook secret is "${WEBHOOK_SECRET_PREFIX}" followed by base64`);
  }
  return webhookSecretFromBytes(Buffer.from(encoded, 'base64'));
}

function keyOf(secret: WebhookSecret): Buffer {
  return Buffer.from(secret.slice(WEBHOOK_SECRET_PREFIX.length), 'base64');
}

export interface SignatureInput {
  /** `webhook-id`: the event's `eventId`, the same on every retry and replay so receivers dedupe on it. */
  readonly id: string;
  /** When this attempt is sent, epoch ms from the injected clock; the header carries Unix seconds. */
  readonly sentAtMs: number;
  /** The exact bytes that go on the wire, as UTF-8 text: the signature covers them, not a re-serialisation. */
  readonly body: string;
  /** One secret, or two during a rotation (`signingSecrets`). */
  readonly secrets: readonly WebhookSecret[];
}

export interface WebhookSignatureHeaders {
  readonly 'webhook-id': string;
  readonly 'webhook-timestamp': string;
  readonly 'webhook-signature': string;
}

/** Header-safe: printable ASCII without spaces, so an id can neither split a header nor the signed "id.timestamp.body". */
const HEADER_SAFE_ID = /^[\x21-\x7e]{1,255}$/;

export function signPayload(input: SignatureInput): WebhookSignatureHeaders {
  if (!HEADER_SAFE_ID.test(input.id)) throw new Error('webhook-id must be 1 to 255 printable ASCII characters without spaces');
  if (!Number.isFinite(input.sentAtMs) || input.sentAtMs < 0) throw new Error('sentAtMs must be a non-negative epoch time in ms');
  if (input.secrets.length === 0) throw new Error('at least one secret is needed to sign a webhook');
  const timestamp = String(Math.floor(input.sentAtMs / 1000));
  const signed = `${input.id}.${timestamp}.${input.body}`;
  const signatures = [...new Set(input.secrets)].map(
    (secret) => `v1,${createHmac('sha256', keyOf(secret)).update(signed, 'utf8').digest('base64')}`,
  );
  return { 'webhook-id': input.id, 'webhook-timestamp': timestamp, 'webhook-signature': signatures.join(' ') };
}

/** An endpoint's secrets: the current one, and after a rotation the previous one until its overlap ends. */
export interface EndpointSecrets {
  readonly current: WebhookSecret;
  readonly previous?: { readonly secret: WebhookSecret; readonly signsUntilMs: number };
}

/** The secrets that sign a delivery sent at `nowMs`: the current one first, then a previous one still in its overlap. */
export function signingSecrets(secrets: EndpointSecrets, nowMs: number): readonly WebhookSecret[] {
  const previous = secrets.previous;
  return previous !== undefined && nowMs < previous.signsUntilMs ? [secrets.current, previous.secret] : [secrets.current];
}

/**
 * `rotate-secret`: the new secret becomes current and the old one signs alongside it for
 * `SECRET_ROTATION_OVERLAP_MS`. A second rotation within the overlap drops the oldest secret:
 * at most two sign at once, as the spec's examples do.
 */
export function rotateSecret(secrets: EndpointSecrets, next: WebhookSecret, nowMs: number): EndpointSecrets {
  return { current: next, previous: { secret: secrets.current, signsUntilMs: nowMs + SECRET_ROTATION_OVERLAP_MS } };
}
