import { addressRefusal, isIpLiteral } from './webhook-address-policy';

/** The event types an endpoint can subscribe to (CONTRACT "Signed webhooks"). */
export const WEBHOOK_EVENT_TYPES = ['unread.changed', 'unread.alert'] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];
/** What `webhooks add` subscribes to without `--events`: changes are for systems, alerts for people. */
export const DEFAULT_WEBHOOK_EVENT_TYPES: readonly WebhookEventType[] = ['unread.changed'];

export function isWebhookEventType(value: string): value is WebhookEventType {
  return (WEBHOOK_EVENT_TYPES as readonly string[]).includes(value);
}

/** `wh_` and 20 lowercase hex digits: short enough to type, random enough never to collide. */
export type WebhookEndpointId = string & { readonly __brand: 'WebhookEndpointId' };
const ENDPOINT_ID = /^wh_[0-9a-f]{20}$/;
const ENDPOINT_ID_BYTES = 10;

export class InvalidWebhookEndpointIdError extends Error {
  override readonly name = 'InvalidWebhookEndpointIdError';
}

export function newWebhookEndpointId(randomBytes: (size: number) => Uint8Array): WebhookEndpointId {
  const bytes = randomBytes(ENDPOINT_ID_BYTES);
  if (bytes.byteLength !== ENDPOINT_ID_BYTES) throw new Error(`expected ${ENDPOINT_ID_BYTES} random bytes`);
  return `wh_${Buffer.from(bytes).toString('hex')}` as WebhookEndpointId;
}

export function parseWebhookEndpointId(raw: string): WebhookEndpointId {
  if (!ENDPOINT_ID.test(raw)) {
    throw new InvalidWebhookEndpointIdError(
      `invalid webhook id ${JSON.stringify(raw.length > 40 ? `${raw.slice(0, 40)}…` : raw)}: expected "wh_" and 20 hex digits`,
    );
  }
  return raw as WebhookEndpointId;
}

/** Why an endpoint stopped receiving: the receiver said 410 Gone, or it failed past the limit. `webhooks enable` clears either. */
export type DisabledReason = 'gone' | 'failing';

export type WebhookEndpointStatus =
  | { readonly state: 'active' }
  | { readonly state: 'disabled'; readonly reason: DisabledReason; readonly sinceMs: number };

/**
 * How an endpoint has been doing since its last accepted delivery. Reset by any 2xx; the
 * failure limit (`webhook-retry-schedule.ts`) reads it to decide when to disable.
 */
export interface WebhookEndpointHealth {
  /** Failed attempts in a row, across all its deliveries. */
  readonly consecutiveFailures: number;
  /** The first failed attempt after the last success; undefined while healthy. */
  readonly failingSinceMs?: number;
  /** Deliveries that ran out of retries since the last success. */
  readonly deadLetters: number;
  readonly lastSuccessMs?: number;
}

export const HEALTHY: WebhookEndpointHealth = { consecutiveFailures: 0, deadLetters: 0 };

/** A registered receiver. Its secret is kept apart (Secrets Manager or KMS in AWS) and never part of this model. */
export interface WebhookEndpoint {
  readonly id: WebhookEndpointId;
  /** As `parseWebhookUrl` normalised it; may carry a query, so log `redactWebhookUrl(url)` instead. */
  readonly url: string;
  /** Never empty. */
  readonly events: readonly WebhookEventType[];
  /** Only these identities' events; undefined (or empty) means every identity. */
  readonly identityIds?: readonly string[];
  readonly status: WebhookEndpointStatus;
  readonly health: WebhookEndpointHealth;
}

/** What the filter needs of an event: both event kinds carry these two fields. */
export interface RoutableEvent {
  readonly type: string;
  readonly identityId: string;
}

