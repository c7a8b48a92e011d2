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
import { entriesOfWrite, type OutboxEntry } from '../core/outbox';
import type { AlertToSave, AlertUpdate, ChangeToSave, CycleInput, ScanSegment, SnapshotStore, TargetedInput } from '../core/ports';
import { batchGetItems } from './dynamodb-batch-get';
import {
  ATTR,
  CYCLE_KEY_PREFIX,
  decodeOrReport,
  decodeResumeFrom,
  decodeWatched,
  encodeOutbox,
  keyOf,
  type MalformedItemError,
  OUTBOX_FIELD,
  RESUME_KEY_PREFIX,
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
}

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

  async loadCycle(segment?: ScanSegment): Promise<CycleInput> {
    const [identities, resumeFrom] = await Promise.all([this.scanWatched(segment), this.readResumePoint(segment)]);
    return { identities, ...(resumeFrom ? { resumeFrom } : {}) };
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
    return { identities, unregistered };
  }

  private scanWatched(segment?: ScanSegment): Promise<WatchedIdentity[]> {
    return scanIdentities(this.client, this.tableName, {
      decode: decodeWatched,
      ...(this.options.onMalformedItem ? { onMalformed: this.options.onMalformedItem } : {}),
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
    const entries = entriesOfWrite(change.claimUntil, change.event, change.alert.notice);
    return this.update(change.id, {
      UpdateExpression:
        'SET #v = :next, #total = :total, #convs = :convs, #changed = :changedAt, #alert = :alert, #ob = :outbox, #fail = :zero REMOVE #notFound',
      ConditionExpression: `#v = :expected AND ${NOTHING_PENDING} AND ${alertStateIs(change.alert)}`,
      ExpressionAttributeNames: names('version', 'total', 'conversations', 'changedAt', 'alertState', 'outbox', 'pendingId', 'failureStreak', 'notFound'),
      ExpressionAttributeValues: {
        ...stateValues(change.state),
        ...alertValues(change.alert),
        ':changedAt': { S: change.event.observedAt },
        ':expected': { N: String(change.expectedVersion) },
        ':next': { N: String(change.expectedVersion + 1) },
        ':outbox': encodeOutbox(entries),
        ':zero': { N: '0' },
      },
    });
  }

  /** An alert decision alone: on the version and alert state read, with nothing pending; the alert (if any) becomes the outbox. */
  saveAlert(update: AlertToSave): Promise<boolean> {
    const outbox: Record<string, AttributeValue> = update.notice ? { ':outbox': encodeOutbox(entriesOfWrite(update.claimUntil, undefined, update.notice)) } : {};
    return this.update(update.id, {
      UpdateExpression: `SET #alert = :alert${update.notice ? ', #ob = :outbox' : ''}`,
      ConditionExpression: `#v = :version AND ${alertStateIs(update)} AND ${NOTHING_PENDING}`,
      ExpressionAttributeNames: names('version', 'alertState', 'outbox', 'pendingId'),
      ExpressionAttributeValues: { ...alertValues(update), ...outbox, ':version': { N: String(update.version) }, ':zero': { N: '0' } },
    });
  }

  /** One write for all the entries: each claim is a compare-and-set on the claim seen. */
  claimPending(id: IdentityId, entries: readonly OutboxEntry[], claimUntil: number): Promise<boolean> {
    const sets: string[] = [];
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
        Object.assign(entryNames, names('outbox'), { [`#e${i}`]: entry.eventId, '#eclaim': OUTBOX_FIELD.claimUntil });
        sets.push(`#ob.#e${i}.#eclaim = :claim`);
        conditions.push(`#ob.#e${i}.#eclaim = :seen${i}`);
      }
    });
    if (sets.length === 0) return Promise.resolve(true);
    return this.update(id, {
      UpdateExpression: `SET ${sets.join(', ')}`,
      ConditionExpression: conditions.join(' AND '),
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
      UpdateExpression: 'SET #ob.#e.#eclaim = :zero',
      ConditionExpression: 'attribute_exists(#ob.#e)',
      ExpressionAttributeNames: { ...names('outbox'), '#e': entry.eventId, '#eclaim': OUTBOX_FIELD.claimUntil },
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

  async recordCycleEnd(segment: ScanSegment | undefined, endedAt: string): Promise<void> {
    this.requests.PutItem += 1;
    await this.client.send(
      new PutItemCommand({ TableName: this.tableName, Item: { ...keyOf(segmentKey(CYCLE_KEY_PREFIX, segment)), [ATTR.endedAt]: { S: endedAt } } }),
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
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }
}

/** Nothing pending: no change in the legacy slot, and an outbox that is absent or empty (completed entries leave `{}`). */
const NOTHING_PENDING = '(attribute_not_exists(#pid) AND (attribute_not_exists(#ob) OR size(#ob) = :zero))';

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
  resumeFrom: '#resume', endedAt: '#ended', alertPolicy: '#policy', alertState: '#alert', outbox: '#ob',
};

function names(...keys: (keyof typeof ATTR)[]): Record<string, string> {
  return Object.fromEntries(keys.map((k) => [PLACEHOLDER[k], ATTR[k]]));
}
