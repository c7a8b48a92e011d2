import type { IdentityId } from './identity-id';
import type { RepollSecrets } from './repoll-auth';

/** What one request for an identity earns (see repoll-debounce.ts). */
export type RepollDecision =
  | { readonly decision: 'poll-now' }
  | { readonly decision: 'poll-at-window-end'; readonly delayMs: number }
  | { readonly decision: 'collapsed' }
  | { readonly decision: 'unregistered' };

/**
 * The debounce marker on the identity's own item. One conditional update both checks that the
 * identity is registered (it never creates an item) and applies the debounce, so concurrent
 * requests for one identity cannot both be granted a poll. It touches only its own attribute,
 * never what the poll cycle's conditions read.
 */
export interface RepollMarker {
  mark(id: IdentityId, now: number, windowMs: number): Promise<RepollDecision>;
}

/** One re-poll to run: `delayMs` from now (0 for at once). */
export interface RepollMessage {
  readonly identityId: IdentityId;
  readonly delayMs: number;
  /** When the request arrived (epoch ms), for the latency from request to poll. */
  readonly requestedAt: number;
}

export interface RepollSendResult {
  /** The messages not accepted, with a short reason (an error code, never content). */
  readonly failed: readonly { readonly identityId: IdentityId; readonly reason: string }[];
}

/** Where granted re-polls go (SQS in AWS, timers in `serve`). Never throws for a message: it answers which failed. */
export interface RepollQueue {
  send(messages: readonly RepollMessage[]): Promise<RepollSendResult>;
}

/** Finds the identities of a conversation, when the store can do that cheaply. Optional. */
export interface ObjectIdentityLookup {
  identitiesOf(objectId: string): Promise<readonly IdentityId[]>;
}

/** The valid secrets; `refresh` re-reads them after a mismatch (a rotation may just have happened). */
export interface RepollSecretSource {
  get(): Promise<RepollSecrets>;
  /** Optional; an implementation rate-limits it. */
  refresh?(): Promise<RepollSecrets>;
}
