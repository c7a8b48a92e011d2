import type { AlertNotice, UnreadAlertEvent } from './alert-event';
import { buildAlertPublication } from './alert-publication';
import type { UnreadChangedEvent } from './model';
import { buildPublication, type Publication } from './publication';

/**
 * An identity's outbox: the events stored with its item and not yet accepted by the publisher.
 * A change and the alert it caused are stored in one write and are pending at once; each has its
 * own id and its own claim, is completed on its own, and goes out in `seq` order.
 *
 * A cycle adds entries only to an empty outbox (an identity with pending entries only gets them
 * sent again), so `seq` orders the entries of one write: the change before its alert.
 */
export type OutboxEntry = ChangeEntry | AlertEntry;

interface EntryBase {
  readonly eventId: string;
  /** Order among the entries pending at once: lower first. */
  readonly seq: number;
  /** Epoch ms until which the cycle that wrote or claimed it owns its publication (0: released). */
  readonly claimUntil: number;
}

export interface ChangeEntry extends EntryBase {
  readonly kind: 'change';
  readonly event: UnreadChangedEvent;
  /**
   * Kept in the single pending slot of items written before the outbox existed
   * (pendingEvent, pendingId, claimUntil); the store completes and claims it there.
   */
  readonly legacySlot?: true;
}

export interface AlertEntry extends EntryBase {
  readonly kind: 'alert';
  /** The whole notice (event, zone, previous alert time), so a re-send renders the same texts. */
  readonly notice: AlertNotice;
}

/** The event an entry publishes, for logs and observers. */
export type OutboxEvent = UnreadChangedEvent | UnreadAlertEvent;

export function changeEntry(event: UnreadChangedEvent, seq: number, claimUntil: number): ChangeEntry {
  return { kind: 'change', eventId: event.eventId, seq, claimUntil, event };
}

export function alertEntry(notice: AlertNotice, seq: number, claimUntil: number): AlertEntry {
  return { kind: 'alert', eventId: notice.event.eventId, seq, claimUntil, notice };
}

/**
 * The entries one write adds to an empty outbox: the change (if any), then its alert (if any).
 * The store writes them and the cycle queues them, so both number them here.
 */
export function entriesOfWrite(claimUntil: number, change: UnreadChangedEvent | undefined, notice: AlertNotice | undefined): OutboxEntry[] {
  const entries: OutboxEntry[] = [];
  if (change) entries.push(changeEntry(change, entries.length + 1, claimUntil));
  if (notice) entries.push(alertEntry(notice, entries.length + 1, claimUntil));
  return entries;
}

export function eventOf(entry: OutboxEntry): OutboxEvent {
  return entry.kind === 'change' ? entry.event : entry.notice.event;
}

/** The entry as the publisher sends it: the same rendering as when it was first stored. */
export function publicationOf(entry: OutboxEntry): Publication {
  return entry.kind === 'change' ? buildPublication(entry.event) : buildAlertPublication(entry.notice);
}

/** In publishing order: by `seq`, then by id so the order never depends on how they were read. */
export function inOutboxOrder(entries: readonly OutboxEntry[]): OutboxEntry[] {
  return [...entries].sort((a, b) => a.seq - b.seq || (a.eventId < b.eventId ? -1 : a.eventId > b.eventId ? 1 : 0));
}
