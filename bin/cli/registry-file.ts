import { isIdentityId, parseIdentityId, type IdentityId } from '../../lambda/core/identity-id';
import type { RegistrationFields } from '../../lambda/core/model';
import { UsageError } from './io';
import { fieldsFromRecord, fieldsToRecord, REGISTRATION_KEYS } from './registration-fields';

/**
 * What `identities import` reads and `identities export` writes: CSV (`id[,label]`, RFC 4180
 * quoting, an optional header naming the columns, alert policy fields among them) or JSON lines
 * (`{"id":"…","label":"…","cooldown":"15m"}`), told apart by the first line that is not blank.
 * Line numbers count from 1, the header included.
 */
export type RegistryFormat = 'csv' | 'jsonl';

export interface ImportRecord {
  readonly line: number;
  readonly id: IdentityId;
  readonly fields: RegistrationFields;
}

export interface RefusedLine {
  readonly line: number;
  readonly reason: string;
}

export interface ParsedImport {
  readonly format: RegistryFormat;
  readonly records: readonly ImportRecord[];
  readonly refused: readonly RefusedLine[];
}

/** The columns of a CSV without a header, in this order. */
const HEADERLESS_COLUMNS = ['id', 'label'] as const;

/**
 * Every line parsed and checked; none is written here. A line that cannot be read, or names an
 * id an earlier line named, is refused with its reason. Throws UsageError for a CSV header that
 * names an unknown column (every line would be read wrong).
 */
export function parseRegistryFile(text: string): ParsedImport {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const first = lines.findIndex((line) => line.trim() !== '');
  const format: RegistryFormat = first >= 0 && lines[first]?.trimStart().startsWith('{') ? 'jsonl' : 'csv';
  const records: ImportRecord[] = [];
  const refused: RefusedLine[] = [];
  const seen = new Map<IdentityId, number>();
  let columns: readonly string[] = HEADERLESS_COLUMNS;
  lines.forEach((text, index) => {
    const line = index + 1;
    if (text.trim() === '') return;
    try {
      if (format === 'csv' && index === first && isHeader(text)) {
        columns = headerColumns(text, line);
        return;
      }
      const record = format === 'csv' ? csvRecord(text, columns) : jsonRecord(text);
      const earlier = seen.get(record.id);
      if (earlier !== undefined) throw new UsageError(`identity ${record.id} is also on line ${earlier}`);
      seen.set(record.id, line);
      records.push({ line, ...record });
    } catch (error) {
      if (!(error instanceof UsageError) || error instanceof HeaderError) throw error;
      refused.push({ line, reason: error.message });
    }
  });
  return { format, records, refused };
}

/** The registry as `parseRegistryFile` reads it back: a header and one row per identity, or one JSON object per line. */
export function formatRegistryFile(format: RegistryFormat, registrations: readonly { readonly id: IdentityId; readonly fields: RegistrationFields }[]): string {
  if (format === 'jsonl') {
    return registrations.map(({ id, fields }) => `${JSON.stringify({ id, ...fieldsToRecord(fields) })}\n`).join('');
  }
  const records = registrations.map(({ id, fields }): Record<string, string | number | boolean | undefined> => ({ id, ...fieldsToRecord(fields) }));
  // id and label always; a policy column only when some identity sets that field.
  const header = ['id', ...REGISTRATION_KEYS.filter((key) => key === 'label' || records.some((record) => record[key] !== undefined))];
  const rows = records.map((record) => header.map((column) => csvField(String(record[column] ?? ''))).join(','));
  return [header.join(','), ...rows].map((row) => `${row}\n`).join('');
}

class HeaderError extends UsageError {}

/** A first line that names an `id` column and holds no id. */
function isHeader(text: string): boolean {
  const cells = splitCsvLine(text);
  return cells.some((cell) => cell.toLowerCase() === 'id') && !cells.some(isIdentityId);
}

function headerColumns(text: string, line: number): string[] {
  const known = ['id', ...REGISTRATION_KEYS] as readonly string[];
  // Any case: `minunread` and `MinUnread` are the column `minUnread`.
  const byLowerCase = new Map(known.map((key) => [key.toLowerCase(), key]));
  const cells = splitCsvLine(text);
  const unknown = cells.find((cell) => !byLowerCase.has(cell.toLowerCase()));
  if (unknown !== undefined) throw new HeaderError(`line ${line}: unknown column ${JSON.stringify(unknown.toLowerCase())}; the columns are ${known.join(', ')}`);
  const columns = cells.map((cell) => byLowerCase.get(cell.toLowerCase()) as string);
  const repeated = columns.find((column, i) => columns.indexOf(column) !== i);
  if (repeated !== undefined) throw new HeaderError(`line ${line}: column ${JSON.stringify(repeated)} appears twice`);
  return columns;
}

function csvRecord(text: string, columns: readonly string[]): { id: IdentityId; fields: RegistrationFields } {
  const cells = splitCsvLine(text);
  if (cells.length > columns.length) {
    throw new UsageError(`expected at most ${columns.length} columns (${columns.join(',')}), found ${cells.length}; quote a label that has a comma`);
  }
  const record: Record<string, string> = {};
  columns.forEach((column, i) => {
    const cell = cells[i];
    if (cell !== undefined) record[column] = cell;
  });
  const { id, ...fields } = record;
  return { id: parseId(id ?? ''), fields: fieldsFromRecord(fields) };
}

function jsonRecord(text: string): { id: IdentityId; fields: RegistrationFields } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new UsageError('not a JSON object');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new UsageError('not a JSON object');
  const { id, ...fields } = value as Record<string, unknown>;
  if (typeof id === 'number' && !Number.isSafeInteger(id)) throw new UsageError('id is a JSON number too large to keep every digit: write it as a string');
  if (typeof id !== 'string' && typeof id !== 'number') throw new UsageError('no "id" string');
  return { id: parseId(String(id)), fields: fieldsFromRecord(fields) };
}

function parseId(raw: string): IdentityId {
  try {
    return parseIdentityId(raw);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/**
 * One CSV line's cells (RFC 4180): a cell in double quotes may hold commas and doubled quotes; a
 * cell outside quotes is trimmed. A record never spans lines here (a label has no line break).
 */
export function splitCsvLine(text: string): string[] {
  const cells: string[] = [];
  let i = 0;
  for (;;) {
    while (text[i] === ' ' || text[i] === '\t') i += 1;
    if (text[i] === '"') {
      let cell = '';
      i += 1;
      for (;;) {
        if (i >= text.length) throw new UsageError('a quoted cell is not closed');
        if (text[i] === '"') {
          if (text[i + 1] === '"') {
            cell += '"';
            i += 2;
            continue;
          }
          i += 1;
          break;
        }
        cell += text[i];
        i += 1;
      }
      while (text[i] === ' ' || text[i] === '\t') i += 1;
      if (i < text.length && text[i] !== ',') throw new UsageError('text after a closing quote');
      cells.push(cell);
    } else {
      const end = text.indexOf(',', i);
      const cell = (end < 0 ? text.slice(i) : text.slice(i, end)).trim();
      if (cell.includes('"')) throw new UsageError('a quote inside a cell that does not start with one');
      cells.push(cell);
      i = end < 0 ? text.length : end;
    }
    if (i >= text.length) return cells;
    i += 1; // the comma
  }
}

/** Quoted when it must be (a comma, a quote, a line break, or spaces at its ends that reading would trim). */
function csvField(value: string): string {
  return /[",\r\n]|^\s|\s$/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}
