import fc from 'fast-check';
import { compareDecimalIds, InvalidIdentityIdError, isIdentityId, parseIdentityId } from '../../lambda/core/identity-id';

describe('parseIdentityId', () => {
  it.each([
    ['abc', 'letters'],
    ['1/../2', 'a path'],
    ['-5', 'a negative number'],
    ['-1', 'minus one'],
    ['1e3', 'an exponent'],
    ['０１２', 'full-width digits'],
    [' 12', 'a leading space'],
    ['12 ', 'a trailing space'],
    ['012', 'a leading zero'],
    ['0', 'zero'],
    ['', 'the empty string'],
    ['9223372036854775808', 'int64 max + 1'],
    ['99999999999999999999', 'twenty digits'],
    ['+7', 'a plus sign'],
    ['1.0', 'a decimal point'],
    ['0x1F', 'hexadecimal'],
    ['12\n', 'a trailing newline'],
  ])('refuses %j (%s)', (raw) => {
    // Act
    const parse = (): unknown => parseIdentityId(raw);

    // Assess
    expect(parse).toThrow(InvalidIdentityIdError);
    expect(isIdentityId(raw)).toBe(false);
  });

  it.each(['1', '558355', '9223372036854775807', '1000000000000000000'])('accepts %s unchanged, every digit kept', (raw) => {
    // Act
    const id = parseIdentityId(raw);

    // Assess
    expect(id).toBe(raw);
    expect(isIdentityId(raw)).toBe(true);
  });

  it('names the expected form in its error and shortens a long input', () => {
    // Act
    const parse = (): unknown => parseIdentityId('x'.repeat(500));

    // Assess
    expect(parse).toThrow(/expected a positive 64-bit integer/);
    expect(parse).toThrow(/^.{0,160}$/);
  });
});

describe('compareDecimalIds', () => {
  it.each([
    ['9', '10', -1],
    ['10', '9', 1],
    ['558355', '558355', 0],
    ['9223372036854775806', '9223372036854775807', -1],
  ])('orders %s against %s numerically', (a, b, sign) => {
    // Act
    const result = compareDecimalIds(a, b);

    // Assess
    expect(Math.sign(result)).toBe(sign);
  });

  it('agrees with BigInt order on any two canonical int64 ids', () => {
    const id = fc.bigInt({ min: 1n, max: 9223372036854775807n }).map(String);
    fc.assert(
      fc.property(id, id, (a, b) => {
        const expected = BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b) ? 1 : 0;
        expect(Math.sign(compareDecimalIds(a, b))).toBe(expected);
      }),
    );
  });
});
