import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { Secret } from '../config';
import { TokenUnavailableError, type TokenUnavailableReason } from '../core/errors';
import type { TokenProvider } from './token-provider';

export interface SecretsManagerTokenOptions {
  /** How long a fetched token is used before it is read again. @default 300_000 (5 minutes) */
  readonly maxAgeMs?: number;
  /**
   * A refresh asked for within this time after a refresh completed returns that refresh's token:
   * the 401s of requests sent before the refresh keep arriving just after it. A refresh after an
   * ordinary read always reads again: that token was never checked against a 401. @default 1_000
   */
  readonly minRefreshIntervalMs?: number;
  /** Epoch milliseconds. @default Date.now */
  readonly now?: () => number;
}

/**
 * JSON keys read from a JSON SecretString, in this order. A SecretString that is not a JSON
 * object is the token itself.
 */
export const TOKEN_JSON_KEYS = ['token', 'API_TOKEN'] as const;

/**
 * The CommBox token from Secrets Manager (API_TOKEN_SECRET_ID): cached for `maxAgeMs`, read again
 * by `refresh()` after a 401 in case it was rotated. Concurrent reads share one GetSecretValue.
 * Every failure to read it is a TokenUnavailableError saying what failed, with the SDK error as
 * its cause: never mistaken for CommBox refusing the token.
 */
export class SecretsManagerTokenProvider implements TokenProvider {
  private readonly maxAgeMs: number;
  private readonly minRefreshIntervalMs: number;
  private readonly now: () => number;
  private cached?: { readonly token: Secret; readonly fetchedAt: number; readonly byRefresh: boolean };
  private inFlight?: { readonly promise: Promise<Secret>; byRefresh: boolean };

  constructor(
    private readonly client: SecretsManagerClient,
    private readonly secretId: string,
    options: SecretsManagerTokenOptions = {},
  ) {
    this.maxAgeMs = options.maxAgeMs ?? 300_000;
    this.minRefreshIntervalMs = options.minRefreshIntervalMs ?? 1_000;
    this.now = options.now ?? Date.now;
  }

  getToken(): Promise<Secret> {
    if (this.cached && this.now() - this.cached.fetchedAt < this.maxAgeMs) return Promise.resolve(this.cached.token);
    return this.fetchShared(false);
  }

  refresh(): Promise<Secret> {
    const cached = this.cached;
    if (cached?.byRefresh && this.now() - cached.fetchedAt < this.minRefreshIntervalMs) return Promise.resolve(cached.token);
    return this.fetchShared(true);
  }

  /** One GetSecretValue for everyone asking while it runs; a failure is not cached. */
  private fetchShared(byRefresh: boolean): Promise<Secret> {
    if (this.inFlight) {
      // A read already under way is at least as new as the refused token: it serves the refresh too.
      this.inFlight.byRefresh ||= byRefresh;
      return this.inFlight.promise;
    }
    const inFlight: { promise: Promise<Secret>; byRefresh: boolean } = {
      byRefresh,
      promise: this.fetch(() => inFlight.byRefresh).finally(() => {
        this.inFlight = undefined;
      }),
    };
    this.inFlight = inFlight;
    return inFlight.promise;
  }

  private async fetch(byRefresh: () => boolean): Promise<Secret> {
    let secretString: string | undefined;
    try {
      const output = await this.client.send(new GetSecretValueCommand({ SecretId: this.secretId }));
      secretString = output.SecretString;
    } catch (error) {
      throw this.readError(error);
    }
    const token = new Secret(parseToken(secretString, this.secretId));
    this.cached = { token, fetchedAt: this.now(), byRefresh: byRefresh() };
    return token;
  }

  /** Only the SDK's error name and message (never the value), with what to do where it is known. */
  private readError(error: unknown): TokenUnavailableError {
    const id = this.secretId;
    const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    const [reason, what] = readFailure(error instanceof Error ? error.name : '');
    const message =
      reason === 'not-found'
        ? `${noValueMessage(id, 'was not found or has no value')} (${detail})`
        : `cannot read the CommBox token from secret ${id}: ${what} (${detail})`;
    return new TokenUnavailableError(message, reason, { cause: error });
  }
}

/**
 * Secrets Manager's error names for a secret that cannot be read, in words an operator acts on.
 * A role without kms:Decrypt gets AccessDeniedException; a key that is disabled, pending deletion
 * or whose policy refuses Secrets Manager gives DecryptionFailure.
 */
function readFailure(errorName: string): [TokenUnavailableReason, string] {
  switch (errorName) {
    case 'ResourceNotFoundException':
      return ['not-found', 'the secret or its current value does not exist'];
    case 'AccessDeniedException':
      return ['access-denied', "the function's role may not call secretsmanager:GetSecretValue on it (or kms:Decrypt on its key)"];
    case 'DecryptionFailure':
      return ['decryption', 'its KMS key refused to decrypt it: check that the key is enabled and that its policy lets Secrets Manager use it for this function'];
    default:
      return ['read-failed', 'Secrets Manager did not answer with its value'];
  }
}

/**
 * The token from a SecretString: the raw token, or a JSON object holding it under one of
 * TOKEN_JSON_KEYS. Errors describe the shape, never the content.
 */
export function parseToken(secretString: string | undefined, secretId: string): string {
  const trimmed = secretString?.trim() ?? '';
  if (trimmed === '') throw new TokenUnavailableError(noValueMessage(secretId), 'no-value');
  const token = trimmed.startsWith('{') ? tokenFromJson(trimmed, secretId) : trimmed;
  if (/[\s\u0000-\u001f\u007f]/.test(token)) {
    throw new TokenUnavailableError(`the token in secret ${secretId} contains whitespace or control characters`, 'malformed');
  }
  return token;
}

function tokenFromJson(json: string, secretId: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw new TokenUnavailableError(`secret ${secretId} starts with '{' but is not valid JSON: store the raw token or {"token":"<token>"}`, 'malformed');
  }
  if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
    for (const key of TOKEN_JSON_KEYS) {
      const value: unknown = (parsed as Record<string, unknown>)[key];
      if (typeof value === 'string' && value.trim() !== '') return value.trim();
    }
  }
  throw new TokenUnavailableError(
    `secret ${secretId} is JSON without a non-empty string under ${TOKEN_JSON_KEYS.map((k) => `"${k}"`).join(' or ')}: store the raw token or {"token":"<token>"}`,
    'malformed',
  );
}

function noValueMessage(secretId: string, problem = 'has no value'): string {
  return (
    `secret ${secretId} ${problem}: store the CommBox token with ` +
    `aws secretsmanager put-secret-value --secret-id ${secretId} --secret-string '<token>'`
  );
}
