import * as v from 'valibot';
import { normalizeState, type ConversationUnread, type UnreadState } from '../../core/model';

/**
 * The body of `GET /v2/users/identities/{id}/objects`, read for what unread-notifier needs:
 * `status`, `totalUnreadChatMessages` and, per object, `objectId`, `streamId`, `unreadMessages`.
 * Everything else (names, phones, emails, message text) is never read, never copied, never
 * quoted in a reason: a reason names a path and a type, not a value.
 */
export type ParsedBody =
  | { readonly kind: 'ok'; readonly state: UnreadState }
  /** A JSON body whose `status` is not 200 (the upstream reports errors this way even under HTTP 200). */
  | { readonly kind: 'status'; readonly status: number }
  | { readonly kind: 'malformed'; readonly reason: string };

const Count = v.pipe(v.number(), v.safeInteger(), v.minValue(0));

// `v.object`, not `looseObject`: both accept any other keys, but `object` leaves them out of its
// output instead of copying them (names, messages, nested users), a large share of a parse's CPU.

/** A JSON integer, or a digit string when `keepBigIdsExact` protected an int64 beyond 2^53. */
const Id = v.union([
  v.pipe(v.number(), v.safeInteger(), v.minValue(0), v.transform(String)),
  v.pipe(v.string(), v.regex(/^(0|[1-9][0-9]{0,19})$/)),
]);

/**
 * Missing or null `unreadMessages` counts as 0: objects that are not chats may carry no count,
 * and the identity's total still comes from `totalUnreadChatMessages`. Ids are demanded only
 * of conversations with unread messages, the only ones the state keeps, so one odd object
 * cannot make the whole identity unpollable.
 */
const Conversation = v.pipe(
  // An id that is not one reads as missing (the fallback), so only an unread conversation needs one.
  v.object({ objectId: v.fallback(v.nullish(Id), undefined), streamId: v.fallback(v.nullish(Id), undefined), unreadMessages: v.nullish(Count) }),
  v.check((c) => (c.unreadMessages ?? 0) === 0 || (c.objectId != null && c.streamId != null), 'objectId and streamId'),
);

const Envelope = v.object({ status: v.pipe(v.number(), v.safeInteger()) });

/** `data: null` is read as no objects (a common serialisation of an empty list); a missing `data` is not. */
const Objects = v.object({
  totalUnreadChatMessages: Count,
  data: v.nullable(v.array(Conversation)),
});

/** Parses a response body; never throws, whatever the text. */
export function parseObjectsBody(text: string): ParsedBody {
  const source = text.replace(/^\uFEFF/, '');
  let json: unknown;
  try {
    json = JSON.parse(source);
    // Rare, and only then worth a pass of the regex over the whole body (most of the parse's CPU
    // otherwise): ids beyond 2^53 came out rounded, so parse again with them quoted.
    if (hasInexactId(json)) json = JSON.parse(keepBigIdsExact(source));
  } catch {
    // The SyntaxError quotes the body; it must not travel.
    return { kind: 'malformed', reason: 'body is not JSON' };
  }
  const envelope = v.safeParse(Envelope, json);
  if (!envelope.success) return { kind: 'malformed', reason: describeIssue(envelope.issues[0]) };
  if (envelope.output.status !== 200) return { kind: 'status', status: envelope.output.status };

  const body = v.safeParse(Objects, json);
  if (!body.success) return { kind: 'malformed', reason: describeIssue(body.issues[0]) };
  const conversations: ConversationUnread[] = [];
  for (const item of body.output.data ?? []) {
    const unread = item.unreadMessages ?? 0;
    if (unread > 0 && item.objectId != null && item.streamId != null) {
      conversations.push({ objectId: item.objectId, streamId: item.streamId, unread });
    }
  }
  return { kind: 'ok', state: normalizeState(body.output.totalUnreadChatMessages, conversations) };
}

/** Whether an `objectId` or `streamId` of `data` is an integer JSON.parse could not keep exact. */
function hasInexactId(json: unknown): boolean {
  const data = typeof json === 'object' && json !== null ? (json as { data?: unknown }).data : undefined;
  if (!Array.isArray(data)) return false;
  for (const item of data as unknown[]) {
    if (typeof item !== 'object' || item === null) continue;
    const { objectId, streamId } = item as { objectId?: unknown; streamId?: unknown };
    if (isInexact(objectId) || isInexact(streamId)) return true;
  }
  return false;
}

function isInexact(value: unknown): boolean {
  return typeof value === 'number' && Number.isInteger(value) && !Number.isSafeInteger(value);
}

const BIG_ID = /"(objectId|streamId)"(\s*):(\s*)([0-9]{16,})(?=\s*[,}\]])/g;

/**
 * JSON.parse rounds integers beyond 2^53 and Node 20 cannot read a number's source text, so ids
 * of 16 digits or more are quoted before parsing. Only real keys match: inside a JSON string
 * every quote is escaped, so `"objectId":` cannot occur there unescaped.
 */
export function keepBigIdsExact(text: string): string {
  return text.replace(BIG_ID, '"$1"$2:$3"$4"');
}

function describeIssue(issue: v.BaseIssue<unknown> | undefined): string {
  if (!issue) return 'invalid body';
  const path = v.getDotPath(issue);
  // Only the path and the expected type: an issue's message quotes the value it received.
  const expected = issue.type === 'check' ? issue.message : (issue.expected ?? issue.type);
  return `invalid body at ${path ?? '(root)'}: expected ${expected}`;
}
