import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
  type UpdateItemCommandInput,
} from '@aws-sdk/client-dynamodb';
import type { IdentityId } from '../core/identity-id';
import type { UnreadState, WatchedIdentity } from '../core/model';
import { canCarryRun, entriesOfWrite, withDeliveredSetAside, type KeptEntry, type OutboxEntry } from '../core/outbox';
import type { AlertToSave, AlertUpdate, ChangeToSave, CycleInput, OutboxWrite, ScanSegment, SnapshotStore, TargetedInput } from '../core/ports';
import { prunableRuns, publishedBefore } from '../core/run-receipt';
import { batchGetItems } from './dynamodb-batch-get';
import {
  ATTR,
  CYCLE_KEY_PREFIX,
  decodeCleanSince,
  decodeOpenRuns,
  decodeOrReport,
  decodeResumeFrom,
  decodeWatched,
  encodeOutbox,
  keyOf,
  type MalformedItemError,
  type PublishedTest,
  OUTBOX_FIELD,
  RESUME_KEY_PREFIX,
  RUNS_KEY,
  segmentKey,
  stateValues,
} from './dynamodb-item-codec';
import { scanIdentities } from './dynamodb-scan';

export interface DynamoDbStoreOptions {
  /**
   * Told about each item that cannot be decoded (hand-edited, or written by a broken version):
   * its key and an error naming the attribute, never the contents. The cycle goes on without it.
   */
  readonly onMalformedItem?: (key: string, error: MalformedItemError) => void;
  /** Waits between rounds of keys a BatchGetItem left unprocessed. @default a timer */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Items per Scan request. @default SCAN_PAGE_ITEMS */
  readonly scanPageSize?: number;
}

/**
 * Items per Scan request: about 140 KB of items that each keep their last published event, so a
 * page's response and what is decoded from it die young, instead of a 1 MB page's text and
 * objects waiting for a full collection and raising the function's peak memory. Scanning 10,000
 * such items on dynalite peaked about 10 MB above the start with 250 a page and 27 MB with 1 MB pages;
 * it costs 40 Scan requests instead of 6, and no read unit more than rounding.
 */
export const SCAN_PAGE_ITEMS = 250;

/** Request counters by operation, for the benchmark and metrics. */
export type OperationCounts = Record<'Scan' | 'GetItem' | 'BatchGetItem' | 'UpdateItem' | 'PutItem' | 'DeleteItem', number>;

/**
 * Snapshots, alert state and the outbox in one item per identity. One Scan (or one parallel-scan
 * segment) reads all a cycle needs; every write is conditional, so overlapping cycles cannot both
 * store (and so both publish) one change or one alert, and a removed identity is never written
 * back to life. The outbox is a map keyed by eventId: each entry is claimed, released and
 * completed on its own path; an item written before the outbox keeps its one pending change in
 * the old slot (pendingEvent, pendingId, claimUntil) until that change is completed there.
 */
