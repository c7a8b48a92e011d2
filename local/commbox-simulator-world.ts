import { normalizeState, type UnreadState } from '../lambda/core/model';
import { hashSeed, mulberry32, pick, randomInt, sampleIndices, type Random } from './seeded-random';

/** A conversation to create; ids are assigned when omitted. */
export interface ConversationSeed {
  readonly objectId?: string | number;
  readonly streamId?: string | number;
  readonly unread: number;
}

export interface SimConversation {
  readonly objectId: string;
  readonly streamId: string;
  unread: number;
  /** Minutes after the simulator's fixed epoch; makes the timestamps of the payload. */
  readonly createdMinute: number;
}

export interface SimIdentity {
  readonly id: string;
  readonly conversations: Map<string, SimConversation>;
}

/** The fake customer behind an identity, as the payload carries it; tests check none of it leaks. */
export interface CustomerData {
  readonly firstName: string;
  readonly lastName: string;
  readonly phone1: string;
  readonly email: string;
  readonly messages: readonly string[];
}

export interface PopulateOptions {
  /** @default 1000001 */
  readonly firstId?: string | number | bigint;
  /** Each identity gets 0..maxConversations conversations. @default 3 */
  readonly maxConversations?: number;
  /** Chance that a conversation starts with unread messages. @default 0.5 */
  readonly unreadProbability?: number;
}

const FIRST_NAMES = ['Dana', 'Yossi', 'Maya', 'Noam', 'Tamar', 'Avi', 'Lior', 'Shira', 'Eitan', 'Noa'];
const LAST_NAMES = ['Cohenovitz', 'Levinsky', 'Mizrahiel', 'Peretzky', 'Bitonam', 'Friedlander'];
const MAX_CONVERSATIONS = 20;
const CANONICAL_ID = /^[1-9][0-9]{0,18}$/;

/**
 * The simulated CommBox data: identities, their conversations and unread counts. Every
 * operation costs O(1) or O(conversations of one identity); nothing walks all identities, so a
 * world of 10,000 builds in milliseconds and a request never pays for the world's size.
 */
export class SimulatorWorld {
  private readonly identities = new Map<string, SimIdentity>();
  /** Ids in a dense array (swap-remove) so activity can draw identities in O(1). */
  private readonly order: string[] = [];
  private readonly position = new Map<string, number>();
  private nextObjectId = 396001;
  private nextMinute = 0;
  private readonly idRandom: Random;
  private activityRandom: Random;

  constructor(private readonly seed: number) {
    this.idRandom = mulberry32(hashSeed(seed, 'ids'));
    this.activityRandom = mulberry32(hashSeed(seed, 'activity'));
  }

  get size(): number {
    return this.order.length;
  }

  ids(): readonly string[] {
    return [...this.order];
  }

  has(id: string | number | bigint): boolean {
    return this.identities.has(String(id));
  }

  get(id: string): SimIdentity | undefined {
    return this.identities.get(id);
  }

  /** Adds (or replaces) an identity; without conversations it has none, so 0 unread. */
  addIdentity(id: string | number | bigint, conversations: readonly ConversationSeed[] = []): void {
    const key = canonical(id);
    if (!this.identities.has(key)) {
      this.position.set(key, this.order.length);
      this.order.push(key);
    }
    const identity: SimIdentity = { id: key, conversations: new Map() };
    this.identities.set(key, identity);
    for (const seed of conversations) this.addConversation(identity, seed);
  }

  /** Adds `count` consecutive identities with a seeded random mix of conversations. */
  populate(count: number, options: PopulateOptions = {}): string[] {
    const first = BigInt(options.firstId ?? 1000001);
    const maxConversations = options.maxConversations ?? 3;
    const unreadProbability = options.unreadProbability ?? 0.5;
    const random = mulberry32(hashSeed(this.seed, 'populate', String(first), count));
    const added: string[] = [];
    for (let i = 0; i < count; i += 1) {
      const id = String(first + BigInt(i));
      const seeds: ConversationSeed[] = [];
      for (let c = randomInt(random, 0, maxConversations); c > 0; c -= 1) {
        seeds.push({ unread: random() < unreadProbability ? randomInt(random, 1, 5) : 0 });
      }
      this.addIdentity(id, seeds);
      added.push(id);
    }
    return added;
  }

  /** Sets a conversation's unread count, creating the conversation if it does not exist. */
  setUnread(id: string | number | bigint, objectId: string | number, unread: number, streamId?: string | number): void {
    const identity = this.require(id);
    const existing = identity.conversations.get(String(objectId));
    if (existing) existing.unread = checkCount(unread);
    else this.addConversation(identity, { objectId, unread, ...(streamId === undefined ? {} : { streamId }) });
  }

