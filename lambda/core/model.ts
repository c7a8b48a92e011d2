import type { AlertPolicyField, AlertPolicyOverrides } from './alert-policy';
import type { AlertState } from './alert-state';
import { compareDecimalIds, type IdentityId } from './identity-id';
import type { KeptEntry, OutboxEntry } from './outbox';

/** One conversation's unread count, as observed upstream. Ids are decimal strings. */
export interface ConversationUnread {
  readonly objectId: string;
  readonly streamId: string;
  readonly unread: number;
}

/**
 * The unread state of one identity. `conversations` holds only conversations with unread > 0,
 * sorted by objectId: a conversation at 0 and a conversation that disappeared are the same state.
 */
export interface UnreadState {
  readonly total: number;
  readonly conversations: readonly ConversationUnread[];
}

/** The last state stored for an identity; `version` grows by one with every stored change. */
export interface Snapshot {
  readonly version: number;
  readonly state: UnreadState;
  /**
   * When this state was observed: the baseline's poll, or the poll that found the last change
   * (ISO 8601). Written with the state, never by a poll that changed nothing; items stored
   * before this field existed have none.
   */
  readonly changedAt?: string;
}

export type Direction = 'increased' | 'decreased';

export interface ConversationChange {
  readonly objectId: string;
  readonly streamId: string;
  readonly previous: number;
  readonly current: number;
}

export const EVENT_TYPE = 'unread.changed';
export const EVENT_VERSION = 1;

/** The event of CONTRACT.md. Ids are decimal strings here and JSON numbers on the wire. */
export interface UnreadChangedEvent {
  readonly version: typeof EVENT_VERSION;
  readonly type: typeof EVENT_TYPE;
  readonly eventId: string;
  readonly identityId: IdentityId;
  readonly label?: string;
  readonly previousTotal: number;
  readonly total: number;
  readonly delta: number;
  readonly direction: Direction;
  readonly conversations: readonly ConversationChange[];
  readonly truncated?: true;
  readonly observedAt: string;
}

/** The alert state as stored: decoded, and the exact text read (what a conditional write compares). */
export interface StoredAlertState {
  readonly state: AlertState;
  readonly encoded: string;
}

/** A registered identity with everything a cycle needs, as one scan returns it. */
export interface WatchedIdentity {
  readonly id: IdentityId;
  readonly label?: string;
  /** Undefined until the first successful poll records a baseline. */
  readonly snapshot?: Snapshot;
  /** Events stored and not yet accepted by the publisher, in publishing order; absent when none. */
  readonly outbox?: readonly OutboxEntry[];
  /**
   * Entries beside `outbox` that a closed run already published: kept until the item's next write
   * replaces the outbox, whose condition counts them. Absent when none.
   */
  readonly delivered?: readonly KeptEntry[];
  /** The identity's own alert policy values; the stack-wide defaults fill in the rest. Absent when none. */
  readonly alertPolicy?: AlertPolicyOverrides;
  /** Absent until the first alert decision (a baseline, or the first change after alerts existed). */
  readonly alert?: StoredAlertState;
  /** Consecutive cycles in which polling this identity failed. */
  readonly failureStreak: number;
  readonly notFound: boolean;
}

/**
 * What an operator gives an identity besides its id (`identities add|set|import`, `export`):
 * its label and its own alert policy values.
 */
export interface RegistrationFields {
  /** Carried in the identity's events; 1-100 printable characters. */
  readonly label?: string;
  /**
   * Alert policy values of this identity, already checked. Registering stores them as its
   * policy; an update sets these fields and leaves its other values as they are.
   */
  readonly alertPolicy?: AlertPolicyOverrides;
  /** Fields an update returns to the stack-wide defaults (`identities set --cooldown default`). */
  readonly alertPolicyToDefault?: readonly AlertPolicyField[];
}

/** Everything stored for one identity, as `identities show` prints it. */
export interface IdentityRecord extends WatchedIdentity {
  readonly registeredAt: string;
}

/** When a cycle over the whole table (`segment` undefined) or over one parallel-scan segment last ran to its end. */
export interface CycleEnd {
  readonly segment?: { readonly segment: number; readonly totalSegments: number };
  /** ISO 8601. */
  readonly endedAt: string;
}

/** A registration as the registry lists it: readable, or broken with the reason its item cannot be read. */
export type Registration = ReadableRegistration | BrokenRegistration;

export interface ReadableRegistration {
  readonly id: IdentityId;
  readonly label?: string;
  readonly registeredAt: string;
  /** The total of the last stored snapshot; undefined until the baseline. */
  readonly total?: number;
  /** When the stored snapshot was observed (see Snapshot.changedAt). */
  readonly lastChangedAt?: string;
  /** The identity's own alert policy values (export writes them). */
  readonly alertPolicy?: AlertPolicyOverrides;
  readonly failureStreak: number;
  readonly notFound: boolean;
  readonly broken?: undefined;
}

/** An item the code cannot decode, listed so a person sees it; the poll skips it and counts it. */
export interface BrokenRegistration {
  /** The item's key as stored: not necessarily a valid identity id. */
  readonly id: string;
  /** What is wrong, naming the attribute; never the item's contents. */
  readonly broken: string;
}

/** Builds a normalized state: zero counts dropped, one entry per objectId (the last one wins), sorted. */
export function normalizeState(total: number, conversations: readonly ConversationUnread[]): UnreadState {
  const byObject = new Map<string, ConversationUnread>();
  for (const conversation of conversations) byObject.set(conversation.objectId, conversation);
  const kept = [...byObject.values()].filter((c) => c.unread > 0);
  kept.sort((a, b) => compareDecimalIds(a.objectId, b.objectId));
  return { total, conversations: kept };
}
