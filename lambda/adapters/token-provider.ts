import type { Secret } from '../config';

/**
 * Where the CommBox bearer token comes from. `refresh` re-reads it once after a 401 (a rotated
 * secret); a provider without it has nothing to re-read, so a 401 stops at once.
 */
export interface TokenProvider {
  getToken(): Promise<Secret>;
  refresh?(): Promise<Secret>;
  /** What the token is called in a refusal, such as `API_TOKEN`. @default "the API token" */
  readonly description?: string;
}

/** A token given directly (API_TOKEN, local runs): nothing to refresh. */
export class StaticTokenProvider implements TokenProvider {
  constructor(
    private readonly token: Secret,
    readonly description = 'the API token',
  ) {}
  getToken(): Promise<Secret> {
    return Promise.resolve(this.token);
  }
}