  removeConversation(id: string | number | bigint, objectId: string | number): boolean {
    return this.require(id).conversations.delete(String(objectId));
  }

  /** Forgets an identity: the API answers 404 for it from now on. */
  removeIdentity(id: string | number | bigint): boolean {
    const key = String(id);
    const index = this.position.get(key);
    if (index === undefined) return false;
    const last = this.order.pop() as string;
    if (last !== key) {
      this.order[index] = last;
      this.position.set(last, index);
    }
    this.position.delete(key);
    this.identities.delete(key);
    return true;
  }

  /** What a correct client should read for this identity, normalized as the core stores it. */
  snapshot(id: string | number | bigint): UnreadState {
    const identity = this.require(id);
    let total = 0;
    const conversations = [...identity.conversations.values()].map((c) => {
      total += c.unread;
      return { objectId: c.objectId, streamId: c.streamId, unread: c.unread };
    });
    return normalizeState(total, conversations);
  }

  customerData(id: string | number | bigint): CustomerData {
    const random = mulberry32(hashSeed(this.seed, 'customer', String(id)));
    const firstName = pick(random, FIRST_NAMES);
    const lastName = pick(random, LAST_NAMES);
    const phone1 = `+97250${String(randomInt(random, 1_000_000, 9_999_999))}`;
    const email = `${firstName}.${lastName}${randomInt(random, 10, 99)}@example.com`.toLowerCase();
    const nationalId = String(randomInt(random, 100_000_000, 999_999_999));
    return {
      firstName,
      lastName,
      phone1,
      email,
      messages: [`Hi, this is ${firstName} ${lastName}, my ID number is ${nationalId}, call me on ${phone1}`],
    };
  }

  /** Re-seeds the activity generator, so a run of ticks can be replayed. */
  reseedActivity(seed: number): void {
    this.activityRandom = mulberry32(hashSeed(seed, 'activity'));
  }

  /**
   * Changes the unread state of `changeFraction` of the identities (at least one when the
   * fraction is above 0) and returns their ids. Every change is visible in the normalized state:
   * mostly new unread messages, sometimes a conversation read to 0, one that disappears, or a
   * new one. O(changed identities), not O(world).
   */
  tick(changeFraction = 0.05): string[] {
    const n = this.order.length;
    const k = changeFraction <= 0 || n === 0 ? 0 : Math.min(n, Math.max(1, Math.round(n * changeFraction)));
    const changed: string[] = [];
    for (const index of sampleIndices(this.activityRandom, n, k)) {
      const id = this.order[index] as string;
      this.changeOne(this.identities.get(id) as SimIdentity);
      changed.push(id);
    }
    return changed;
  }

  private changeOne(identity: SimIdentity): void {
    const random = this.activityRandom;
    const all = [...identity.conversations.values()];
    const unread = all.filter((c) => c.unread > 0);
    const roll = random();
    if (unread.length > 0 && roll >= 0.7 && roll < 0.85) {
      pick(random, unread).unread = 0;
    } else if (unread.length > 0 && roll >= 0.85 && roll < 0.92) {
      identity.conversations.delete(pick(random, unread).objectId);
    } else if (all.length < MAX_CONVERSATIONS && (all.length === 0 || roll >= 0.92 || random() < 0.2)) {
      this.addConversation(identity, { unread: randomInt(random, 1, 2) });
    } else {
      pick(random, all).unread += randomInt(random, 1, 3);
    }
  }

  private addConversation(identity: SimIdentity, seed: ConversationSeed): void {
    const objectId = seed.objectId === undefined ? String(this.nextObjectId++) : canonical(seed.objectId);
    const streamId = seed.streamId === undefined ? String(19155 + randomInt(this.idRandom, 0, 40)) : canonical(seed.streamId);
    this.nextMinute += 1;
    identity.conversations.set(objectId, { objectId, streamId, unread: checkCount(seed.unread), createdMinute: this.nextMinute });
  }

  private require(id: string | number | bigint): SimIdentity {
    const identity = this.identities.get(String(id));
    if (!identity) throw new RangeError(`unknown simulated identity ${String(id)}`);
    return identity;
  }
}

function canonical(id: string | number | bigint): string {
  const text = String(id);
  if (!CANONICAL_ID.test(text)) throw new RangeError(`simulated ids are positive decimal integers, got ${JSON.stringify(text)}`);
  return text;
}

function checkCount(n: number): number {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`an unread count is a non-negative integer, got ${n}`);
  return n;
}