/** The active endpoints that should get this event, in the order given. */
export function endpointsFor(event: RoutableEvent, endpoints: readonly WebhookEndpoint[]): WebhookEndpoint[] {
  return endpoints.filter(
    (endpoint) =>
      endpoint.status.state === 'active' &&
      endpoint.events.some((type) => type === event.type) &&
      (endpoint.identityIds === undefined || endpoint.identityIds.length === 0 || endpoint.identityIds.includes(event.identityId)),
  );
}

export class InvalidWebhookUrlError extends Error {
  override readonly name = 'InvalidWebhookUrlError';
}

export interface WebhookUrlPolicy {
  /** A local run (dynalite on loopback): plain http and https to this machine are allowed. Never set in the Lambda, where loopback is the runtime API. */
  readonly localRun: boolean;
}

const MAX_URL_LENGTH = 2048;

/**
 * The URL rules checked at `webhooks add` and again before every delivery:
 * - `https` only; `http` only to a loopback host (`localhost`, 127/8, `[::1]`) in a local run;
 * - no userinfo: credentials in a URL would sit in plain text in the table and in every listing,
 *   and the signature already authenticates us to the receiver;
 * - no fragment (never sent, so almost certainly a mistake);
 * - a literal IP host must pass the address policy (a name is checked when it is resolved).
 * A query is allowed (some receivers route on it) but never logged: see `redactWebhookUrl`.
 * Error messages show the redacted form only.
 */
export function parseWebhookUrl(raw: string, policy: WebhookUrlPolicy): URL {
  if (raw.length > MAX_URL_LENGTH) throw new InvalidWebhookUrlError(`a webhook URL may have at most ${MAX_URL_LENGTH} characters`);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new InvalidWebhookUrlError('the webhook URL is not an absolute URL such as https://example.com/hook');
  }
  const shown = redactWebhookUrl(url);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new InvalidWebhookUrlError(`a webhook URL must use https: ${shown}`);
  }
  if (url.username !== '' || url.password !== '') {
    throw new InvalidWebhookUrlError(`a webhook URL may not carry a user name or password: ${shown}`);
  }
  if (url.hash !== '' || raw.includes('#')) throw new InvalidWebhookUrlError(`a webhook URL may not have a #fragment: ${shown}`);
  const loopbackHost = isLoopbackHost(url.hostname);
  if (url.protocol === 'http:' && !(policy.localRun && loopbackHost)) {
    throw new InvalidWebhookUrlError(
      policy.localRun
        ? `a webhook URL must use https (plain http only to localhost in a local run): ${shown}`
        : `a webhook URL must use https: ${shown}`,
    );
  }
  if (isIpLiteral(url.hostname)) {
    const refusal = addressRefusal(url.hostname, { allowLoopback: policy.localRun });
    if (refusal !== undefined) throw new InvalidWebhookUrlError(`a webhook may not go to a ${refusal} address: ${shown}`);
  } else if (loopbackHost && !policy.localRun) {
    throw new InvalidWebhookUrlError(`a webhook may not go to a loopback address: ${shown}`);
  }
  return url;
}

/** `localhost` (with or without the trailing dot) or a plain loopback address. */
function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/\.$/, '');
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  // Plain loopback: refused as loopback, yet let through when loopback is allowed (so not ::ffff:127.0.0.1).
  return addressRefusal(hostname, { allowLoopback: false }) === 'loopback' && addressRefusal(hostname, { allowLoopback: true }) === undefined;
}

/**
 * The URL as it may appear in logs, errors and listings: origin and path, without userinfo,
 * query or fragment (a `?…` marks that a query was there). The path is kept: it is how an
 * operator tells endpoints apart, so do not put secrets in it.
 */
export function redactWebhookUrl(url: URL | string): string {
  let parsed: URL;
  try {
    parsed = typeof url === 'string' ? new URL(url) : url;
  } catch {
    return '(not a URL)';
  }
  const query = parsed.search !== '' ? '?…' : '';
  return `${parsed.protocol}//${parsed.host}${parsed.pathname}${query}`;
}
