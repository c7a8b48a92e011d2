/**
 * Run receipts: how a scheduled cycle confirms its publications with one write instead of one
 * per published entry.
 *
 * A run is marked open before it stores its first entry, and tags every entry it stores or takes
 * over with its id. When the publisher has accepted every one of them (a refused one is released,
 * which unties it from the run), the run closes: that single write publishes them all. An entry
 * whose run is closed is delivered and stays in its item only until the item's next write; an
 * entry whose run is open is pending, and is taken over by a later cycle once its claim expires,
 * as before. A run that dies stays open, so nothing it stored can be taken for delivered.
 *
 * A dead run's id is removed once no entry can still carry it: its id says when its last claim
 * ran out at the latest (`settledBy`: the run's deadline plus the claim lease), and after that
 * every cycle of the entry's segment takes the entry over. So when every segment has run a clean
 * cycle (nothing skipped, nothing failed) that started after `settledBy`, no entry carries the id.
 */

/**
 * How long a published event is kept in its item before a write of its own removes it, when no
 * change has replaced it. Every Scan reads it meanwhile: an event of about 400 bytes adds about
 * 0.05 of an eventually consistent read unit per cycle, and the write that removes it costs one
 * write unit, as much as about 100 such reads (read units cost a fifth of write units). Two hours
 * is about 120 one-minute cycles: past that, keeping it costs more than removing it.
 */
export const KEEP_PUBLISHED_MS = 2 * 3_600_000;

/** Past this many open runs (runs that died and are not yet pruned), a run confirms each entry on its own instead. */
export const MAX_OPEN_RUNS = 100;

/** `<settledBy in base 36>.<random>`: unique, about 20 bytes, and saying when its last claim runs out at the latest. */
export function formatRunId(settledBy: number, random: string): string {
  return `${Math.ceil(settledBy).toString(36)}.${random}`;
}

/** When the run's claims ran out at the latest (epoch ms); undefined for an id this version did not write. */
export function runSettledBy(run: string): number | undefined {
  const match = /^([0-9a-z]{1,11})\.[0-9a-zA-Z_-]+$/.exec(run);
  if (!match) return undefined;
  const value = parseInt(match[1] as string, 36);
  return Number.isSafeInteger(value) ? value : undefined;
}

/**
 * Whether an entry is known to be published from a read of the open runs made at `readAt` or
 * later, without reading anything else of it: its claim had run out well before `readAt` (by the
 * clock allowance), so it was written or claimed before the read, when its run was already open;
 * and that run was not open at the read, so it had closed. Anything else is decoded and judged on
 * a read made after it.
 */
export function publishedBefore(entry: { readonly run?: string; readonly claimUntil: number }, open: ReadonlySet<string>, readAt: number): boolean {
  return entry.run !== undefined && !open.has(entry.run) && entry.claimUntil + CLOCK_ALLOWANCE_MS <= readAt;
}

/**
 * What `settledBy` is trusted to within: the clocks of two hosts (a Lambda and an operator's
 * laptop running `poll`) and a write that lands late. Pruning and undecoded reading wait this
 * much longer than the run's own bound.
 */
export const CLOCK_ALLOWANCE_MS = 10 * 60_000;

/**
 * The open runs no entry can carry any more: settled before every segment's last clean cycle
 * began. `cleanSince` has one value per segment of the current layout, undefined for a segment
 * without a clean cycle on record (then nothing is pruned). An id this version cannot read is kept.
 */
export function prunableRuns(open: Iterable<string>, cleanSince: readonly (number | undefined)[]): string[] {
  if (cleanSince.length === 0 || cleanSince.some((t) => t === undefined)) return [];
  const oldestClean = Math.min(...(cleanSince as number[]));
  return [...open].filter((run) => {
    const settledBy = runSettledBy(run);
    return settledBy !== undefined && settledBy + CLOCK_ALLOWANCE_MS < oldestClean;
  });
}
