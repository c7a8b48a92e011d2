import { parseWebhookSecret, type EndpointSecrets } from '../core/webhook-signature';

/**
 * How an endpoint's secrets are stored (Secrets Manager's SecretString, or the local table):
 * `{"current":"whsec_…","previous":"whsec_…","previousSignsUntil":"ISO"}`, `previous` only
 * during a rotation's overlap.
 */
export function encodeStoredSecrets(secrets: EndpointSecrets): string {
  return JSON.stringify({
    current: secrets.current,
    ...(secrets.previous ? { previous: secrets.previous.secret, previousSignsUntil: new Date(secrets.previous.signsUntilMs).toISOString() } : {}),
  });
}

/** The message names the endpoint, never a secret. */
export function decodeStoredSecrets(stored: string, id: string): EndpointSecrets {
  try {
    const parsed = JSON.parse(stored) as { current?: unknown; previous?: unknown; previousSignsUntil?: unknown };
    if (typeof parsed.current !== 'string') throw new Error('no current secret');
    const current = parseWebhookSecret(parsed.current);
    if (typeof parsed.previous !== 'string' || typeof parsed.previousSignsUntil !== 'string') return { current };
    const signsUntilMs = Date.parse(parsed.previousSignsUntil);
    if (Number.isNaN(signsUntilMs)) return { current };
    return { current, previous: { secret: parseWebhookSecret(parsed.previous), signsUntilMs } };
  } catch {
    throw new Error(`the signing secret of webhook ${id} is not readable`);
  }
}
