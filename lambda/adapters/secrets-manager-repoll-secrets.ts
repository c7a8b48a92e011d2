import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { RepollSecretError, RepollSecrets } from '../core/repoll-auth';
import type { RepollSecretSource } from '../core/repoll-ports';

export interface SecretsManagerRepollSecretsOptions {
  /** How long the secrets read are used before they are read again. @default 60_000 */
  readonly maxAgeMs?: number;
  /** A wrong secret re-reads the secret (a rotation may just have happened), at most this often. @default 10_000 */
  readonly minRefreshIntervalMs?: number;
  /** Epoch milliseconds. @default Date.now */
  readonly now?: () => number;
}

/**
 * The re-poll endpoint's secrets from Secrets Manager: a JSON SecretString
 * `{"current":"…","previous":"…"}` (`previous` optional, valid alongside `current` during a
 * rotation) or a plain string (the one secret). Cached for `maxAgeMs`; concurrent reads share
 * one GetSecretValue; a failed read is not cached.
 */
export class SecretsManagerRepollSecrets implements RepollSecretSource {
  private readonly maxAgeMs: number;
  private readonly minRefreshIntervalMs: number;
  private readonly now: () => number;
  private cached?: { readonly secrets: RepollSecrets; readonly fetchedAt: number };
  private inFlight?: Promise<RepollSecrets>;

  constructor(
    private readonly client: SecretsManagerClient,
    private readonly secretId: string,
    options: SecretsManagerRepollSecretsOptions = {},
  ) {
    this.maxAgeMs = options.maxAgeMs ?? 60_000;
    this.minRefreshIntervalMs = options.minRefreshIntervalMs ?? 10_000;
    this.now = options.now ?? Date.now;
  }

  get(): Promise<RepollSecrets> {
    if (this.cached && this.now() - this.cached.fetchedAt < this.maxAgeMs) return Promise.resolve(this.cached.secrets);
    return this.fetchShared();
  }

  /** Re-reads unless the last read is younger than `minRefreshIntervalMs`: wrong secrets cannot hammer Secrets Manager. */
  refresh(): Promise<RepollSecrets> {
    if (this.cached && this.now() - this.cached.fetchedAt < this.minRefreshIntervalMs) return Promise.resolve(this.cached.secrets);
    return this.fetchShared();
  }

  private fetchShared(): Promise<RepollSecrets> {
    this.inFlight ??= this.fetch().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  private async fetch(): Promise<RepollSecrets> {
    let secretString: string | undefined;
    try {
      secretString = (await this.client.send(new GetSecretValueCommand({ SecretId: this.secretId }))).SecretString;
    } catch (error) {
      const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      throw new RepollSecretError(`cannot read the re-poll secret ${this.secretId}: ${detail}`, { cause: error });
    }
    const secrets = parseRepollSecretString(secretString, this.secretId);
    this.cached = { secrets, fetchedAt: this.now() };
    return secrets;
  }
}

/** The secrets of a SecretString; errors describe the shape, never the content. */
export function parseRepollSecretString(secretString: string | undefined, secretId: string): RepollSecrets {
  const trimmed = secretString?.trim() ?? '';
  if (trimmed === '') throw new RepollSecretError(`secret ${secretId} has no value`);
  if (!trimmed.startsWith('{')) return withId(() => RepollSecrets.of(trimmed), secretId);
  let parsed: unknown;
  try {
    parsed = JSON.parse(trimmed);
  } catch {
    throw new RepollSecretError(`secret ${secretId} starts with '{' but is not valid JSON: store {"current":"…","previous":"…"} or the plain secret`);
  }
  const { current, previous } = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as { current?: unknown; previous?: unknown };
  if (typeof current !== 'string' || (previous !== undefined && previous !== null && typeof previous !== 'string')) {
    throw new RepollSecretError(`secret ${secretId} must hold {"current":"<secret>"} and optionally "previous":"<secret>" as strings`);
  }
  return withId(() => RepollSecrets.of(current.trim(), typeof previous === 'string' ? previous.trim() : undefined), secretId);
}

function withId(make: () => RepollSecrets, secretId: string): RepollSecrets {
  try {
    return make();
  } catch (error) {
    if (error instanceof RepollSecretError) throw new RepollSecretError(`secret ${secretId}: ${error.message}`);
    throw error;
  }
}
