import { createHash, timingSafeEqual } from 'node:crypto';

/** The endpoint's path; `/repoll/<secret>` carries the secret for senders that cannot set headers. */
export const REPOLL_PATH = '/repoll';
/** Shorter secrets are refused: the secret is the endpoint's only protection. */
export const MIN_REPOLL_SECRET_LENGTH = 16;

export class RepollSecretError extends Error {
  override readonly name = 'RepollSecretError';
}

/**
 * The valid secrets (the current one and, during a rotation, the previous one), kept only as
 * SHA-256 digests. A presented secret is compared with every valid one over fixed-length digests
 * with timingSafeEqual and no early exit, so neither its content nor its length leaks by timing.
 */
export class RepollSecrets {
  readonly #digests: readonly Buffer[];

  private constructor(digests: readonly Buffer[]) {
    this.#digests = digests;
  }

  /** Throws RepollSecretError (naming the problem, never the value) for an empty, short or whitespace-bearing secret. */
  static of(current: string, previous?: string): RepollSecrets {
    const secrets = [current, ...(previous === undefined || previous === '' ? [] : [previous])];
    secrets.forEach((secret, i) => checkSecret(secret, i === 0 ? 'current' : 'previous'));
    return new RepollSecrets(secrets.map(digest));
  }

  /** How many secrets are valid (2 during a rotation). */
  get count(): number {
    return this.#digests.length;
  }

  /** True when any presented secret equals any valid one; every pair is compared. */
  matchesAny(presented: readonly string[]): boolean {
    let match = false;
    for (const candidate of presented) {
      const d = digest(candidate);
      for (const valid of this.#digests) match = timingSafeEqual(d, valid) || match;
    }
    return match;
  }

  toString(): string {
    return '[redacted]';
  }

  toJSON(): string {
    return '[redacted]';
  }
}

export type RepollRoute = { readonly kind: 'repoll'; readonly pathSecret?: string } | { readonly kind: 'other' };

/** `/repoll` (with or without a trailing slash) or `/repoll/<secret>`; the query string is ignored. */
export function parseRepollPath(path: string): RepollRoute {
  const [pathname = ''] = path.split('?', 1);
  if (pathname === REPOLL_PATH || pathname === `${REPOLL_PATH}/`) return { kind: 'repoll' };
  if (!pathname.startsWith(`${REPOLL_PATH}/`)) return { kind: 'other' };
  const segment = pathname.slice(REPOLL_PATH.length + 1);
  if (segment.includes('/')) return { kind: 'other' };
  let pathSecret: string;
  try {
    pathSecret = decodeURIComponent(segment);
  } catch {
    return { kind: 'repoll', pathSecret: segment };
  }
  return { kind: 'repoll', pathSecret };
}

/** The secrets a request presents: `Authorization: Bearer <s>` (any header-name case) and the path secret. */
export function presentedSecrets(route: RepollRoute, headers: Readonly<Record<string, string | undefined>>): string[] {
  const presented: string[] = [];
  const authorization = header(headers, 'authorization');
  const bearer = authorization === undefined ? undefined : /^\s*Bearer\s+(\S+)\s*$/i.exec(authorization)?.[1];
  if (bearer !== undefined) presented.push(bearer);
  if (route.kind === 'repoll' && route.pathSecret !== undefined && route.pathSecret !== '') presented.push(route.pathSecret);
  return presented;
}

/**
 * The path as it may be logged: only the known first segment is kept and everything after it
 * (the secret) is masked; any other path is masked whole (a sender configured without the
 * `/repoll` prefix would put the secret first). The query string is dropped.
 */
export function redactRepollPath(path: string): string {
  const [pathname = ''] = path.split('?', 1);
  const [, first = '', ...rest] = pathname.split('/');
  if (first !== REPOLL_PATH.slice(1) && first !== 'health') return '/***';
  const tail = rest.length === 0 || (rest.length === 1 && rest[0] === '') ? '' : '/***';
  return `/${first}${tail}`;
}

/** A header by name, whatever case the transport kept. */
export function header(headers: Readonly<Record<string, string | undefined>>, name: string): string | undefined {
  const direct = headers[name];
  if (direct !== undefined) return direct;
  const key = Object.keys(headers).find((k) => k.toLowerCase() === name);
  return key === undefined ? undefined : headers[key];
}

function digest(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

function checkSecret(secret: string, which: string): void {
  if (secret.length < MIN_REPOLL_SECRET_LENGTH) {
    throw new RepollSecretError(`the ${which} re-poll secret is shorter than ${MIN_REPOLL_SECRET_LENGTH} characters`);
  }
  if (/[\s\u0000-\u001f\u007f]/.test(secret)) {
    throw new RepollSecretError(`the ${which} re-poll secret contains whitespace or control characters`);
  }
}
