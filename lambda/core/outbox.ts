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
  /**
   * The run that wrote or claimed it and answers for it with one receipt (closing the run) instead
   * of a write per published entry; absent when the entry is completed on its own (`completePending`).
   */
  readonly run?: string;
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

export function changeEntry(event: UnreadChangedEvent, seq: number, claimUntil: number, run?: string): ChangeEntry {
  return { kind: 'change', eventId: event.eventId, seq, claimUntil, ...(run ? { run } : {}), event };
}

export function alertEntry(notice: AlertNotice, seq: number, claimUntil: number, run?: string): AlertEntry {
  return { kind: 'alert', eventId: notice.event.eventId, seq, claimUntil, ...(run ? { run } : {}), notice };
}

/**
 * The entries one write adds to an empty outbox: the change (if any), then its alert (if any).
 * The store writes them and the cycle queues them, so both number them here.
 */
export function entriesOfWrite(claimUntil: number, change: UnreadChangedEvent | undefined, notice: AlertNotice | undefined, run?: string): OutboxEntry[] {
  const entries: OutboxEntry[] = [];
  if (change) entries.push(changeEntry(change, entries.length + 1, claimUntil, run));
  if (notice) entries.push(alertEntry(notice, entries.length + 1, claimUntil, run));
  return entries;
}

/** The legacy pending slot (an item from before the outbox) has no room for a run: it is completed on its own. */
export function canCarryRun(entry: OutboxEntry): boolean {
  return !(entry.kind === 'change' && entry.legacySlot);
}

/** The entry as the run answering for it now holds it: tagged with `run`, or untagged (completed on its own). */
export function withRun<T extends OutboxEntry>(entry: T, run: string | undefined): T {
  const copy: T = { ...entry };
  delete (copy as { run?: string }).run;
  return run !== undefined && canCarryRun(entry) ? { ...copy, run } : copy;
}

/**
 * The outbox as a cycle sees it: an entry whose run has closed was published by that run (a run
 * closes only when every entry it answers for was accepted, or released and so untagged) and is
 * only kept until the item's next write replaces the outbox. Every other entry is pending. `open`
 * must be read after the entries were: a run is open before it writes its first entry.
 */
export function pendingOf(entries: readonly OutboxEntry[], open: ReadonlySet<string>): { pending: OutboxEntry[]; delivered: KeptEntry[] } {
  const pending: OutboxEntry[] = [];
  const delivered: KeptEntry[] = [];
  for (const entry of entries) {
    if (entry.run === undefined || open.has(entry.run)) pending.push(entry);
    else delivered.push({ eventId: entry.eventId, run: entry.run, claimUntil: entry.claimUntil });
  }
  return { pending, delivered };
}

/**
 * An identity as a cycle reads it: its outbox split by `pendingOf`, the entries of closed runs
 * added to those already set aside (`delivered`).
 */
export function withDeliveredSetAside<T extends { readonly outbox?: readonly OutboxEntry[]; readonly delivered?: readonly KeptEntry[] }>(
  watched: T,
  open: ReadonlySet<string>,
): T {
  if (!watched.outbox) return watched;
  const { outbox, delivered: already = [], ...rest } = watched;
  const { pending, delivered } = pendingOf(outbox, open);
  const kept = [...already, ...delivered];
  return { ...rest, ...(pending.length > 0 ? { outbox: pending } : {}), ...(kept.length > 0 ? { delivered: kept } : {}) } as T;
}

/** An entry a closed run published, kept in its item: what it takes to remove it, not its event. */
export interface KeptEntry {
  readonly eventId: string;
  readonly run: string;
  readonly claimUntil: number;
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
