import { isIdentityId, type IdentityId } from './identity-id';
import { parseJsonWithNumberText } from './json-number-text';

/** Bodies above this many bytes are refused (413) before they are decoded or parsed. */
export const REPOLL_MAX_BODY_BYTES = 64 * 1024;
/** At most this many entries (ids or webhook payloads) per request; more is refused (413). */
export const REPOLL_MAX_ENTRIES = 1000;

/**
 * CommBox's webhook examples show identity ids of the form 0xC000000000000 + n (3 * 2^50 + n)
 * where the REST API shows n. Unverified: such an id is tried as given, then as n.
 */
export const ENCODED_ID_BASE = 3n << 50n;
const ENCODED_ID_END = 4n << 50n;

/** Why an entry of a request causes no poll. Reasons only: never any other payload content. */
export type IgnoredReason =
  /** Not a canonical positive int64 decimal (string or number), or not an object where one was expected. */
  | 'malformed'
  /** A canonical id (in every form tried) that is not registered. */
  | 'unregistered'
  /** A webhook naming only a conversation (ObjectId) whose identity could not be found. */
  | 'object-only-unmapped';

export interface IgnoredEntry {
  readonly reason: IgnoredReason;
  /** The identity id as sent, when it was canonical. */
  readonly id?: string;
  /** The conversation id, for `object-only-unmapped`. */
  readonly objectId?: string;
  /** The position in `identityIds` (or in a top-level array of webhooks), 0-based. */
  readonly index?: number;
}

/** An identity named by the request: `tries` are the ids to try, in order (as given, then decoded). */
export interface IdentityEntry {
  readonly kind: 'identity';
  readonly id: IdentityId;
  readonly tries: readonly IdentityId[];
}

/** A webhook naming only a conversation; `objectId` is a canonical decimal. */
export interface ObjectEntry {
  readonly kind: 'object';
  readonly objectId: string;
}

export type RepollEntry = IdentityEntry | ObjectEntry;

export interface RepollRequest {
  readonly form: 'identity-list' | 'commbox-webhook';
  /** Distinct entries, in the order of the request. */
  readonly entries: readonly RepollEntry[];
  readonly ignored: readonly IgnoredEntry[];
}

export type RepollRequestParse =
  | { readonly ok: true; readonly request: RepollRequest }
  | { readonly ok: false; readonly status: 400 | 413; readonly reason: string };

const NAMES_NOTHING =
  'body names no identity: send {"identityIds":["558355"]} or a CommBox Object webhook carrying User.Identity.Id or ObjectId';

/**
 * Reads a re-poll request body: `{"identityIds":[…]}` (ids as strings or numbers) or a CommBox
 * webhook payload (or an array of them). Only ids are read; a reason names a shape, never a value.
 */
export function parseRepollRequest(body: Uint8Array): RepollRequestParse {
  if (body.byteLength > REPOLL_MAX_BODY_BYTES) {
    return { ok: false, status: 413, reason: `body is over ${REPOLL_MAX_BODY_BYTES / 1024} KB` };
  }
  let json: unknown;
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(body).replace(/^\uFEFF/, '');
    json = parseJsonWithNumberText(text);
  } catch {
    // The SyntaxError quotes the body: it must not travel.
    return { ok: false, status: 400, reason: 'body is not JSON' };
  }
  if (isRecord(json) && hasField(json, 'identityIds')) return parseIdentityList(field(json, 'identityIds'));
  return parseWebhooks(json);
}

/** The ids to try for an id: as given, then without the 3 * 2^50 prefix when it has it. */
export function identityCandidates(id: IdentityId): IdentityId[] {
  const n = BigInt(id);
  if (n > ENCODED_ID_BASE && n < ENCODED_ID_END) return [id, (n - ENCODED_ID_BASE).toString() as IdentityId];
  return [id];
}

function parseIdentityList(list: unknown): RepollRequestParse {
  if (!Array.isArray(list) || list.length === 0) {
    return { ok: false, status: 400, reason: 'identityIds must be a non-empty array of ids such as ["558355"]' };
  }
  if (list.length > REPOLL_MAX_ENTRIES) return tooMany();
  const collector = new EntryCollector();
  (list as unknown[]).forEach((raw, index) => {
    const id = asId(raw);
    if (id === undefined) collector.ignore({ reason: 'malformed', index });
    else collector.identity(id);
  });
  return { ok: true, request: collector.request('identity-list') };
}

