import {
  ConditionalCheckFailedException,
  GetItemCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import type { IdentityId } from '../core/identity-id';
import { planRepoll, pollNowThreshold, type MarkerObservation } from '../core/repoll-debounce';
import type { RepollDecision, RepollMarker } from '../core/repoll-ports';
import { TABLE_KEY } from '../env-names';

/**
 * The marker's attribute on the identity item: when the latest granted re-poll starts (epoch ms,
 * N). Nothing else reads or writes it; the marker writes nothing else, so the poll cycle's
 * conditions (`v`, `pendingId`, `claimUntil`, the key) and its writes are what they were.
 */
export const REPOLL_ATTR = { pollAt: 'rpAt' } as const;

export interface DynamoDbRepollMarkerOptions {
  /** Conditional writes per mark before giving up as collapsed (only concurrent marks of one identity retry). @default 4 */
  readonly maxAttempts?: number;
}

/** Request counters, for the benchmark and tests. */
export type MarkerRequestCounts = Record<'UpdateItem' | 'GetItem', number>;

/** How the next write is conditioned on the marker seen. */
type Expectation = { readonly kind: 'due' } | { readonly kind: 'absent' } | { readonly kind: 'equals'; readonly pollAt: number } | { readonly kind: 'unreadable' };

const NAMES = { '#id': TABLE_KEY.partitionKey, '#rpAt': REPOLL_ATTR.pollAt };

/**
 * The re-poll debounce on the identity's own item. The first write is the common case, poll now:
 * `SET rpAt = :now` if the item exists and `rpAt` is absent or at least a window old. When that
 * condition fails, the item as it was (ReturnValuesOnConditionCheckFailure = ALL_OLD) tells an
 * unregistered identity (no item) from a debounced one in the same request; only the trailing
 * poll, granted at most once per window, takes a second conditional write (`rpAt` = the seen
 * value, so two racing requests cannot both be granted it).
 *
 * DynamoDB Local and dynalite do not return the item with the failure: after a failure without
 * it, one consistent GetItem tells the two apart, and once it finds an item the marker knows
 * that the backend never returns one.
 */
export class DynamoDbRepollMarker implements RepollMarker {
  readonly requests: MarkerRequestCounts = { UpdateItem: 0, GetItem: 0 };
  private readonly maxAttempts: number;
  /** Whether a failed condition carries the item: learnt from the first failure that tells. */
  private failureCarriesItem: boolean | undefined;

  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    options: DynamoDbRepollMarkerOptions = {},
  ) {
    this.maxAttempts = options.maxAttempts ?? 4;
  }

  async mark(id: IdentityId, now: number, windowMs: number): Promise<RepollDecision> {
    let write: { expect: Expectation; pollAt: number; decision: RepollDecision } = {
      expect: { kind: 'due' },
      pollAt: now,
      decision: { decision: 'poll-now' },
    };
    for (let attempt = 1; attempt <= this.maxAttempts; attempt += 1) {
      const failed = await this.write(id, write.expect, write.pollAt, pollNowThreshold(now, windowMs));
      if (failed === undefined) return write.decision;
      const seen = await this.observe(id, failed);
      const plan = planRepoll(now, windowMs, seen.observation);
      switch (plan.decision) {
        case 'unregistered':
          return { decision: 'unregistered' };
        case 'collapsed':
          return { decision: 'collapsed' };
        case 'poll-now':
          write = { expect: seen.expect, pollAt: plan.pollAt, decision: { decision: 'poll-now' } };
          break;
        case 'poll-at-window-end':
          write = { expect: seen.expect, pollAt: plan.pollAt, decision: { decision: 'poll-at-window-end', delayMs: plan.delayMs } };
          break;
      }
    }
    // Every attempt lost a race with another request for this identity, each of which was granted a poll.
    return { decision: 'collapsed' };
  }

  /** One conditional update; undefined when it was applied, else the failure (with the old item, when the backend returns it). */
  private async write(
    id: IdentityId,
    expect: Expectation,
    pollAt: number,
    threshold: number,
  ): Promise<ConditionalCheckFailedException | undefined> {
    const condition: Record<Expectation['kind'], string> = {
      due: 'attribute_exists(#id) AND (attribute_not_exists(#rpAt) OR #rpAt <= :threshold)',
      absent: 'attribute_exists(#id) AND attribute_not_exists(#rpAt)',
      equals: 'attribute_exists(#id) AND #rpAt = :seen',
      unreadable: 'attribute_exists(#id) AND NOT attribute_type(#rpAt, :number)',
    };
    const values: Record<string, AttributeValue> = { ':pollAt': { N: String(pollAt) } };
    if (expect.kind === 'due') values[':threshold'] = { N: String(threshold) };
    if (expect.kind === 'equals') values[':seen'] = { N: String(expect.pollAt) };
    if (expect.kind === 'unreadable') values[':number'] = { S: 'N' };
    this.requests.UpdateItem += 1;
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: key(id),
          UpdateExpression: 'SET #rpAt = :pollAt',
          ConditionExpression: condition[expect.kind],
          ExpressionAttributeNames: NAMES,
          ExpressionAttributeValues: values,
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return undefined;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return error;
      throw error;
    }
  }

  /** What the failed condition saw: from the failure's item, or read when the backend does not return it. */
  private async observe(id: IdentityId, failure: ConditionalCheckFailedException): Promise<{ observation: MarkerObservation; expect: Expectation }> {
    let item = failure.Item;
    if (item !== undefined) {
      this.failureCarriesItem = true;
    } else if (this.failureCarriesItem !== true) {
      item = await this.read(id);
      if (item !== undefined) this.failureCarriesItem = false;
    }
    return observation(item);
  }

  private async read(id: IdentityId): Promise<Record<string, AttributeValue> | undefined> {
    this.requests.GetItem += 1;
    const { Item } = await this.client.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: key(id),
        ConsistentRead: true,
        ProjectionExpression: '#id, #rpAt',
        ExpressionAttributeNames: NAMES,
      }),
    );
    return Item;
  }
}

function key(id: IdentityId): Record<string, AttributeValue> {
  return { [TABLE_KEY.partitionKey]: { S: id } };
}

/** The marker on an item; a value that is not a number (hand-edited) reads as no marker and is overwritten. */
function observation(item: Record<string, AttributeValue> | undefined): { observation: MarkerObservation; expect: Expectation } {
  if (item === undefined) return { observation: { registered: false }, expect: { kind: 'absent' } };
  const raw = item[REPOLL_ATTR.pollAt];
  if (raw === undefined) return { observation: { registered: true }, expect: { kind: 'absent' } };
  const pollAt = raw.N === undefined ? NaN : Number(raw.N);
  if (!Number.isFinite(pollAt)) return { observation: { registered: true }, expect: { kind: 'unreadable' } };
  return { observation: { registered: true, pollAt }, expect: { kind: 'equals', pollAt } };
}
