import type { Secret } from '../config';

/** Where the CommBox bearer token comes from; `refresh` re-reads it once after a 401 (rotation). */
export interface TokenProvider {
  getToken(): Promise<Secret>;
  refresh(): Promise<Secret>;
}

/** A token given directly (API_TOKEN, local runs): nothing to refresh. */
export class StaticTokenProvider implements TokenProvider {
  constructor(private readonly token: Secret) {}
  getToken(): Promise<Secret> {
    return Promise.resolve(this.token);
  }
  refresh(): Promise<Secret> {
    return Promise.resolve(this.token);
  }
}
