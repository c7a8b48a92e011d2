/**
 * The re-poll debounce, as a function of the time, the window and what the marker read on the
 * identity's item. The marker is one number, `pollAt`: when the latest granted re-poll starts
 * (epoch ms; in the future while a trailing poll waits for its window's end).
 *
 * - No re-poll within the window (`pollAt` absent or at least a window ago): poll now.
 * - A granted poll has not started yet (`now < pollAt`): collapsed; that poll reads CommBox after
 *   this request, so it sees what the request announced.
 * - A poll started less than a window ago: one trailing poll at that window's end. It moves
 *   `pollAt` there, so later requests before it collapse into it: at most one trailing per window.
 *
 * So a burst gives one poll plus one trailing, a steady stream one poll per window, and every
 * request is followed by a poll that starts at or after it, within one window.
 */
export const DEFAULT_REPOLL_WINDOW_MS = 2_000;

/** What the marker saw on the item: absent (not registered), or present with the marker, if any. */
export type MarkerObservation =
  | { readonly registered: false }
  | {
      readonly registered: true;
      /** When the latest granted re-poll starts; absent when none was ever granted. */
      readonly pollAt?: number;
    };

export type RepollPlan =
  | { readonly decision: 'unregistered' }
  | { readonly decision: 'collapsed'; readonly pollAt: number }
  /** Write `pollAt = now`. */
  | { readonly decision: 'poll-now'; readonly pollAt: number }
  /** Write `pollAt` (the window's end) and queue the poll to start `delayMs` from now. */
  | { readonly decision: 'poll-at-window-end'; readonly pollAt: number; readonly delayMs: number };

export function planRepoll(now: number, windowMs: number, seen: MarkerObservation): RepollPlan {
  if (!seen.registered) return { decision: 'unregistered' };
  const { pollAt } = seen;
  if (pollAt === undefined || pollAt <= pollNowThreshold(now, windowMs)) return { decision: 'poll-now', pollAt: now };
  if (now < pollAt) return { decision: 'collapsed', pollAt };
  const windowEnd = pollAt + windowMs;
  return { decision: 'poll-at-window-end', pollAt: windowEnd, delayMs: windowEnd - now };
}

/**
 * The poll-now branch as a condition a store can check in one write: poll now when there is no
 * marker or `pollAt <= pollNowThreshold(now, windowMs)`.
 */
export function pollNowThreshold(now: number, windowMs: number): number {
  return now - windowMs;
}
