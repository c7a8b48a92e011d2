import { isIdentityId } from './identity-id';
import { EVENT_TYPE, type Direction } from './model';

/**
 * Which events a subscriber of the topic gets: the SNS filter policy on the events' message
 * attributes (`eventType`, `identityId`, `direction`; CONTRACT.md "The event"). One builder for
 * the stack's subscriptions (lib/event-subscriptions.ts) and `unread-notifier subscriptions add`,
 * so the two cannot drift apart.
 */

/** The alert event of CONTRACT.md "Alerts for people". */
export const ALERT_EVENT_TYPE = 'unread.alert';

/** The event types published to the topic, as the `eventType` attribute carries them. */
export const EVENT_TYPES = [EVENT_TYPE, ALERT_EVENT_TYPE] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** The `direction` values a change event carries; alerts carry none. */
export const DIRECTIONS: readonly Direction[] = ['increased', 'decreased'];

/** SNS accepts at most this many value combinations in one filter policy. */
export const MAX_FILTER_COMBINATIONS = 150;

export interface SubscriptionFilter {
  /**
   * Only these event types. A direction condition applies to `unread.changed` only: alerts
   * have no direction and still reach a subscriber that asked for them.
   * @default - no eventType condition (every event; a direction condition then applies to all)
   */
  readonly eventTypes?: readonly EventType[];
  /**
   * Only events of these identities (canonical decimal ids).
   * @default - every identity
   */
  readonly identityIds?: readonly string[];
  /**
   * Only change events of these directions; both directions is the same as none.
   * @default - both directions
   */
  readonly directions?: readonly Direction[];
}

/** A filter policy on message attributes (FilterPolicyScope `MessageAttributes`, SNS's default). */
export type FilterPolicy = Readonly<Record<string, readonly string[] | readonly FilterPolicyBranch[]>>;
export type FilterPolicyBranch = Readonly<Record<string, readonly string[]>>;

export class SubscriptionFilterError extends Error {
  override readonly name = 'SubscriptionFilterError';
}

/**
 * The filter policy of a subscription, or undefined when it lets every event through. Throws
 * SubscriptionFilterError for a filter SNS would refuse or that could match nothing.
 */
export function buildFilterPolicy(filter: SubscriptionFilter): FilterPolicy | undefined {
  const eventTypes = filter.eventTypes === undefined ? undefined : unique(filter.eventTypes);
  const identityIds = unique(filter.identityIds ?? []);
  const directions = unique(filter.directions ?? []);
  if (eventTypes?.length === 0) throw new SubscriptionFilterError('a subscription needs at least one event type');
  for (const type of eventTypes ?? []) {
    if (!(EVENT_TYPES as readonly string[]).includes(type)) throw new SubscriptionFilterError(`unknown event type ${JSON.stringify(type)}: expected ${EVENT_TYPES.join(' or ')}`);
  }
  for (const id of identityIds) {
    if (!isIdentityId(id)) throw new SubscriptionFilterError(`invalid identity id ${JSON.stringify(id)}: expected a positive 64-bit integer such as 558355`);
  }
  for (const direction of directions) {
    if (!DIRECTIONS.includes(direction)) throw new SubscriptionFilterError(`unknown direction ${JSON.stringify(direction)}: expected ${DIRECTIONS.join(' or ')}`);
  }
  // Both directions filter nothing: every change event has one of them.
  const direction = directions.length > 0 && directions.length < DIRECTIONS.length ? directions : undefined;
  if (direction && eventTypes && !eventTypes.includes(EVENT_TYPE)) {
    throw new SubscriptionFilterError(`a direction applies to ${EVENT_TYPE} events only; add ${EVENT_TYPE} to the event types or drop the direction`);
  }

  const policy: Record<string, readonly string[] | readonly FilterPolicyBranch[]> = {};
  if (identityIds.length > 0) policy.identityId = identityIds;
  const otherTypes = eventTypes?.filter((type) => type !== EVENT_TYPE) ?? [];
  if (direction && otherTypes.length > 0) {
    // Changes in that direction, or any event of the other types (which carry no direction).
    policy.$or = [
      { eventType: [EVENT_TYPE], direction },
      { eventType: otherTypes },
    ];
  } else {
    if (eventTypes) policy.eventType = eventTypes;
    if (direction) policy.direction = direction;
  }
  if (Object.keys(policy).length === 0) return undefined;
  const combinations = filterPolicyCombinations(policy);
  if (combinations > MAX_FILTER_COMBINATIONS) {
    throw new SubscriptionFilterError(
      `this filter has ${combinations} value combinations and SNS accepts at most ${MAX_FILTER_COMBINATIONS}: subscribe fewer identities at once, or split the subscription`,
    );
  }
  return policy;
}

/**
 * SNS's complexity measure: the product of the number of values of each key, where an `$or`
 * counts as the sum of its branches' products.
 */
export function filterPolicyCombinations(policy: FilterPolicy): number {
  let product = 1;
  for (const [key, values] of Object.entries(policy)) {
    if (key === '$or') {
      product *= (values as readonly FilterPolicyBranch[]).reduce((sum, branch) => sum + filterPolicyCombinations(branch), 0);
    } else {
      product *= values.length;
    }
  }
  return product;
}

/**
 * The filter a policy built by `buildFilterPolicy` stands for; undefined for any other policy
 * (made by hand or by another tool), which callers then show as it is.
 */
export function readFilterPolicy(policy: unknown): SubscriptionFilter | undefined {
  if (typeof policy !== 'object' || policy === null || Array.isArray(policy)) return undefined;
  const { identityId, eventType, direction, $or, ...rest } = policy as Record<string, unknown>;
  if (Object.keys(rest).length > 0) return undefined;
  let filter: { eventTypes?: EventType[]; identityIds?: string[]; directions?: Direction[] } = {};
  if (identityId !== undefined) {
    if (!isStringList(identityId) || !identityId.every(isIdentityId)) return undefined;
    filter.identityIds = identityId;
  }
  if ($or !== undefined) {
    if (eventType !== undefined || direction !== undefined || !Array.isArray($or) || $or.length !== 2) return undefined;
    const [changes, others] = $or as unknown[];
    const first = readFilterPolicy(changes);
    const second = readFilterPolicy(others);
    if (!first?.directions || first.eventTypes?.join() !== EVENT_TYPE || first.identityIds || !second?.eventTypes || second.directions || second.identityIds) return undefined;
    filter = { ...filter, eventTypes: [EVENT_TYPE, ...second.eventTypes], directions: [...first.directions] };
  } else {
    if (eventType !== undefined) {
      if (!isStringList(eventType) || !eventType.every((type) => (EVENT_TYPES as readonly string[]).includes(type))) return undefined;
      filter.eventTypes = eventType as EventType[];
    }
    if (direction !== undefined) {
      if (!isStringList(direction) || !direction.every((d) => (DIRECTIONS as readonly string[]).includes(d))) return undefined;
      filter.directions = direction as Direction[];
    }
  }
  return filter;
}

function isStringList(value: unknown): value is string[] {
  return Array.isArray(value) && value.length > 0 && value.every((item) => typeof item === 'string');
}

function unique<T>(values: readonly T[]): T[] {
  return [...new Set(values)];
}
