import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { isIdentityId, type IdentityId } from '../core/identity-id';
import { TABLE_KEY } from '../env-names';
import {
  EVENT_TYPE,
  EVENT_VERSION,
  normalizeState,
  type ConversationChange,
  type ConversationUnread,
  type PendingEvent,
  type Registration,
  type UnreadChangedEvent,
  type UnreadState,
  type WatchedIdentity,
} from '../core/model';

/** Attribute names of an identity item; short because every scan reads them all. */
export const ATTR = {
  id: 'identityId',
  label: 'label',
  registeredAt: 'registeredAt',
  version: 'v',
  total: 'total',
  conversations: 'convs',
  pendingEvent: 'pendingEvent',
  pendingId: 'pendingId',
  claimUntil: 'claimUntil',
  failureStreak: 'failStreak',
  notFound: 'notFound',
  resumeFrom: 'resumeFrom',
} as const;

export const RESUME_KEY_PREFIX = TABLE_KEY.resumeKeyPrefix;

type Item = Record<string, AttributeValue>;

/**
 * Conversations as `objectId:streamId:unread` joined by ';': a tenth of the size of a DynamoDB
 * map, and a scan of 10,000 identities reads proportionally less.
 */
export function encodeConversations(conversations: readonly ConversationUnread[]): string {
  return conversations.map((c) => `${c.objectId}:${c.streamId}:${c.unread}`).join(';');
}

export function decodeConversations(encoded: string): ConversationUnread[] {
  if (encoded === '') return [];
  return encoded.split(';').map((part) => {
    const [objectId, streamId, unread] = part.split(':');
    if (!objectId || !streamId || unread === undefined || !/^\d+$/.test(unread)) {
      throw new Error(`malformed conversation entry in snapshot`);
    }
    return { objectId, streamId, unread: Number(unread) };
  });
}

export function stateValues(state: UnreadState): Item {
  return { ':total': { N: String(state.total) }, ':convs': { S: encodeConversations(state.conversations) } };
}

export class MalformedItemError extends Error {
  override readonly name = 'MalformedItemError';
}

export function readIdentityId(item: Item): string | undefined {
  return item[ATTR.id]?.S;
}

/** Turns a scanned item into the domain value the cycle needs; throws MalformedItemError. */
export function decodeWatched(item: Item): WatchedIdentity {
  const id = requireId(item);
  const version = numberAttr(item, ATTR.version);
  const snapshot =
    version === undefined
      ? undefined
      : {
          version,
          state: normalizeState(numberAttr(item, ATTR.total) ?? 0, decodeConversations(item[ATTR.conversations]?.S ?? '')),
        };
  const pending = decodePending(item);
  const label = item[ATTR.label]?.S;
  return {
    id,
    ...(label ? { label } : {}),
    ...(snapshot ? { snapshot } : {}),
    ...(pending ? { pending } : {}),
    failureStreak: numberAttr(item, ATTR.failureStreak) ?? 0,
    notFound: item[ATTR.notFound]?.BOOL === true,
  };
}

export function decodeRegistration(item: Item): Registration {
  const id = requireId(item);
  const label = item[ATTR.label]?.S;
  const total = numberAttr(item, ATTR.total);
  const version = numberAttr(item, ATTR.version);
  return {
    id,
    ...(label ? { label } : {}),
    registeredAt: item[ATTR.registeredAt]?.S ?? '',
    ...(total !== undefined ? { total } : {}),
    ...(version !== undefined ? { lastChangeVersion: version } : {}),
    failureStreak: numberAttr(item, ATTR.failureStreak) ?? 0,
    notFound: item[ATTR.notFound]?.BOOL === true,
  };
}

/** The pending event is stored as plain JSON with ids as strings, so no digit is lost. */
export function encodePendingEvent(event: UnreadChangedEvent): string {
  return JSON.stringify(event);
}

function decodePending(item: Item): PendingEvent | undefined {
  const raw = item[ATTR.pendingEvent]?.S;
  if (raw === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new MalformedItemError('pending event is not JSON');
  }
  return { event: asEvent(parsed), claimUntil: numberAttr(item, ATTR.claimUntil) ?? 0 };
}

function asEvent(value: unknown): UnreadChangedEvent {
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
  if (!ok) throw new MalformedItemError('pending event does not have the event shape');
  return value as UnreadChangedEvent;
}

function isConversationChange(value: unknown): value is ConversationChange {
  const c = value as Partial<Record<keyof ConversationChange, unknown>>;
  return typeof value === 'object' && value !== null && typeof c.objectId === 'string' && typeof c.streamId === 'string' &&
    typeof c.previous === 'number' && typeof c.current === 'number';
}

function requireId(item: Item): IdentityId {
  const raw = item[ATTR.id]?.S;
  if (raw === undefined || !isIdentityId(raw)) throw new MalformedItemError(`item key is not an identity id`);
  return raw;
}

function numberAttr(item: Item, name: string): number | undefined {
  const raw = item[name]?.N;
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 0) throw new MalformedItemError(`attribute ${name} is not a non-negative integer`);
  return n;
}
