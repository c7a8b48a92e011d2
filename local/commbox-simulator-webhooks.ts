import { request } from 'node:http';
import type { CustomerData, SimIdentity } from './commbox-simulator-world';

/**
 * Where the simulator sends CommBox-shaped webhooks when an identity's unread counts change, as
 * a CommBox webhook subscription (entity Object, trigger OnNewActivity) would. Loopback only.
 */
export interface SimulatorWebhookTarget {
  /** The full URL, e.g. http://127.0.0.1:8787/repoll/<secret> (CommBox cannot set headers: the secret is in the path). */
  readonly url: string;
  /**
   * Send the identity id in the form CommBox's documented examples show, 3 * 2^50 + id, so the
   * receiver's decoding is exercised. @default true
   */
  readonly encodeIds?: boolean;
  /** `object-only`: name only the conversation (ObjectId), as an OnNewActivity may. @default 'identity' */
  readonly shape?: 'identity' | 'object-only';
}

export interface WebhookStats {
  readonly sent: number;
  /** Answered with a status other than 2xx, or not answered. */
  readonly failed: number;
}

/** 0xC000000000000: the prefix CommBox's webhook examples show on identity ids (unverified; see docs/repoll.md). */
export const SIMULATED_ID_PREFIX = 3n << 50n;

/**
 * An OnNewActivity payload as CommBox documents its Object webhooks: the `Event` envelope, the
 * conversation's `ObjectId` (a string), and a `payload` with the message and the customer, whose
 * `User.Identity.Id` names the identity. The customer data is there on purpose: a receiver must
 * read the ids only.
 */
export function onNewActivityPayload(identity: SimIdentity, customer: CustomerData, target: Pick<SimulatorWebhookTarget, 'encodeIds' | 'shape'>): Record<string, unknown> {
  const conversation = [...identity.conversations.values()].sort((a, b) => b.createdMinute - a.createdMinute)[0];
  const objectId = conversation?.objectId ?? '762';
  const id = BigInt(identity.id);
  const encoded = (target.encodeIds ?? true) && id < 1n << 50n ? SIMULATED_ID_PREFIX + id : id;
  const envelope = { Event: { Subscription: 'Object', Name: 'OnNewActivity', Brand: 'simulator' }, ObjectId: objectId };
  if (target.shape === 'object-only') return envelope;
  return {
    ...envelope,
    payload: {
      Message: customer.messages[0] ?? '',
      Snippet: (customer.messages[0] ?? '').slice(0, 40),
      ObjectId: Number(objectId),
      StreamId: Number(conversation?.streamId ?? 19155),
      StreamType: 1,
      User: {
        // A JSON number, as in CommBox's example; 3 * 2^50 + n stays below 2^53.
        Identity: { Id: Number(encoded), StreamProviderId: customer.phone1, StreamProviderType: 1 },
        Id: 52969,
        FirstName: customer.firstName,
        LastName: customer.lastName,
        Email: customer.email,
        Phone1: customer.phone1,
      },
    },
  };
}

/** The simulator posts to loopback http only: it is a local stand-in, never a sender to the world. */
export function checkWebhookUrl(url: string): URL {
  const target = new URL(url);
  if (target.protocol !== 'http:' || !['127.0.0.1', 'localhost', '[::1]'].includes(target.hostname)) {
    throw new RangeError(`the simulator sends webhooks to loopback http only, not ${target.origin}`);
  }
  return target;
}

/** POSTs one webhook; resolves with the status (0 when there was no answer). Never rejects. */
export function postWebhook(target: URL, body: Record<string, unknown>, timeoutMs = 5_000): Promise<number> {
  const data = Buffer.from(JSON.stringify(body));
  return new Promise((resolve) => {
    const req = request(
      target,
      { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': String(data.length), 'user-agent': 'commbox-simulator' }, timeout: timeoutMs },
      (res) => {
        res.resume();
        res.once('end', () => resolve(res.statusCode ?? 0));
        res.once('error', () => resolve(0));
      },
    );
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve(0));
    req.end(data);
  });
}