function parseWebhooks(json: unknown): RepollRequestParse {
  const payloads = Array.isArray(json) ? (json as unknown[]) : [json];
  if (payloads.length > REPOLL_MAX_ENTRIES) return tooMany();
  const collector = new EntryCollector();
  payloads.forEach((payload, i) => {
    const index = Array.isArray(json) ? { index: i } : {};
    if (!isRecord(payload)) {
      if (Array.isArray(json)) collector.ignore({ reason: 'malformed', ...index });
      return;
    }
    const identity = identityIdField(payload);
    if (identity !== undefined) {
      const id = asId(identity);
      if (id === undefined) collector.ignore({ reason: 'malformed', ...index });
      else collector.identity(id);
      return;
    }
    const object = objectIdField(payload);
    if (object === undefined) {
      if (Array.isArray(json)) collector.ignore({ reason: 'malformed', ...index });
      return;
    }
    const objectId = asId(object);
    if (objectId === undefined) collector.ignore({ reason: 'malformed', ...index });
    else collector.object(objectId);
  });
  const request = collector.request('commbox-webhook');
  if (request.entries.length === 0 && request.ignored.length === 0) return { ok: false, status: 400, reason: NAMES_NOTHING };
  return { ok: true, request };
}

/** `payload.User.Identity.Id`, else `User.Identity.Id`; undefined when neither is there (null counts as absent). */
function identityIdField(payload: Record<string, unknown>): unknown {
  for (const root of [field(payload, 'payload'), payload]) {
    const id = field(field(field(root, 'User'), 'Identity'), 'Id');
    if (id !== undefined && id !== null) return id;
  }
  return undefined;
}

/** `ObjectId` at the top level, under `Event` or under `payload`. */
function objectIdField(payload: Record<string, unknown>): unknown {
  for (const root of [payload, field(payload, 'Event'), field(payload, 'payload')]) {
    const id = field(root, 'ObjectId');
    if (id !== undefined && id !== null) return id;
  }
  return undefined;
}

/** A canonical id: numbers arrive as their source text (see parseJsonWithNumberText), strings as sent. */
function asId(raw: unknown): IdentityId | undefined {
  return typeof raw === 'string' && isIdentityId(raw) ? raw : undefined;
}

/**
 * The value under `name`: the exact key, else a key equal ignoring case (`objectId`, `user`):
 * the documented payloads are PascalCase, the REST API is camelCase, and a wrong guess costs a
 * missed hint where a tolerant read costs nothing.
 */
function field(value: unknown, name: string): unknown {
  if (!isRecord(value)) return undefined;
  if (Object.hasOwn(value, name)) return value[name];
  const lower = name.toLowerCase();
  const key = Object.keys(value).find((k) => k.toLowerCase() === lower);
  return key === undefined ? undefined : value[key];
}

function hasField(value: Record<string, unknown>, name: string): boolean {
  return field(value, name) !== undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function tooMany(): RepollRequestParse {
  return { ok: false, status: 413, reason: `body names more than ${REPOLL_MAX_ENTRIES} entries` };
}

/** Collects entries once each (the first mention wins) and the ignored ones. */
class EntryCollector {
  private readonly entries: RepollEntry[] = [];
  private readonly ignored: IgnoredEntry[] = [];
  private readonly seen = new Set<string>();

  identity(id: IdentityId): void {
    if (this.once(`i${id}`)) this.entries.push({ kind: 'identity', id, tries: identityCandidates(id) });
  }

  object(objectId: string): void {
    if (this.once(`o${objectId}`)) this.entries.push({ kind: 'object', objectId });
  }

  ignore(entry: IgnoredEntry): void {
    this.ignored.push(entry);
  }

  request(form: RepollRequest['form']): RepollRequest {
    return { form, entries: this.entries, ignored: this.ignored };
  }

  private once(key: string): boolean {
    if (this.seen.has(key)) return false;
    this.seen.add(key);
    return true;
  }
}
