import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { ALERT_EVENT_TYPE, ALERT_EVENT_VERSION, type AlertNotice, type UnreadAlertEvent } from '../core/alert-event';
import { formatAlertPolicyOverrides, type AlertPolicyOverrides } from '../core/alert-policy';
import { InvalidAlertPolicyError, parseAlertPolicyOverrides } from '../core/alert-policy-parse';
import { decodeAlertState, InvalidAlertStateError } from '../core/alert-state';
import { isIdentityId, type IdentityId } from '../core/identity-id';
import {
  EVENT_TYPE,
  EVENT_VERSION,
  normalizeState,
  type ConversationChange,
  type ConversationUnread,
  type CycleEnd,
  type IdentityRecord,
  type ReadableRegistration,
  type RegistrationFields,
  type StoredAlertState,
  type UnreadChangedEvent,
  type UnreadState,
  type WatchedIdentity,
} from '../core/model';
import { inOutboxOrder, type AlertEntry, type ChangeEntry, type KeptEntry, type OutboxEntry } from '../core/outbox';
import { TABLE_KEY } from '../env-names';

/**
 * The item format: one item per identity, keyed by its id, plus bookkeeping items under keys
 * that start with `TABLE_KEY.bookkeepingPrefix`: `#resume#<segment>` (where a cycle cut short
 * stopped) and `#cycle#<segment>` (when a cycle last ran to its end), `<segment>` being `all` or
 * `<segment>/<segments>`.
 *
 * How it grows (as alert state, policies and the multi-event outbox were added):
 * - Readers decode the attributes named in ATTR and ignore every other one, so an attribute a
 *   newer version adds never makes an item undecodable here.
 * - Writers change identity items attribute by attribute (UpdateItem with SET and REMOVE), never
 *   the whole item, so what a newer version wrote survives this one. A bookkeeping item belongs
 *   whole to its writer; new bookkeeping gets a key of its own.
 * - So a new attribute gets a new name and is optional; a known attribute keeps its type,
 *   format and meaning.
 * - A known attribute that is malformed makes the item undecodable (MalformedItemError). Its
 *   message names the attribute, never the contents: it goes to logs and to `identities list`.
 */
export const ATTR = {
  id: TABLE_KEY.partitionKey,
  label: 'label',
  registeredAt: 'registeredAt',
  version: 'v',
  total: 'total',
  conversations: 'convs',
  /** The single pending change of items written before the outbox; read as an outbox entry, never written. */
  pendingEvent: 'pendingEvent',
  pendingId: 'pendingId',
  claimUntil: 'claimUntil',
  failureStreak: 'failStreak',
  notFound: 'notFound',
  /** When the stored state was observed (ISO 8601), written with it; absent in items from before. */
  changedAt: 'changedAt',
  resumeFrom: 'resumeFrom',
  /** The identity's own alert policy values: compact JSON as the CLI flags write them (`{"cooldown":"15m"}`). */
  alertPolicy: 'alertPolicy',
  /** The alert state, encoded by `encodeAlertState` (`A1.…`). */
  alertState: 'alert',
  /**
   * Events stored and not yet published: a map from eventId to an entry map
   * `{kind: "change"|"alert", seq, body (the event or alert notice as JSON), claimUntil}`.
   */
  outbox: 'outbox',
  /** Of a `#cycle#...` item: when that cycle ran to its end (ISO 8601). */
  endedAt: 'endedAt',
  /** Of a `#cycle#...` item: when the segment's last clean cycle started (epoch ms). */
  cleanSince: 'cleanSince',
  /** Of the `#runs` item: the ids of the runs open now (a string set; absent when none). */
  openRuns: 'open',
} as const;

/** The attributes of one outbox entry's map. */
export const OUTBOX_FIELD = { kind: 'kind', seq: 'seq', body: 'body', claimUntil: 'claimUntil', run: 'run' } as const;

export const RESUME_KEY_PREFIX = TABLE_KEY.resumeKeyPrefix;
export const CYCLE_KEY_PREFIX = TABLE_KEY.cycleKeyPrefix;
export const RUNS_KEY = TABLE_KEY.runsKey;

