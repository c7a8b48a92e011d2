/** A small, fast, seedable PRNG (mulberry32): the same seed gives the same sequence on every run. */
export type Random = () => number;

export function mulberry32(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A 32-bit seed from several parts (FNV-1a), so a draw can depend on what it is about (seed,
 * identity, request number) instead of on the order concurrent requests happened to arrive in.
 */
export function hashSeed(...parts: readonly (string | number)[]): number {
  let hash = 0x811c9dc5;
  const text = parts.join('\u0001');
  for (let i = 0; i < text.length; i += 1) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** An integer in [min, max]. */
export function randomInt(random: Random, min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1));
}

export function pick<T>(random: Random, items: readonly T[]): T {
  if (items.length === 0) throw new RangeError('pick from an empty list');
  return items[Math.floor(random() * items.length)] as T;
}

/** `k` distinct indices in [0, n), in O(k) (Floyd's algorithm), whatever n is. */
export function sampleIndices(random: Random, n: number, k: number): number[] {
  const chosen = new Set<number>();
  const order: number[] = [];
  for (let j = n - Math.min(k, n); j < n; j += 1) {
    const t = randomInt(random, 0, j);
    const index = chosen.has(t) ? j : t;
    chosen.add(index);
    order.push(index);
  }
  return order;
}