export class DynamoDbSnapshotStore implements SnapshotStore {
  readonly requests: OperationCounts = { Scan: 0, GetItem: 0, BatchGetItem: 0, UpdateItem: 0, PutItem: 0, DeleteItem: 0 };

  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    private readonly options: DynamoDbStoreOptions = {},
  ) {}

  async loadCycle(segment?: ScanSegment, now?: number): Promise<CycleInput> {
    // Read before the scan, the open runs let it count, undecoded, the entries of runs closed by then.
    const openBefore = now === undefined ? undefined : await this.readOpenRuns();
    const published: PublishedTest | undefined = openBefore && now !== undefined ? (entry) => publishedBefore(entry, openBefore, now) : undefined;
    let unreadable = 0;
    const [scanned, resumeFrom] = await Promise.all([this.scanWatched(segment, published, () => (unreadable += 1)), this.readResumePoint(segment)]);
    const identities = await this.withoutDelivered(scanned);
    return { identities, ...(resumeFrom ? { resumeFrom } : {}), ...(unreadable > 0 ? { unreadable } : {}) };
  }

  /**
   * Sets aside the entries of closed runs (published; kept until the item's next write). The open
   * runs are read after the entries: a run opens before it writes its first one, so an entry read
   * whose run is not open by then was published.
   */
  private async withoutDelivered(identities: WatchedIdentity[]): Promise<WatchedIdentity[]> {
    if (!identities.some((w) => w.outbox?.some((entry) => entry.run !== undefined))) return identities;
    const open = await this.readOpenRuns();
    return identities.map((watched) => withDeliveredSetAside(watched, open));
  }

  private async readOpenRuns(): Promise<Set<string>> {
    this.requests.GetItem += 1;
    const { Item } = await this.client.send(new GetItemCommand({ TableName: this.tableName, Key: keyOf(RUNS_KEY), ConsistentRead: true }));
    return decodeOpenRuns(Item);
  }

  async openRun(run: string): Promise<readonly string[]> {
    this.requests.UpdateItem += 1;
    const { Attributes } = await this.client.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: keyOf(RUNS_KEY),
        UpdateExpression: 'ADD #open :run',
        ExpressionAttributeNames: { '#open': ATTR.openRuns },
        ExpressionAttributeValues: { ':run': { SS: [run] } },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    return [...decodeOpenRuns(Attributes)];
  }

  async closeRun(run: string): Promise<void> {
    await this.removeOpenRuns([run]);
  }

  async pruneRuns(candidates: readonly string[], totalSegments: number | undefined): Promise<void> {
    if (candidates.length === 0) return;
    const keys =
      totalSegments === undefined
        ? [segmentKey(CYCLE_KEY_PREFIX)]
        : Array.from({ length: totalSegments }, (_, segment) => segmentKey(CYCLE_KEY_PREFIX, { segment, totalSegments }));
    const items = await batchGetItems(this.client, this.tableName, keys, { onRequest: () => (this.requests.BatchGetItem += 1) });
    const prunable = prunableRuns(candidates, keys.map((key) => decodeCleanSince(items.get(key))));
    if (prunable.length > 0) await this.removeOpenRuns(prunable);
  }

  private async removeOpenRuns(runs: readonly string[]): Promise<void> {
    this.requests.UpdateItem += 1;
    await this.client.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: keyOf(RUNS_KEY),
        UpdateExpression: 'DELETE #open :runs',
        ExpressionAttributeNames: { '#open': ATTR.openRuns },
        ExpressionAttributeValues: { ':runs': { SS: [...runs] } },
      }),
    );
  }

  /** BatchGetItem by key, strongly consistent; an unreadable item is reported and left out (it is neither polled nor "not registered"). */
  async loadIdentities(ids: readonly IdentityId[]): Promise<TargetedInput> {
    const items = await batchGetItems(this.client, this.tableName, ids, {
      onRequest: () => (this.requests.BatchGetItem += 1),
      ...(this.options.sleep ? { sleep: this.options.sleep } : {}),
    });
    const identities: WatchedIdentity[] = [];
    const unregistered: IdentityId[] = [];
    for (const id of new Set(ids)) {
      const item = items.get(id);
      if (!item) {
        unregistered.push(id);
        continue;
      }
      const watched = decodeOrReport(item, decodeWatched, this.options.onMalformedItem);
      if (watched) identities.push(watched);
    }
    return { identities: await this.withoutDelivered(identities), unregistered };
  }

  private scanWatched(segment?: ScanSegment, published?: PublishedTest, onUnreadable?: () => void): Promise<WatchedIdentity[]> {
    return scanIdentities(this.client, this.tableName, {
      decode: (item) => decodeWatched(item, published),
      pageSize: this.options.scanPageSize ?? SCAN_PAGE_ITEMS,
      onMalformed: (key, error) => {
        onUnreadable?.();
        this.options.onMalformedItem?.(key, error);
      },
      onPage: () => (this.requests.Scan += 1),
      ...(segment ? { segment } : {}),
    });
  }

  private async readResumePoint(segment?: ScanSegment): Promise<IdentityId | undefined> {
    this.requests.GetItem += 1;
    const { Item } = await this.client.send(new GetItemCommand({ TableName: this.tableName, Key: keyOf(resumeKey(segment)), ConsistentRead: true }));
    // A malformed resume point is reported and the cycle starts from the beginning: every identity is still polled.
    return Item ? decodeOrReport(Item, decodeResumeFrom, this.options.onMalformedItem) : undefined;
  }

  saveBaseline(id: IdentityId, state: UnreadState, observedAt: string, alertState: string): Promise<boolean> {
    return this.update(id, {
      UpdateExpression: `SET #v = :one, #total = :total, #convs = :convs, #changed = :changedAt, #alert = :alert, #fail = :zero REMOVE #notFound`,
      ConditionExpression: `attribute_exists(#id) AND attribute_not_exists(#v)`,
      ExpressionAttributeNames: names('id', 'version', 'total', 'conversations', 'changedAt', 'alertState', 'failureStreak', 'notFound'),
      ExpressionAttributeValues: {
        ...stateValues(state),
        ':changedAt': { S: observedAt },
        ':alert': { S: alertState },
        ':one': { N: '1' },
        ':zero': { N: '0' },
      },
    });
  }

  /** Snapshot, change event, alert state and alert in one write: on the version and alert state read, with nothing pending. */
  saveChange(change: ChangeToSave): Promise<boolean> {
    const entries = entriesOfWrite(change.claimUntil, change.event, change.alert.notice, change.run);
    return this.update(change.id, {
      UpdateExpression:
        'SET #v = :next, #total = :total, #convs = :convs, #changed = :changedAt, #alert = :alert, #ob = :outbox, #fail = :zero REMOVE #notFound',
      ConditionExpression: `#v = :expected AND ${onlyDelivered(change)} AND ${alertStateIs(change.alert)}`,
      ExpressionAttributeNames: { ...names('version', 'total', 'conversations', 'changedAt', 'alertState', 'outbox', 'pendingId', 'failureStreak', 'notFound'), ...deliveredNames(change) },
      ExpressionAttributeValues: {
        ...stateValues(change.state),
        ...alertValues(change.alert),
        ':changedAt': { S: change.event.observedAt },
        ':expected': { N: String(change.expectedVersion) },
        ':next': { N: String(change.expectedVersion + 1) },
        ':outbox': encodeOutbox(entries),
        ...deliveredValues(change),
        ':zero': { N: '0' },
      },
    });
  }

  /** An alert decision alone: on the version and alert state read, with nothing pending; the alert (if any) becomes the outbox. */
  saveAlert(update: AlertToSave): Promise<boolean> {
    const outbox: Record<string, AttributeValue> = update.notice
      ? { ':outbox': encodeOutbox(entriesOfWrite(update.claimUntil, undefined, update.notice, update.run)) }
      : {};
    return this.update(update.id, {
      UpdateExpression: `SET #alert = :alert${update.notice ? ', #ob = :outbox' : ''}`,
      ConditionExpression: `#v = :version AND ${alertStateIs(update)} AND ${onlyDelivered(update)}`,
      ExpressionAttributeNames: { ...names('version', 'alertState', 'outbox', 'pendingId'), ...deliveredNames(update) },
      ExpressionAttributeValues: { ...alertValues(update), ...outbox, ':version': { N: String(update.version) }, ...deliveredValues(update) },
    });
  }

  /** One write for all the entries: each claim is a compare-and-set on the claim seen. */
  claimPending(id: IdentityId, entries: readonly OutboxEntry[], claimUntil: number, run?: string): Promise<boolean> {
    const sets: string[] = [];
    const removes: string[] = [];
    const conditions: string[] = [];
    // DynamoDB refuses names and values an expression does not use: only those of these entries.
    const entryNames: Record<string, string> = {};
    const values: Record<string, AttributeValue> = { ':claim': { N: String(claimUntil) } };
    entries.forEach((entry, i) => {
      values[`:seen${i}`] = { N: String(entry.claimUntil) };
      if (entry.kind === 'change' && entry.legacySlot) {
        Object.assign(entryNames, names('pendingId', 'claimUntil'));
        values[`:pid${i}`] = { S: entry.eventId };
        sets.push('#claim = :claim');
        conditions.push(`#pid = :pid${i} AND (#claim = :seen${i} OR attribute_not_exists(#claim))`);
      } else {
        Object.assign(entryNames, names('outbox'), { [`#e${i}`]: entry.eventId, '#eclaim': OUTBOX_FIELD.claimUntil, '#erun': OUTBOX_FIELD.run });
        sets.push(`#ob.#e${i}.#eclaim = :claim`);
        // The claimer answers for the entry now: its run's receipt, or a completion of its own.
        if (run !== undefined && canCarryRun(entry)) {
          values[':run'] = { S: run };
          sets.push(`#ob.#e${i}.#erun = :run`);
        } else {
          removes.push(`#ob.#e${i}.#erun`);
        }
        conditions.push(`#ob.#e${i}.#eclaim = :seen${i}`);
      }
    });
    if (sets.length === 0) return Promise.resolve(true);
    return this.update(id, {
      UpdateExpression: `SET ${sets.join(', ')}${removes.length > 0 ? ` REMOVE ${removes.join(', ')}` : ''}`,
      ConditionExpression: conditions.join(' AND '),
      ExpressionAttributeNames: entryNames,
      ExpressionAttributeValues: values,
    });
  }

  dropKept(id: IdentityId, entries: readonly KeptEntry[]): Promise<boolean> {
    const entryNames: Record<string, string> = { ...names('outbox'), '#erun': OUTBOX_FIELD.run };
    const values: Record<string, AttributeValue> = {};
    entries.forEach((entry, i) => {
      entryNames[`#e${i}`] = entry.eventId;
      values[`:run${i}`] = { S: entry.run };
    });
    return this.update(id, {
      UpdateExpression: `REMOVE ${entries.map((_, i) => `#ob.#e${i}`).join(', ')}`,
      // Still the published entry of that closed run: not one a later run took over since.
      ConditionExpression: entries.map((_, i) => `#ob.#e${i}.#erun = :run${i}`).join(' AND '),
      ExpressionAttributeNames: entryNames,
      ExpressionAttributeValues: values,
    });
  }

  async completePending(id: IdentityId, entry: OutboxEntry): Promise<void> {
    if (entry.kind === 'change' && entry.legacySlot) {
      await this.update(id, {
        UpdateExpression: 'REMOVE #pe, #pid, #claim',
        ConditionExpression: '#pid = :eventId',
        ExpressionAttributeNames: names('pendingEvent', 'pendingId', 'claimUntil'),
        ExpressionAttributeValues: { ':eventId': { S: entry.eventId } },
      });
      return;
    }
    await this.update(id, {
      UpdateExpression: 'REMOVE #ob.#e',
      ConditionExpression: 'attribute_exists(#ob.#e)',
      ExpressionAttributeNames: { ...names('outbox'), '#e': entry.eventId },
    });
  }

  async releasePending(id: IdentityId, entry: OutboxEntry): Promise<void> {
    if (entry.kind === 'change' && entry.legacySlot) {
      await this.update(id, {
        UpdateExpression: 'SET #claim = :zero',
        ConditionExpression: '#pid = :eventId',
        ExpressionAttributeNames: names('pendingId', 'claimUntil'),
        ExpressionAttributeValues: { ':eventId': { S: entry.eventId }, ':zero': { N: '0' } },
      });
      return;
    }
    await this.update(id, {
      // Untied from its run: the run's receipt must not publish what the publisher refused.
      UpdateExpression: 'SET #ob.#e.#eclaim = :zero REMOVE #ob.#e.#erun',
      ConditionExpression: 'attribute_exists(#ob.#e)',
      ExpressionAttributeNames: { ...names('outbox'), '#e': entry.eventId, '#eclaim': OUTBOX_FIELD.claimUntil, '#erun': OUTBOX_FIELD.run },
      ExpressionAttributeValues: { ':zero': { N: '0' } },
    });
  }

  async recordFailure(id: IdentityId, streak: number): Promise<void> {
    await this.update(id, {
      UpdateExpression: 'SET #fail = :streak',
      ConditionExpression: 'attribute_exists(#id)',
      ExpressionAttributeNames: names('id', 'failureStreak'),
      ExpressionAttributeValues: { ':streak': { N: String(streak) } },
    });
  }

  async markNotFound(id: IdentityId): Promise<void> {
    await this.update(id, {
      UpdateExpression: 'SET #notFound = :yes',
      ConditionExpression: 'attribute_exists(#id)',
      ExpressionAttributeNames: names('id', 'notFound'),
      ExpressionAttributeValues: { ':yes': { BOOL: true } },
    });
  }

  async clearFailures(id: IdentityId): Promise<void> {
    await this.update(id, {
      UpdateExpression: 'SET #fail = :zero REMOVE #notFound',
      ConditionExpression: 'attribute_exists(#id)',
      ExpressionAttributeNames: names('id', 'failureStreak', 'notFound'),
      ExpressionAttributeValues: { ':zero': { N: '0' } },
    });
  }

  async saveResumePoint(segment: ScanSegment | undefined, resumeFrom: IdentityId | undefined): Promise<void> {
    if (resumeFrom === undefined) {
      this.requests.DeleteItem += 1;
      await this.client.send(new DeleteItemCommand({ TableName: this.tableName, Key: keyOf(resumeKey(segment)) }));
      return;
    }
    // A bookkeeping item belongs whole to this writer: it is put and deleted whole.
    this.requests.PutItem += 1;
    await this.client.send(
      new PutItemCommand({ TableName: this.tableName, Item: { ...keyOf(resumeKey(segment)), [ATTR.resumeFrom]: { S: resumeFrom } } }),
    );
  }

  async recordCycleEnd(segment: ScanSegment | undefined, endedAt: string, cleanSince?: number): Promise<void> {
    // An update, not a put: a cycle that was not clean keeps the last clean one's start.
    this.requests.UpdateItem += 1;
    await this.client.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: keyOf(segmentKey(CYCLE_KEY_PREFIX, segment)),
        UpdateExpression: `SET #ended = :ended${cleanSince !== undefined ? ', #clean = :clean' : ''}`,
        ExpressionAttributeNames: { '#ended': ATTR.endedAt, ...(cleanSince !== undefined ? { '#clean': ATTR.cleanSince } : {}) },
        ExpressionAttributeValues: { ':ended': { S: endedAt }, ...(cleanSince !== undefined ? { ':clean': { N: String(cleanSince) } } : {}) },
      }),
    );
  }

  /** A conditional update; false when its condition did not hold. */
  private async update(
    id: IdentityId,
    input: Required<Pick<UpdateItemCommandInput, 'UpdateExpression' | 'ConditionExpression' | 'ExpressionAttributeNames'>> &
      Pick<UpdateItemCommandInput, 'ExpressionAttributeValues'>,
  ): Promise<boolean> {
    this.requests.UpdateItem += 1;
    try {
      await this.client.send(new UpdateItemCommand({ TableName: this.tableName, Key: keyOf(id), ...input }));
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        // Refused on a retry: the first attempt may have been applied and its answer lost, so
        // "another cycle got there first" cannot be told from "this one did". Unknown, not false.
        if ((error.$metadata.attempts ?? 1) > 1) throw new AmbiguousWriteError(id, error);
        return false;
      }
      throw error;
    }
  }
}