/** The bookkeeping key of the whole table (`all`) or of one parallel-scan segment (`1/4`) under `prefix`. */
export function segmentKey(prefix: string, segment?: { readonly segment: number; readonly totalSegments: number }): string {
  return `${prefix}${segment ? `${segment.segment}/${segment.totalSegments}` : 'all'}`;
}

export type Item = Record<string, AttributeValue>;

export class MalformedItemError extends Error {
  override readonly name = 'MalformedItemError';
}

/** The key of an item as stored ('' for an item without one, which DynamoDB does not allow). */
export function itemKey(item: Item): string {
  return item[ATTR.id]?.S ?? '';
}

export function keyOf(key: string): Item {
  return { [ATTR.id]: { S: key } };
}

/** A key of bookkeeping, not of an identity: known to this version or added by a later one. */
export function isBookkeepingKey(key: string): boolean {
  return key.startsWith(TABLE_KEY.bookkeepingPrefix);
}

/**
 * Conversations as `objectId:streamId:unread` joined by ';': a tenth of the size of a DynamoDB
 * map, and a scan of 10,000 identities reads proportionally less.
 */
export function encodeConversations(conversations: readonly ConversationUnread[]): string {
  return conversations.map((c) => `${c.objectId}:${c.streamId}:${c.unread}`).join(';');
}

const CONVERSATION = /^(\d+):(\d+):(\d+)$/;

export function decodeConversations(encoded: string): ConversationUnread[] {
  if (encoded === '') return [];
  return encoded.split(';').map((part) => {
    const match = CONVERSATION.exec(part);
    if (!match) throw new MalformedItemError(`${ATTR.conversations} has an entry that is not objectId:streamId:unread`);
    return { objectId: match[1] as string, streamId: match[2] as string, unread: Number(match[3]) };
  });
}

export function stateValues(state: UnreadState): Item {
  return { ':total': { N: String(state.total) }, ':convs': { S: encodeConversations(state.conversations) } };
}

/**
 * One outbox entry as a DynamoDB map. Its body is plain JSON with ids as strings, so no digit is
 * lost: the event of a change, the whole notice of an alert (so a re-send renders the same texts).
 */
export function encodeOutboxEntry(entry: OutboxEntry): AttributeValue {
  const body = entry.kind === 'change' ? entry.event : entry.notice;
  return {
    M: {
      [OUTBOX_FIELD.kind]: { S: entry.kind },
      [OUTBOX_FIELD.seq]: { N: String(entry.seq) },
      [OUTBOX_FIELD.body]: { S: JSON.stringify(body) },
      [OUTBOX_FIELD.claimUntil]: { N: String(entry.claimUntil) },
      ...(entry.run !== undefined ? { [OUTBOX_FIELD.run]: { S: entry.run } } : {}),
    },
  };
}

/** Entries as the `outbox` attribute value, keyed by eventId. */
export function encodeOutbox(entries: readonly OutboxEntry[]): AttributeValue {
  return { M: Object.fromEntries(entries.map((entry) => [entry.eventId, encodeOutboxEntry(entry)])) };
}

/** The policy values an identity sets itself, or undefined when it sets none (the attribute is then removed). */
export function encodeAlertPolicy(overrides: AlertPolicyOverrides): string | undefined {
  const formatted = formatAlertPolicyOverrides(overrides);
  return Object.keys(formatted).length > 0 ? JSON.stringify(formatted) : undefined;
}

/**
 * The registration fields as attribute values, by attribute name: what `register` puts and
 * `update` sets. A field not given is not in the result. The alert policy is one attribute that
 * `update` merges itself (`mergeAlertPolicy`); here, it is a whole policy being registered.
 */
export function registrationAttributes(fields: RegistrationFields): Item {
  const policy = fields.alertPolicy ? encodeAlertPolicy(fields.alertPolicy) : undefined;
  return {
    ...(fields.label === undefined ? {} : { [ATTR.label]: { S: fields.label } }),
    ...(policy === undefined ? {} : { [ATTR.alertPolicy]: { S: policy } }),
  };
}

