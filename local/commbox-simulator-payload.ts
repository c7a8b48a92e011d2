import { STATUS_CODES } from 'node:http';
import { stringifyWithNumericIds } from '../lambda/core/json-with-ids';
import type { CustomerData, SimConversation, SimIdentity } from './commbox-simulator-world';

/** Response bodies shaped exactly as the API reference shows them (reference/get-user-objects-api.txt). */

/** The error descriptions the reference gives, per status. */
const DESCRIPTIONS: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  401: 'Unauthorized access',
  404: 'Not found',
  429: 'Too Many Requests',
  500: 'Operation failed',
  501: 'Not Implemented',
};

/** Ids are decimal strings in the world and written as JSON numbers with every digit. */
const ID_KEYS = new Set(['objectId', 'streamId', 'user_identity', 'id', 'managerId']);
const EPOCH = Date.UTC(2026, 1, 12, 15, 0, 0);
const AGENT_USER_ID = '545437';

export function errorBody(status: number): string {
  return JSON.stringify({
    status,
    description: DESCRIPTIONS[status] ?? STATUS_CODES[status] ?? 'Error',
    response_time: new Date().toISOString(),
  });
}

export function objectsBody(identity: SimIdentity | undefined, customer: CustomerData): string {
  const conversations = identity ? [...identity.conversations.values()] : [];
  let total = 0;
  for (const c of conversations) total += c.unread;
  return stringifyWithNumericIds(
    {
      totalUnreadChatMessages: total,
      status: 200,
      description: 'Operation successful',
      response_time: new Date().toISOString(),
      data: conversations.map((c) => conversationObject(identity?.id ?? '0', c, customer)),
    },
    ID_KEYS,
  );
}

/**
 * `objectsBody`, with the `data` array cached per identity while its conversations stay as they
 * were (same ids, counts and order). Building `data` (every field of the reference, ids as exact
 * numbers) costs more CPU than serving it, and the benchmark asks for 10,000 identities a cycle
 * on the same cores as the poller it measures. The text served is the same, byte for byte.
 */
export class ObjectsBodyCache {
  private readonly entries = new Map<string, { readonly signature: string; readonly total: number; readonly data: string }>();

  constructor(private readonly maxEntries = 100_000) {}

  body(identity: SimIdentity | undefined, customer: () => CustomerData): string {
    if (!identity) return objectsBody(identity, customer());
    let signature = '';
    let total = 0;
    for (const c of identity.conversations.values()) {
      signature += `${c.objectId}:${c.streamId}:${c.unread}:${c.createdMinute};`;
      total += c.unread;
    }
    let entry = this.entries.get(identity.id);
    if (entry?.signature !== signature) {
      const person = customer();
      const data = stringifyWithNumericIds(
        [...identity.conversations.values()].map((c) => conversationObject(identity.id, c, person)),
        ID_KEYS,
      );
      if (this.entries.size >= this.maxEntries) this.entries.clear();
      entry = { signature, total, data };
      this.entries.set(identity.id, entry);
    }
    // The key order of objectsBody: totalUnreadChatMessages, status, description, response_time, data.
    return `{"totalUnreadChatMessages":${entry.total},"status":200,"description":"Operation successful","response_time":${JSON.stringify(new Date().toISOString())},"data":${entry.data}}`;
  }
}

/** HTTP 200 with an error in the body, as CommBox does. */
export function bodyStatus500(): string {
  return errorBody(500);
}

/** Cut off mid-way: not JSON at all. */
export function malformedBody(): string {
  return '{"totalUnreadChatMessages":2,"status":200,"description":"Operation successful","data":[{"objectId":396001,"unreadMess';
}

/** Valid JSON in the wrong shape; a customer's name sits where the count should be, to catch leaks. */
export function wrongShapeBody(customer: CustomerData): string {
  return JSON.stringify({
    totalUnreadChatMessages: customer.firstName,
    status: 200,
    description: 'Operation successful',
    response_time: new Date().toISOString(),
    data: { objects: [{ objectId: 396001, unreadMessages: customer.phone1 }] },
  });
}

function at(minute: number): string {
  return new Date(EPOCH + minute * 60_000).toISOString().replace('.000Z', 'Z');
}

/**
 * One object of `data`, every field of the reference in its order. The reference's flattened
 * listing reads as: a user carries the contact fields next to `identity` (null for customers).
 */
function conversationObject(identityId: string, c: SimConversation, customer: CustomerData): Record<string, unknown> {
  const customerUser = customerUserOf(identityId, customer);
  return {
    objectId: c.objectId,
    streamId: c.streamId,
    subStreamId: 0,
    streamProviderId: '',
    streamProviderType: 0,
    user_identity: identityId,
    firstName: customer.firstName,
    lastName: customer.lastName,
    moduleId: 0,
    userStreamProviderId: 'd7655a64-ac14-4aa1-8907-1e26402ac6da',
    userStreamProviderType: 6,
    content: '{"guidRT":"d34f89f73ffb4ec9909b7da1964cb7cb","languages":[{"Item1":"en","Item2":1471163}]}',
    message: `<p><span style="letter-spacing: 0.36px">${customer.messages[0] ?? ''}&nbsp;</span></p>`,
    createdTime: at(c.createdMinute),
    updatedTime: at(c.createdMinute + 7),
    closedTime: null,
    firstResponseTime: at(c.createdMinute + 1),
    lastResponseTime: at(c.createdMinute + 8),
    statusId: 1,
    assignedManagerId: 0,
    lastAssignedManagerId: 0,
    type: 0,
    user: customerUser,
    isManager: false,
    childs: [
      child(c, String(1471000 + c.createdMinute * 2), customer.messages[0] ?? '', '{}', 1, c.createdMinute, customerUser),
      child(c, String(1471001 + c.createdMinute * 2), 'Hi, How can I help you?', '{"messageAlreadyRenderedFromClient":true}', 11, c.createdMinute + 1, AGENT_USER),
    ],
    unreadMessages: c.unread,
  };
}

function customerUserOf(identityId: string, customer: CustomerData): Record<string, unknown> {
  return {
    id: String(500000 + (Number(identityId.slice(-6)) % 100000)),
    managerId: null,
    isManager: false,
    encryptedId: null,
    identity: null,
    uniqueId: '',
    phone1: customer.phone1,
    phone2: '',
    email: customer.email,
    firstName: customer.firstName,
    lastName: customer.lastName,
    gender: '',
    numberIdentities: 1,
    locale: '',
    birthday: '',
    remarks: '',
    content: '{}',
  };
}

const AGENT_USER: Readonly<Record<string, unknown>> = {
  id: AGENT_USER_ID,
  managerId: AGENT_USER_ID,
  isManager: true,
  encryptedId: 'HnJymfEHh8dORgiV0otwEgRpcFYJqKfueiQqPvbZTrs%3d',
  identity: { id: '558237', streamProviderId: '', streamProviderType: 0, firstName: 'AI Agent', lastName: '', thumbnailUrl: '' },
  uniqueId: null,
  phone1: null,
  phone2: null,
  email: null,
  firstName: null,
  lastName: null,
  gender: null,
  numberIdentities: 0,
  locale: null,
  birthday: null,
  remarks: null,
  content: null,
};

function child(
  c: SimConversation,
  id: string,
  message: string,
  content: string,
  type: number,
  minute: number,
  user: Readonly<Record<string, unknown>>,
): Record<string, unknown> {
  return {
    id,
    objectId: c.objectId,
    content,
    message,
    createdTime: at(minute),
    streamProviderType: 0,
    type,
    user,
    activityLogs: [],
    tagsObjectId: [],
    customerParticipants: [],
  };
}
