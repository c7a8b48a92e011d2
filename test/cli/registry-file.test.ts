/** What `identities import` reads and `identities export` writes, without a table. */
import { UsageError } from '../../bin/cli/io';
import { formatRegistryFile, parseRegistryFile, splitCsvLine } from '../../bin/cli/registry-file';
import { parseIdentityId } from '../../lambda/core/identity-id';

const records = (text: string) => parseRegistryFile(text).records.map((r) => ({ line: r.line, id: r.id, ...r.fields }));

describe('reading CSV', () => {
  it.each([
    { name: 'ids alone', text: '558355\n558356\n', read: [{ line: 1, id: '558355' }, { line: 2, id: '558356' }] },
    { name: 'ids with labels', text: '558355,Support\n558356,Sales\n', read: [{ line: 1, id: '558355', label: 'Support' }, { line: 2, id: '558356', label: 'Sales' }] },
    { name: 'a header, counted as line 1', text: 'id,label\n558355,Support\n', read: [{ line: 2, id: '558355', label: 'Support' }] },
    { name: 'a header in another case and order', text: 'Label,ID\nSupport,558355\n', read: [{ line: 2, id: '558355', label: 'Support' }] },
    { name: 'CRLF, a byte-order mark and blank lines', text: '\uFEFFid,label\r\n\r\n7,A\r\n', read: [{ line: 3, id: '7', label: 'A' }] },
    { name: 'spaces around unquoted cells', text: ' 7 ,  Support desk \n', read: [{ line: 1, id: '7', label: 'Support desk' }] },
    { name: 'an empty label as no label', text: '7,\n8,""\n', read: [{ line: 1, id: '7' }, { line: 2, id: '8' }] },
    { name: 'a quoted label with commas and quotes', text: '7,"Support, ""EU"" desk"\n', read: [{ line: 1, id: '7', label: 'Support, "EU" desk' }] },
  ])('$name', ({ text, read }) => {
    const parsed = parseRegistryFile(text);

    expect(parsed.format).toBe('csv');
    expect(parsed.refused).toEqual([]);
    expect(records(text)).toEqual(read);
  });

  it.each([
    { name: 'a bad id', line: 'abc,Support', reason: /invalid identity id "abc"/ },
    { name: 'an id with a leading zero', line: '012', reason: /invalid identity id "012"/ },
    { name: 'too many columns', line: '7,Support,EU', reason: /expected at most 2 columns \(id,label\), found 3; quote a label that has a comma/ },
    { name: 'an unclosed quote', line: '7,"Support', reason: /a quoted cell is not closed/ },
    { name: 'a stray quote', line: '7,Sup"port', reason: /a quote inside a cell/ },
    { name: 'text after a closing quote', line: '7,"Support"x', reason: /text after a closing quote/ },
    { name: 'a label with a control character', line: '7,a\u0007b', reason: /invalid label/ },
    { name: 'a label too long', line: `7,${'x'.repeat(101)}`, reason: /invalid label: expected 1-100 printable characters/ },
  ])('refuses $name, naming the line', ({ line, reason }) => {
    const parsed = parseRegistryFile(`id,label\n5,Good\n${line}\n6\n`);

    expect(parsed.refused).toEqual([{ line: 3, reason: expect.stringMatching(reason) }]);
    expect(parsed.records.map((r) => r.line)).toEqual([2, 4]);
  });

  it('refuses an id that an earlier line named, naming that line', () => {
    expect(parseRegistryFile('7,A\n8\n7,B\n').refused).toEqual([{ line: 3, reason: 'identity 7 is also on line 1' }]);
  });

  it('refuses the whole file when its header names an unknown column', () => {
    expect(() => parseRegistryFile('id,lable\n7,A\n')).toThrow(new UsageError('line 1: unknown column "lable"; the columns are id, label, minUnread, cooldown, quietHours, timeZone, remindAfter, maxReminders, notifyCleared, snoozeUntil'));
  });
});

describe('reading JSON lines', () => {
  it('reads ids (strings, or numbers that keep every digit) and labels', () => {
    const text = '{"id":"558355","label":"Support"}\n\n{"id":7}\n{"id":"9223372036854775807","label":""}\n';

    expect(parseRegistryFile(text).format).toBe('jsonl');
    expect(records(text)).toEqual([
      { line: 1, id: '558355', label: 'Support' },
      { line: 3, id: '7' },
      { line: 4, id: '9223372036854775807' },
    ]);
  });

  it.each([
    { name: 'a line that is not JSON', line: '{"id":"7"', reason: 'not a JSON object' },
    { name: 'an array', line: '["7"]', reason: 'not a JSON object' },
    { name: 'no id', line: '{"label":"A"}', reason: 'no "id" string' },
    { name: 'a number id that lost digits', line: '{"id":9223372036854775807}', reason: 'id is a JSON number too large to keep every digit: write it as a string' },
    { name: 'an unknown field', line: '{"id":"7","lable":"A"}', reason: 'unknown field "lable"; the fields are id, label, minUnread, cooldown, quietHours, timeZone, remindAfter, maxReminders, notifyCleared, snoozeUntil' },
    { name: 'a label that is not a string', line: '{"id":"7","label":5}', reason: 'invalid label: expected a string' },
  ])('refuses $name, naming the line', ({ line, reason }) => {
    expect(parseRegistryFile(`{"id":"5"}\n${line}\n`).refused).toEqual([{ line: 2, reason }]);
  });
});

describe('writing what import reads', () => {
  const registry = [
    { id: parseIdentityId('5'), fields: {} },
    { id: parseIdentityId('558355'), fields: { label: 'Support, "EU" desk' } },
    { id: parseIdentityId('9223372036854775807'), fields: { label: 'Ünï 😀 ,' } },
  ];

  it('CSV: a header, then one row per identity, quoted where RFC 4180 needs it', () => {
    expect(formatRegistryFile('csv', registry)).toBe('id,label\n5,\n558355,"Support, ""EU"" desk"\n9223372036854775807,"Ünï 😀 ,"\n');
  });

  it('JSON lines: one object per identity, ids as strings', () => {
    expect(formatRegistryFile('jsonl', registry)).toBe(
      '{"id":"5"}\n{"id":"558355","label":"Support, \\"EU\\" desk"}\n{"id":"9223372036854775807","label":"Ünï 😀 ,"}\n',
    );
  });

  it.each(['csv', 'jsonl'] as const)('%s reads back as written', (format) => {
    const back = parseRegistryFile(formatRegistryFile(format, registry));

    expect(back.refused).toEqual([]);
    expect(back.records.map(({ id, fields }) => ({ id, fields }))).toEqual(registry);
  });
});

describe('splitCsvLine', () => {
  it.each([
    ['a,b', ['a', 'b']],
    ['a,', ['a', '']],
    ['"",""', ['', '']],
    ['"a ""b"" c" , d', ['a "b" c', 'd']],
  ])('%j → %j', (line, cells) => {
    expect(splitCsvLine(line)).toEqual(cells);
  });
});