/**
 * An identity's stored policy attribute (undefined: none) with the fields of an update set and
 * the fields it returns to the defaults removed: the attribute to store, undefined to remove it.
 * Throws MalformedItemError for a stored attribute that cannot be read.
 */
export function mergeAlertPolicy(stored: string | undefined, fields: RegistrationFields): string | undefined {
  const current = stored === undefined ? {} : (decodeAlertPolicy({ [ATTR.alertPolicy]: { S: stored } }) ?? {});
  const merged: Record<string, unknown> = { ...current, ...fields.alertPolicy };
  for (const field of fields.alertPolicyToDefault ?? []) delete merged[field];
  return encodeAlertPolicy(merged);
}

/** `decode(item)`, or undefined after telling `onMalformed` why not; errors other than a malformed item propagate. */
export function decodeOrReport<T>(
  item: Item,
  decode: (item: Item) => T,
  onMalformed: ((key: string, error: MalformedItemError) => void) | undefined,
): T | undefined {
  try {
    return decode(item);
  } catch (error) {
    if (!(error instanceof MalformedItemError)) throw error;
    onMalformed?.(itemKey(item), error);
    return undefined;
  }
}

/** Turns a scanned item into the domain value the cycle needs; throws MalformedItemError. */
/**
 * `published`: told each entry's run and claim before its body is read; an entry it answers true
 * for is only counted (`delivered`), never decoded: a scan of items that each keep their last
 * published event decodes none of them.
 */
export function decodeWatched(item: Item, published?: PublishedTest): WatchedIdentity {
  return decodeIdentityItem(item, published).watched;
}

export type PublishedTest = (entry: { readonly run?: string; readonly claimUntil: number }) => boolean;

/** Turns a scanned item into what `identities list` shows; throws MalformedItemError. */
export function decodeRegistration(item: Item): ReadableRegistration {
  const { watched, registeredAt, total } = decodeIdentityItem(item);
  return {
    id: watched.id,
    ...(watched.label ? { label: watched.label } : {}),
    registeredAt: registeredAt ?? '',
    ...(total !== undefined ? { total } : {}),
    ...(watched.snapshot?.changedAt !== undefined ? { lastChangedAt: watched.snapshot.changedAt } : {}),
    ...(watched.alertPolicy ? { alertPolicy: watched.alertPolicy } : {}),
    failureStreak: watched.failureStreak,
    notFound: watched.notFound,
  };
}

/** Everything stored for one identity, for `identities show`; throws MalformedItemError. */
export function decodeRecord(item: Item): IdentityRecord {
  const { watched, registeredAt } = decodeIdentityItem(item);
  return { ...watched, registeredAt: registeredAt ?? '' };
}

const CYCLE_SEGMENT = /^(\d{1,7})\/(\d{1,7})$/;

/** The open runs of the `#runs` item (absent item or attribute: none). */
export function decodeOpenRuns(item: Item | undefined): Set<string> {
  const value = item?.[ATTR.openRuns];
  if (value === undefined) return new Set();
  if (value.SS === undefined) throw new MalformedItemError(`${ATTR.openRuns} is not a string set`);
  return new Set(value.SS);
}

/** When the segment's last clean cycle started, from its `#cycle#...` item; undefined when none is on record. */
export function decodeCleanSince(item: Item | undefined): number | undefined {
  return item ? numberAttr(item, ATTR.cleanSince) : undefined;
}

/** A `#cycle#...` bookkeeping item; throws MalformedItemError. */
export function decodeCycleEnd(item: Item): CycleEnd {
  const which = itemKey(item).slice(CYCLE_KEY_PREFIX.length);
  const endedAt = timeAttr(item, ATTR.endedAt);
  if (endedAt === undefined) throw new MalformedItemError(`${ATTR.endedAt} is not a time`);
  if (which === 'all') return { endedAt };
  const match = CYCLE_SEGMENT.exec(which);
  if (!match) throw new MalformedItemError(`${ATTR.id} names no segment`);
  return { segment: { segment: Number(match[1]), totalSegments: Number(match[2]) }, endedAt };
}

