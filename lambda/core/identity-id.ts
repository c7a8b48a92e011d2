/**
 * A CommBox user identity id: a positive int64 kept as its canonical decimal string, so ids
 * beyond 2^53 keep every digit from the CLI through DynamoDB to the URL and the event.
 */
export type IdentityId = string & { readonly __brand: 'IdentityId' };

const INT64_MAX = 9223372036854775807n;
const CANONICAL_DECIMAL = /^[1-9][0-9]{0,18}$/;

export class InvalidIdentityIdError extends Error {
  override readonly name = 'InvalidIdentityIdError';
}

/** Accepts only a canonical positive int64 decimal: no sign, spaces, leading zeros, exponents or non-ASCII digits. */
export function parseIdentityId(raw: string): IdentityId {
  if (!CANONICAL_DECIMAL.test(raw) || BigInt(raw) > INT64_MAX) {
    throw new InvalidIdentityIdError(
      `invalid identity id ${JSON.stringify(raw.length > 40 ? `${raw.slice(0, 40)}…` : raw)}: expected a positive 64-bit integer such as 558355`,
    );
  }
  return raw as IdentityId;
}

export function isIdentityId(raw: string): raw is IdentityId {
  return CANONICAL_DECIMAL.test(raw) && BigInt(raw) <= INT64_MAX;
}

/** Numeric order on canonical decimals without BigInt: shorter is smaller, then lexical. */
export function compareDecimalIds(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}
