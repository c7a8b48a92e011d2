import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  GetItemCommand,
  paginateScan,
  PutItemCommand,
  ResourceNotFoundException,
  UpdateItemCommand,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { setTimeout as delay } from 'node:timers/promises';
import { compareDecimalIds, type IdentityId } from '../core/identity-id';
import type { BrokenRegistration, CycleEnd, IdentityRecord, Registration, RegistrationFields } from '../core/model';
import { withDeliveredSetAside } from '../core/outbox';
import type { IdentityRegistry, TableSetup } from '../core/ports';
import { TABLE_KEY } from '../env-names';
import { batchGetItems } from './dynamodb-batch-get';
import {
  ATTR,
  CYCLE_KEY_PREFIX,
  decodeCycleEnd,
  decodeOpenRuns,
  decodeOrReport,
  decodeRecord,
  decodeRegistration,
  itemKey,
  keyOf,
  mergeAlertPolicy,
  registrationAttributes,
  RUNS_KEY,
  type Item,
} from './dynamodb-item-codec';
import { scanIdentities } from './dynamodb-scan';
import { ensureTable } from './dynamodb-table-setup';

export class TableMissingError extends Error {
  override readonly name = 'TableMissingError';
}

export interface DynamoDbIdentityRegistryOptions {
  /** @default the system clock */
  readonly now?: () => Date;
  /** Waits between attempts (to turn on point-in-time recovery, to read keys left unprocessed). @default a timer */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** Reads and conditional writes of one `set` of policy values before giving up on a policy that keeps changing. */
const POLICY_UPDATE_ATTEMPTS = 5;

/** The registry half of the table: what the CLI's `init` and `identities` commands change. */
export class DynamoDbIdentityRegistry implements IdentityRegistry {
  private readonly now: () => Date;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    options: DynamoDbIdentityRegistryOptions = {},
  ) {
    this.now = options.now ?? (() => new Date());
    this.sleep = options.sleep ?? ((ms) => delay(ms));
  }

  /**
   * Creates the table with the stack's key schema when it is missing; idempotent. `stack` (in
   * AWS) also gives it what the stack gives its table: deletion protection, KMS encryption under
   * the AWS managed key, point-in-time recovery. `plain` (a local run) gives the key schema only.
   * A table that exists is left as it is.
   */
  ensureReady(setup: TableSetup): Promise<'created' | 'exists'> {
    return ensureTable(
      this.client,
      {
        tableName: this.tableName,
        attributeDefinitions: [{ AttributeName: TABLE_KEY.partitionKey, AttributeType: 'S' }],
        keySchema: [{ AttributeName: TABLE_KEY.partitionKey, KeyType: 'HASH' }],
      },
      setup,
      { sleep: this.sleep },
    );
  }

  /**
   * A conditional PutItem (the key must not exist): an identity already registered keeps its
   * snapshot, pending events and fields exactly as they are.
   */
  async register(id: IdentityId, fields: RegistrationFields = {}): Promise<'added' | 'already-there'> {
    try {
      await this.guard(() =>
        this.client.send(
          new PutItemCommand({
            TableName: this.tableName,
            Item: { ...keyOf(id), [ATTR.registeredAt]: { S: this.now().toISOString() }, ...registrationAttributes(fields) },
            ConditionExpression: 'attribute_not_exists(#id)',
            ExpressionAttributeNames: { '#id': ATTR.id },
          }),
        ),
      );
      return 'added';
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return 'already-there';
      throw error;
    }
  }

  /**
   * SET of the given fields only, on the condition that the identity is registered. Alert policy
   * values are merged into the identity's stored policy: it is read, and written back on the
   * condition that it is still what was read (another `set` meanwhile makes this one read again).
   */
  async update(id: IdentityId, fields: RegistrationFields): Promise<boolean> {
    const touchesPolicy = fields.alertPolicy !== undefined || (fields.alertPolicyToDefault?.length ?? 0) > 0;
    for (let attempt = 1; ; attempt += 1) {
      let policy: { readonly seen: string | undefined; readonly next: string | undefined } | undefined;
      if (touchesPolicy) {
        const { Item } = await this.guard(() =>
          this.client.send(
            new GetItemCommand({
              TableName: this.tableName,
              Key: keyOf(id),
              ConsistentRead: true,
              ProjectionExpression: '#id, #policy',
              ExpressionAttributeNames: { '#id': ATTR.id, '#policy': ATTR.alertPolicy },
            }),
          ),
        );
        if (!Item) return false;
        const seen = Item[ATTR.alertPolicy]?.S;
        policy = { seen, next: mergeAlertPolicy(seen, fields) };
      }
      const values = Object.entries(registrationAttributes({ ...(fields.label !== undefined ? { label: fields.label } : {}) }));
      if (values.length === 0 && !policy) return (await this.registeredAmong([id])).has(id);
      const sets = values.map((_, i) => `#f${i} = :f${i}`);
      if (policy?.next !== undefined) sets.push('#policy = :policy');
      const remove = policy && policy.next === undefined ? ' REMOVE #policy' : '';
      const policyCondition = policy ? (policy.seen === undefined ? ' AND attribute_not_exists(#policy)' : ' AND #policy = :seenPolicy') : '';
      const expressionValues = {
        ...Object.fromEntries(values.map(([, value], i) => [`:f${i}`, value])),
        ...(policy?.next !== undefined ? { ':policy': { S: policy.next } } : {}),
        ...(policy?.seen !== undefined ? { ':seenPolicy': { S: policy.seen } } : {}),
      };
      try {
        await this.guard(() =>
          this.client.send(
            new UpdateItemCommand({
              TableName: this.tableName,
              Key: keyOf(id),
              UpdateExpression: `${sets.length > 0 ? `SET ${sets.join(', ')}` : ''}${remove}`.trim(),
              ConditionExpression: `attribute_exists(#id)${policyCondition}`,
              ExpressionAttributeNames: {
                '#id': ATTR.id,
                ...Object.fromEntries(values.map(([name], i) => [`#f${i}`, name])),
                ...(policy ? { '#policy': ATTR.alertPolicy } : {}),
              },
              ...(Object.keys(expressionValues).length > 0 ? { ExpressionAttributeValues: expressionValues } : {}),
            }),
          ),
        );
        return true;
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
        // Not registered (any more), or its policy changed since it was read: read again to tell.
        if (!policy || attempt >= POLICY_UPDATE_ATTEMPTS) {
          if (policy) throw new Error(`identity ${id}: its alert policy kept changing while it was being set; try again`, { cause: error });
          return false;
        }
      }
    }
  }