/** The resume point of a bookkeeping item; throws MalformedItemError. */
export function decodeResumeFrom(item: Item): IdentityId | undefined {
  const raw = stringAttr(item, ATTR.resumeFrom);
  if (raw !== undefined && !isIdentityId(raw)) throw new MalformedItemError(`${ATTR.resumeFrom} is not an identity id`);
  return raw;
}

/**
 * Every known attribute is checked, whichever of them the caller needs, so an item the cycle
 * skips is exactly an item `identities list` shows as broken.
 */
function decodeIdentityItem(item: Item, published?: PublishedTest): { watched: WatchedIdentity; registeredAt: string | undefined; total: number | undefined } {
  const raw = stringAttr(item, ATTR.id);
  if (raw === undefined || !isIdentityId(raw)) throw new MalformedItemError(`${ATTR.id} is not an identity id`);
  const id = raw;
  const label = stringAttr(item, ATTR.label);
  const registeredAt = stringAttr(item, ATTR.registeredAt);
  const version = numberAttr(item, ATTR.version);
  const total = numberAttr(item, ATTR.total);
  const conversations = decodeConversations(stringAttr(item, ATTR.conversations) ?? '');
  const { entries: outbox, delivered } = decodeOutbox(item, id, published);
  const failureStreak = numberAttr(item, ATTR.failureStreak) ?? 0;
  const notFound = boolAttr(item, ATTR.notFound) ?? false;
  const alertPolicy = decodeAlertPolicy(item);
  const alert = decodeStoredAlertState(item);
  const changedAt = timeAttr(item, ATTR.changedAt);
  const watched: WatchedIdentity = {
    id,
    ...(label ? { label } : {}),
    ...(version !== undefined
      ? { snapshot: { version, state: normalizeState(total ?? 0, conversations), ...(changedAt !== undefined ? { changedAt } : {}) } }
      : {}),
    ...(outbox.length > 0 ? { outbox } : {}),
    ...(delivered.length > 0 ? { delivered } : {}),
    ...(alertPolicy ? { alertPolicy } : {}),
    ...(alert ? { alert } : {}),
    failureStreak,
    notFound,
  };
  return { watched, registeredAt, total };
}

/** The outbox in publishing order: the legacy pending slot (an item written before the outbox) first, then the map's entries. */
function decodeOutbox(item: Item, id: IdentityId, published?: PublishedTest): { entries: OutboxEntry[]; delivered: KeptEntry[] } {
  const legacy = decodeLegacyPending(item, id);
  const value = item[ATTR.outbox];
  if (value === undefined) return { entries: legacy ? [legacy] : [], delivered: [] };
  if (value.M === undefined) throw new MalformedItemError(`${ATTR.outbox} is not a map`);
  const entries: OutboxEntry[] = [];
  const delivered: KeptEntry[] = [];
  for (const [eventId, entry] of Object.entries(value.M)) {
    const kept = published && entry.M ? keptEntry(eventId, entry.M) : undefined;
    if (kept && published?.(kept)) delivered.push(kept);
    else entries.push(decodeOutboxEntry(eventId, entry, id));
  }
  return { entries: inOutboxOrder(legacy ? [legacy, ...entries] : entries), delivered };
}

/** An entry's run and claim, read without its body; undefined when it has no run. */
function keptEntry(eventId: string, fields: Item): KeptEntry | undefined {
  const where = `${ATTR.outbox} entry`;
  const run = stringAttr(fields, OUTBOX_FIELD.run, where);
  return run === undefined ? undefined : { eventId, run, claimUntil: numberAttr(fields, OUTBOX_FIELD.claimUntil, where) ?? 0 };
}

