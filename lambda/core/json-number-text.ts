/** A JSON number token: sign, integer part (no leading zeros), fraction, exponent. */
const NUMBER_TOKEN = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;

/**
 * JSON.parse, except that every number comes out as the string of its source text: ids beyond
 * 2^53 keep every digit (Node 20 cannot read a number's source text), and `1e3`, `1000.0` or
 * `-5` stay distinguishable from `1000` when an id must be a canonical decimal. Throws what
 * JSON.parse throws for text that is not JSON (a SyntaxError quoting the text: do not pass it on).
 *
 * `keepBigIdsExact` of the CommBox objects body quotes two known keys; webhook payloads carry
 * ids under other keys and in arrays, so here every number token outside a string is quoted.
 */
export function parseJsonWithNumberText(text: string): unknown {
  // Validity is decided on the text as sent: quoting would make `{1:2}` (a number as a key) valid.
  JSON.parse(text);
  return JSON.parse(quoteNumberTokens(text));
}

/** Wraps every number token outside a JSON string in quotes; everything else is copied as is. */
export function quoteNumberTokens(text: string): string {
  let out = '';
  let copiedTo = 0;
  let i = 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      i = endOfString(text, i + 1);
      continue;
    }
    if (c === 0x2d /* - */ || (c >= 0x30 && c <= 0x39)) {
      NUMBER_TOKEN.lastIndex = i;
      const match = NUMBER_TOKEN.exec(text);
      if (match !== null) {
        out += `${text.slice(copiedTo, i)}"${match[0]}"`;
        i += match[0].length;
        copiedTo = i;
        continue;
      }
    }
    i += 1;
  }
  return out + text.slice(copiedTo);
}

/** The index just after the closing quote of the string whose content starts at `from`. */
function endOfString(text: string, from: number): number {
  let i = from;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === 0x5c /* \ */) i += 2;
    else if (c === 0x22) return i + 1;
    else i += 1;
  }
  return i;
}