/** A conditional write refused on a retry of the SDK: it may have been applied by an earlier attempt. */
export class AmbiguousWriteError extends Error {
  override readonly name = 'AmbiguousWriteError';

  constructor(id: IdentityId, cause: ConditionalCheckFailedException) {
    super(`the write to identity ${id} was refused on a retry; an earlier attempt may have been applied`, { cause });
  }
}

/**
 * Nothing pending: no change in the legacy slot, and an outbox that is absent, empty (completed
 * entries leave `{}`) or holds just the entries of closed runs read (`delivered`). Entries are
 * only added with a new version or alert state, which the same condition checks, so the count
 * says they are the very entries read.
 */
function onlyDelivered(write: OutboxWrite): string {
  const kept = write.delivered ?? [];
  if (kept.length === 0) return '(attribute_not_exists(#pid) AND (attribute_not_exists(#ob) OR size(#ob) = :zero))';
  // Each still tagged with the closed run that published it: one released or taken over since the
  // read is pending again, and the write must not replace it.
  const tagged = kept.map((_, i) => `#ob.#k${i}.#krun = :krun${i}`).join(' AND ');
  return `(attribute_not_exists(#pid) AND size(#ob) = :delivered AND ${tagged})`;
}

function deliveredNames(write: OutboxWrite): Record<string, string> {
  const kept = write.delivered ?? [];
  if (kept.length === 0) return {};
  return { '#krun': OUTBOX_FIELD.run, ...Object.fromEntries(kept.map((entry, i) => [`#k${i}`, entry.eventId])) };
}