function decodeOutboxEntry(eventId: string, value: AttributeValue, id: IdentityId): OutboxEntry {
  const where = `${ATTR.outbox} entry`;
  if (value.M === undefined) throw new MalformedItemError(`${where} is not a map`);
  const fields = value.M;
  const kind = stringAttr(fields, OUTBOX_FIELD.kind, where);
  const seq = numberAttr(fields, OUTBOX_FIELD.seq, where) ?? 0;
  const claimUntil = numberAttr(fields, OUTBOX_FIELD.claimUntil, where) ?? 0;
  const run = stringAttr(fields, OUTBOX_FIELD.run, where);
  const tag = run !== undefined ? { run } : {};
  const body = parseJson(stringAttr(fields, OUTBOX_FIELD.body, where), `${where} ${OUTBOX_FIELD.body}`);
  if (kind === 'change') {
    const event = asEvent(body, `${where} ${OUTBOX_FIELD.body}`);
    checkBelongs(event.identityId, event.eventId, id, eventId, where);
    return { kind, eventId, seq, claimUntil, ...tag, event } satisfies ChangeEntry;
  }
  if (kind === 'alert') {
    const notice = asAlertNotice(body, `${where} ${OUTBOX_FIELD.body}`);
    checkBelongs(notice.event.identityId, notice.event.eventId, id, eventId, where);
    return { kind, eventId, seq, claimUntil, ...tag, notice } satisfies AlertEntry;
  }
  // A kind this version cannot publish: loud, not skipped (skipping would hold the identity's outbox for ever).
  throw new MalformedItemError(`${where} has a kind this version does not know`);
}

function checkBelongs(identityId: string, eventId: string, id: IdentityId, key: string, where: string): void {
  if (identityId !== id) throw new MalformedItemError(`${where} belongs to another identity`);
  // The outbox's conditions address an entry by its key: an event under another key could never be claimed or completed.
  if (eventId !== key) throw new MalformedItemError(`${where} is not keyed by its eventId`);
}

/** The one pending change of an item written before the outbox, as an outbox entry kept where it is. */
function decodeLegacyPending(item: Item, id: IdentityId): ChangeEntry | undefined {
  const pendingId = stringAttr(item, ATTR.pendingId);
  const claimUntil = numberAttr(item, ATTR.claimUntil);
  const raw = stringAttr(item, ATTR.pendingEvent);
  if (raw === undefined) return undefined;
  const event = asEvent(parseJson(raw, ATTR.pendingEvent), ATTR.pendingEvent);
  if (event.identityId !== id) throw new MalformedItemError(`${ATTR.pendingEvent} belongs to another identity`);
  // The outbox's conditions compare pendingId: an event without its id could never be claimed or completed.
  if (pendingId !== event.eventId) throw new MalformedItemError(`${ATTR.pendingId} does not match the pending event`);
  return { kind: 'change', eventId: event.eventId, seq: 0, claimUntil: claimUntil ?? 0, event, legacySlot: true };
}

function parseJson(raw: string | undefined, where: string): unknown {
  if (raw === undefined) throw new MalformedItemError(`${where} is missing`);
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    throw new MalformedItemError(`${where} is not JSON`);
  }
}

/** Policy values are checked as the CLI checks them; a key this version does not know is ignored. */
function decodeAlertPolicy(item: Item): AlertPolicyOverrides | undefined {
  const raw = stringAttr(item, ATTR.alertPolicy);
  if (raw === undefined) return undefined;
  const parsed = parseJson(raw, ATTR.alertPolicy);
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new MalformedItemError(`${ATTR.alertPolicy} is not a JSON object`);
  try {
    return parseAlertPolicyOverrides(parsed as Record<string, unknown>);
  } catch (error) {
    if (error instanceof InvalidAlertPolicyError) throw new MalformedItemError(`${ATTR.alertPolicy} has an invalid ${error.field}`);
    throw error;
  }
}

function decodeStoredAlertState(item: Item): StoredAlertState | undefined {
  const encoded = stringAttr(item, ATTR.alertState);
  if (encoded === undefined) return undefined;
  try {
    return { state: decodeAlertState(encoded), encoded };
  } catch (error) {
    if (error instanceof InvalidAlertStateError) throw new MalformedItemError(`${ATTR.alertState} is not an alert state`);
    throw error;
  }
}

