import fc from 'fast-check';
import { parseJsonWithNumberText, quoteNumberTokens } from '../../lambda/core/json-number-text';

describe('parseJsonWithNumberText', () => {
  it('keeps every digit of an integer beyond 2^53', () => {
    // Act
    const parsed = parseJsonWithNumberText('{"Id": 3377699720580841123}');

    // Assess
    expect(parsed).toEqual({ Id: '3377699720580841123' });
  });

  it('gives every number as its source text, so 1e3 and 1000.0 stay apart from 1000', () => {
    expect(parseJsonWithNumberText('[1000, 1e3, 1000.0, -5, 0]')).toEqual(['1000', '1e3', '1000.0', '-5', '0']);
  });

  it('leaves numbers inside strings, escaped quotes included, as they are', () => {
    expect(parseJsonWithNumberText('{"a":"x\\"1\\\\", "b":2}')).toEqual({ a: 'x"1\\', b: '2' });
  });

  it('leaves true, false and null alone', () => {
    expect(parseJsonWithNumberText('[true,false,null,{"n":1}]')).toEqual([true, false, null, { n: '1' }]);
  });

  it.each(['{1:2}', '{"a":1 2}', '{"a":01}', '[1.]', '', 'not json'])('refuses %j as JSON.parse does', (text) => {
    expect(() => parseJsonWithNumberText(text)).toThrow(SyntaxError);
  });

  it('gives the same structure as JSON.parse, numbers as their text', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = JSON.stringify(value);
        const expected: unknown = JSON.parse(text, (_key, v: unknown) => (typeof v === 'number' ? String(v) : v));
        // JSON.stringify writes -0 as 0, and its number text is what String() gives back.
        expect(parseJsonWithNumberText(text)).toEqual(expected);
      }),
    );
  });

  it('quotes nothing in a text without numbers outside strings', () => {
    expect(quoteNumberTokens('{"a":"123","b":[true]}')).toBe('{"a":"123","b":[true]}');
  });
});