function deliveredValues(write: OutboxWrite): Record<string, AttributeValue> {
  const kept = write.delivered ?? [];
  if (kept.length === 0) return { ':zero': { N: '0' } };
  return { ':delivered': { N: String(kept.length) }, ...Object.fromEntries(kept.map((entry, i) => [`:krun${i}`, { S: entry.run }])) };
}

/** The alert state is still the one the decision started from. */
function alertStateIs(update: AlertUpdate): string {
  return update.seen === undefined ? 'attribute_not_exists(#alert)' : '#alert = :seenAlert';
}

function alertValues(update: AlertUpdate): Record<string, AttributeValue> {
  return { ':alert': { S: update.next }, ...(update.seen !== undefined ? { ':seenAlert': { S: update.seen } } : {}) };
}

function resumeKey(segment?: ScanSegment): string {
  return segmentKey(RESUME_KEY_PREFIX, segment);
}

const PLACEHOLDER: Record<keyof typeof ATTR, string> = {
  id: '#id', label: '#label', registeredAt: '#reg', version: '#v', total: '#total', conversations: '#convs',
  pendingEvent: '#pe', pendingId: '#pid', claimUntil: '#claim', failureStreak: '#fail', notFound: '#notFound', changedAt: '#changed',
  resumeFrom: '#resume', endedAt: '#ended', alertPolicy: '#policy', alertState: '#alert', outbox: '#ob', cleanSince: '#clean', openRuns: '#open',
};

function names(...keys: (keyof typeof ATTR)[]): Record<string, string> {
  return Object.fromEntries(keys.map((k) => [PLACEHOLDER[k], ATTR[k]]));
}