  async unregister(id: IdentityId): Promise<boolean> {
    const result = await this.guard(() =>
      this.client.send(new DeleteItemCommand({ TableName: this.tableName, Key: keyOf(id), ReturnValues: 'ALL_OLD' })),
    );
    return result.Attributes !== undefined;
  }

  /** BatchGetItem of the keys only, strongly consistent. */
  async registeredAmong(ids: readonly IdentityId[]): Promise<Set<IdentityId>> {
    const found = await this.guard(() => batchGetItems(this.client, this.tableName, ids, { attributes: [ATTR.id], sleep: this.sleep }));
    return new Set(ids.filter((id) => found.has(id)));
  }

  async get(id: IdentityId): Promise<IdentityRecord | undefined> {
    const { Item } = await this.guard(() => this.client.send(new GetItemCommand({ TableName: this.tableName, Key: keyOf(id), ConsistentRead: true })));
    if (!Item) return undefined;
    const record = decodeRecord(Item);
    if (!record.outbox?.some((entry) => entry.run !== undefined)) return record;
    // Entries of closed runs were published (`run-receipt.ts`): read after the item, as a cycle does.
    const runs = await this.guard(() => this.client.send(new GetItemCommand({ TableName: this.tableName, Key: keyOf(RUNS_KEY), ConsistentRead: true })));
    return withDeliveredSetAside(record, decodeOpenRuns(runs.Item));
  }

  /** Every registration in id order; an item that cannot be decoded is listed as broken, not dropped. */
  async list(): Promise<Registration[]> {
    return (await this.listing()).registrations;
  }

  async listing(): Promise<{ registrations: Registration[]; cycleEnds: CycleEnd[] }> {
    const broken: BrokenRegistration[] = [];
    const bookkeeping: Item[] = [];
    const readable = await this.guard(() =>
      scanIdentities(this.client, this.tableName, {
        decode: decodeRegistration,
        onMalformed: (key, error) => broken.push({ id: key, broken: error.message }),
        onBookkeeping: (item) => bookkeeping.push(item),
      }),
    );
    return { registrations: [...readable, ...broken].sort((a, b) => compareDecimalIds(a.id, b.id)), cycleEnds: cycleEndsOf(bookkeeping) };
  }

  /**
   * The cycle-end items have no key a reader could guess (the stack's shard count is not known
   * here), so this scans the table for them: it reads every item, and keeps only those keys.
   */
  async cycleEnds(): Promise<CycleEnd[]> {
    const found: Item[] = [];
    await this.guard(async () => {
      const pages = paginateScan(
        { client: this.client },
        {
          TableName: this.tableName,
          FilterExpression: 'begins_with(#id, :prefix)',
          ExpressionAttributeNames: { '#id': ATTR.id },
          ExpressionAttributeValues: { ':prefix': { S: CYCLE_KEY_PREFIX } },
        },
      );
      for await (const page of pages) found.push(...(page.Items ?? []));
    });
    return cycleEndsOf(found);
  }

  private async guard<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      if (error instanceof ResourceNotFoundException) {
        throw new TableMissingError(`table ${this.tableName} does not exist: run 'unread-notifier init' first`);
      }
      throw error;
    }
  }
}

/** The readable cycle-end items among bookkeeping items, latest first; an unreadable one is left out. */
function cycleEndsOf(items: readonly Item[]): CycleEnd[] {
  const ends = items
    .filter((item) => itemKey(item).startsWith(CYCLE_KEY_PREFIX))
    .flatMap((item) => decodeOrReport(item, decodeCycleEnd, undefined) ?? []);
  return ends.sort((a, b) => b.endedAt.localeCompare(a.endedAt));
}
