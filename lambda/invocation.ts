import type { ScanSegment } from './core/ports';

export class InvalidInvocationError extends Error {
  override readonly name = 'InvalidInvocationError';
}

/**
 * The schedule's payload: `{segment, totalSegments}` for one shard of the registry, or nothing
 * (an empty object, a scheduler envelope) for all of it.
 */
export function parseInvocation(event: unknown): ScanSegment | undefined {
  if (typeof event !== 'object' || event === null) return undefined;
  const { segment, totalSegments } = event as { segment?: unknown; totalSegments?: unknown };
  if (segment === undefined && totalSegments === undefined) return undefined;
  return parseSegment(segment, totalSegments);
}

export function parseSegment(segment: unknown, totalSegments: unknown): ScanSegment {
  const total = Number(totalSegments);
  const index = Number(segment);
  if (!Number.isInteger(total) || total < 1 || total > 1_000_000) {
    throw new InvalidInvocationError(`totalSegments must be an integer from 1 to 1000000, got ${JSON.stringify(totalSegments)}`);
  }
  if (!Number.isInteger(index) || index < 0 || index >= total) {
    throw new InvalidInvocationError(`segment must be an integer from 0 to ${total - 1}, got ${JSON.stringify(segment)}`);
  }
  return { segment: index, totalSegments: total };
}
