/** A JSON number: no leading zeros, so an id like "007" stays a string instead of making invalid JSON. */
const JSON_INTEGER = /^-?(0|[1-9][0-9]*)$/;

/**
 * JSON.stringify that writes the given decimal-string id fields as JSON numbers with every digit,
 * since ids may exceed 2^53 and Node 20 has no JSON.rawJSON.
 *
 * Ids are wrapped in a marker of NUL characters and unwrapped after stringify. The marker is made
 * longer until no other string or key contains it, so a label such as "\u000012\u0000" stays a string.
 */
export function stringifyWithNumericIds(value: unknown, idKeys: ReadonlySet<string>): string {
  for (let marker = '\u0000'; ; marker += '\u0000') {
    let clash = false;
    const json = JSON.stringify(value, (key, v: unknown) => {
      if (key.includes(marker)) clash = true;
      if (typeof v !== 'string') return v;
      if (idKeys.has(key) && JSON_INTEGER.test(v)) return `${marker}${v}${marker}`;
      if (v.includes(marker)) clash = true;
      return v;
    });
    if (!clash) {
      const escaped = '\\\\u0000'.repeat(marker.length);
      return json.replace(new RegExp(`"${escaped}(-?[0-9]+)${escaped}"`, 'g'), '$1');
    }
  }
}
