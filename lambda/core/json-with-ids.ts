/**
 * JSON.stringify that writes the given decimal-string id fields as JSON numbers with every digit,
 * since ids may exceed 2^53 and Node 20 has no JSON.rawJSON.
 */
export function stringifyWithNumericIds(value: unknown, idKeys: ReadonlySet<string>): string {
  return JSON.stringify(value, (key, v: unknown) =>
    idKeys.has(key) && typeof v === 'string' && /^-?[0-9]+$/.test(v) ? `\u0000${v}\u0000` : v,
  ).replace(/"\\u0000(-?[0-9]+)\\u0000"/g, '$1');
}
