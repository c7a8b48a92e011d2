/**
 * parseIdentityId accepts exactly the canonical decimals of 1..2^63-1, over arbitrary text.
 */
import fc from 'fast-check';
import { InvalidIdentityIdError, isIdentityId, parseIdentityId } from '../../lambda/core/identity-id';

const INT64_MAX = 2n ** 63n - 1n;

/** The reference: what a canonical positive int64 is, said another way. */
function canonical(raw: string): boolean {
  if (!/^[0-9]+$/.test(raw)) return false;
  const n = BigInt(raw);
  return n >= 1n && n <= INT64_MAX && String(n) === raw;
}

const text = fc.oneof(
  fc.string(),
  fc.string({ unit: 'grapheme' }),
  fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map(String),
  fc.tuple(fc.constantFrom('', '0', '00', ' ', '+', '-', '\u0660', '１'), fc.bigInt({ min: 0n, max: 2n ** 64n }).map(String), fc.constantFrom('', ' ', '\n', 'e3', '/..', '.0')).map((parts) => parts.join('')),
);

describe('parseIdentityId', () => {
  test('accepts every integer from 1 to 2^63-1 written canonically, and returns it unchanged', () => {
    fc.assert(fc.property(fc.bigInt({ min: 1n, max: INT64_MAX }), (n) => expect(parseIdentityId(String(n))).toBe(String(n))));
  });

  test('accepts a text exactly when it is a canonical positive int64; refuses anything else with InvalidIdentityIdError', () => {
    fc.assert(
      fc.property(text, (raw) => {
        expect(isIdentityId(raw)).toBe(canonical(raw));
        if (canonical(raw)) expect(parseIdentityId(raw)).toBe(raw);
        else expect(() => parseIdentityId(raw)).toThrow(InvalidIdentityIdError);
      }),
      { numRuns: 2000 },
    );
  });
});