/** Checks the fields this version publishes; a field it does not know is kept and published as it is. */
function asEvent(value: unknown, where: string): UnreadChangedEvent {
  const e = value as Partial<Record<keyof UnreadChangedEvent, unknown>>;
  const ok =
    typeof value === 'object' && value !== null &&
    e.version === EVENT_VERSION && e.type === EVENT_TYPE &&
    typeof e.eventId === 'string' && typeof e.identityId === 'string' && isIdentityId(e.identityId) &&
    typeof e.previousTotal === 'number' && typeof e.total === 'number' && typeof e.delta === 'number' &&
    (e.direction === 'increased' || e.direction === 'decreased') &&
    Array.isArray(e.conversations) && typeof e.observedAt === 'string' &&
    (e.label === undefined || typeof e.label === 'string') &&
    (e.conversations as unknown[]).every(isConversationChange);
  if (!ok) throw new MalformedItemError(`${where} does not have the event's shape`);
  return value as UnreadChangedEvent;
}

/** Like `asEvent`, for an alert notice: the event plus the zone and previous alert time its texts need. */
function asAlertNotice(value: unknown, where: string): AlertNotice {
  const n = value as Partial<Record<keyof AlertNotice, unknown>>;
  const e = (typeof n?.event === 'object' && n.event !== null ? n.event : {}) as Partial<Record<keyof UnreadAlertEvent, unknown>>;
  const ok =
    typeof value === 'object' && value !== null &&
    typeof n.timeZone === 'string' && (n.lastAlertAt === undefined || typeof n.lastAlertAt === 'string') &&
    e.version === ALERT_EVENT_VERSION && e.type === ALERT_EVENT_TYPE &&
    (e.kind === 'new' || e.kind === 'digest' || e.kind === 'reminder' || e.kind === 'cleared') &&
    typeof e.eventId === 'string' && typeof e.identityId === 'string' && isIdentityId(e.identityId) &&
    typeof e.total === 'number' && typeof e.lastAlertTotal === 'number' && typeof e.changes === 'number' &&
    typeof e.waitingSince === 'string' && typeof e.observedAt === 'string' &&
    (e.label === undefined || typeof e.label === 'string') &&
    Array.isArray(e.conversations) && (e.conversations as unknown[]).every(isConversationUnread);
  if (!ok) throw new MalformedItemError(`${where} does not have the alert's shape`);
  return value as AlertNotice;
}

function isConversationUnread(value: unknown): value is ConversationUnread {
  const c = value as Partial<Record<keyof ConversationUnread, unknown>>;
  return typeof value === 'object' && value !== null && typeof c.objectId === 'string' && typeof c.streamId === 'string' && typeof c.unread === 'number';
}

function isConversationChange(value: unknown): value is ConversationChange {
  const c = value as Partial<Record<keyof ConversationChange, unknown>>;
  return typeof value === 'object' && value !== null && typeof c.objectId === 'string' && typeof c.streamId === 'string' &&
    typeof c.previous === 'number' && typeof c.current === 'number';
}

/** `where` prefixes the name in the error for an attribute inside a map. */
function stringAttr(item: Item, name: string, where?: string): string | undefined {
  const value = item[name];
  if (value === undefined) return undefined;
  if (value.S === undefined) throw new MalformedItemError(`${where ? `${where} ` : ''}${name} is not a string`);
  return value.S;
}

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/;

/** A time as this code writes it: ISO 8601 in UTC (`Date.prototype.toISOString`). */
function timeAttr(item: Item, name: string): string | undefined {
  const value = stringAttr(item, name);
  if (value !== undefined && (!ISO_TIME.test(value) || Number.isNaN(Date.parse(value)))) throw new MalformedItemError(`${name} is not a time`);
  return value;
}

function numberAttr(item: Item, name: string, where?: string): number | undefined {
  const value = item[name];
  if (value === undefined) return undefined;
  const n = value.N === undefined ? NaN : Number(value.N);
  if (!Number.isSafeInteger(n) || n < 0) throw new MalformedItemError(`${where ? `${where} ` : ''}${name} is not a non-negative integer`);
  return n;
}

function boolAttr(item: Item, name: string): boolean | undefined {
  const value = item[name];
  if (value === undefined) return undefined;
  if (value.BOOL === undefined) throw new MalformedItemError(`${name} is not a boolean`);
  return value.BOOL;
}
