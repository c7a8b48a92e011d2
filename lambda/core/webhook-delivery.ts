import type { WebhookSignatureHeaders } from './webhook-signature';

/** One attempt to deliver one event to one endpoint. */
export interface WebhookDeliveryRequest {
  /** The endpoint's URL; the sender checks it against the URL policy again before sending. */
  readonly url: string;
  /** The event JSON exactly as signed. */
  readonly body: string;
  readonly headers: WebhookSignatureHeaders;
}

/**
 * What came of an attempt, as the retry schedule needs it. Carries no response body, no URL
 * query and no secret, so it may be logged and stored in the delivery log as it is.
 */
export type DeliveryAttemptOutcome =
  /** The receiver answered with this status (a redirect is an answer too: it is not followed). */
  | { readonly kind: 'response'; readonly status: number; readonly retryAfter?: string; readonly durationMs: number }
  /** No answer within the time limit (15 s in production), whatever stage it was stuck in. */
  | { readonly kind: 'timeout'; readonly durationMs: number }
  /** Resolving, connecting or TLS failed, or the connection broke: an errno-style code only. */
  | { readonly kind: 'network'; readonly code: string; readonly durationMs: number }
  /** Nothing was sent: the URL or an address it resolved to is not allowed. `reason` is safe to log. */
  | { readonly kind: 'refused'; readonly reason: string; readonly durationMs: number };

/** The port the dispatcher (AWS) and the local `poll` deliver through. */
export interface WebhookSender {
  send(request: WebhookDeliveryRequest): Promise<DeliveryAttemptOutcome>;
}
