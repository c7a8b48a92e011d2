/**
 * Items as this version of the store writes them: a fixture of the attribute names and formats
 * in tables today (identityId, label, registeredAt, v, total, convs, pendingEvent, pendingId,
 * claimUntil, failStreak, notFound, and the `#resume#...` bookkeeping items with resumeFrom).
 * Written literally, not through the codec, so a change of the format cannot change them too.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';

export type Item = Record<string, AttributeValue>;

export const PENDING_EVENT = {
  version: 1,
  type: 'unread.changed',
  eventId: '5b1c0e4a-61d2-8f3a-9c41-2e7d55a0b6f1',
  identityId: '558356',
  label: 'Sales',
  previousTotal: 1,
  total: 3,
  delta: 2,
  direction: 'increased',
  conversations: [{ objectId: '396001', streamId: '19155', previous: 1, current: 3 }],
  observedAt: '2026-02-12T15:09:23.998Z',
};

/** An identity with a snapshot and an event not yet published. */
export const WITH_PENDING_EVENT: Item = {
  identityId: { S: '558356' },
  registeredAt: { S: '2026-02-01T08:00:01.000Z' },
  label: { S: 'Sales' },
  v: { N: '2' },
  total: { N: '3' },
  convs: { S: '396001:19155:3' },
  pendingEvent: { S: JSON.stringify(PENDING_EVENT) },
  pendingId: { S: PENDING_EVENT.eventId },
  claimUntil: { N: '1770908963998' },
  failStreak: { N: '0' },
};

export const TODAY: Item[] = [
  { identityId: { S: '558355' }, registeredAt: { S: '2026-02-01T08:00:00.000Z' }, label: { S: 'Support' } },
  WITH_PENDING_EVENT,
  {
    identityId: { S: '558357' },
    registeredAt: { S: '2026-02-01T08:00:02.000Z' },
    v: { N: '1' },
    total: { N: '4' },
    convs: { S: '396002:19155:1;396003:19156:3' },
    failStreak: { N: '6' },
  },
  { identityId: { S: '9223372036854775807' }, registeredAt: { S: '2026-02-01T08:00:03.000Z' }, v: { N: '7' }, total: { N: '0' }, convs: { S: '' }, failStreak: { N: '0' }, notFound: { BOOL: true } },
  // A cycle cut at its deadline, for the whole table and for segment 1 of 2.
  { identityId: { S: '#resume#all' }, resumeFrom: { S: '558356' } },
  { identityId: { S: '#resume#1/2' }, resumeFrom: { S: '558357' } },
];

