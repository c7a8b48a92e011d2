import type { IdentityId } from '../../lambda/core/identity-id';
import { DEFAULT_REPOLL_WINDOW_MS } from '../../lambda/core/repoll-debounce';
import { CoalescingRepollMarker } from '../../local/coalescing-repoll-marker';
import { InMemoryRepollMarker } from '../support/repoll-fakes';

const ID = '558355' as IdentityId;
const W = DEFAULT_REPOLL_WINDOW_MS;
const T = 1_770_000_000_000;

describe("serve's marker: one identity's marks in order, and requests for a poll not yet started answered without the table", () => {
  test('a burst of 50 at once: one poll now, one at the window end, 48 collapsed; the table is asked twice', async () => {
    const table = new InMemoryRepollMarker([ID]);
    const marker = new CoalescingRepollMarker(table);

    const decisions = await Promise.all(Array.from({ length: 50 }, (_, i) => marker.mark(ID, T + i, W)));

    expect(decisions[0]).toEqual({ decision: 'poll-now' });
    expect(decisions[1]).toEqual({ decision: 'poll-at-window-end', delayMs: W - 1 });
    expect(decisions.slice(2).every((d) => d.decision === 'collapsed')).toBe(true);
    expect(table.marked).toHaveLength(2);
  });

  test('once the trailing poll has started, the next request asks the table again', async () => {
    const table = new InMemoryRepollMarker([ID]);
    const marker = new CoalescingRepollMarker(table);
    await marker.mark(ID, T, W);
    await marker.mark(ID, T + 10, W);

    const later = await marker.mark(ID, T + W + 10, W);

    expect(later).toEqual({ decision: 'poll-at-window-end', delayMs: W - 10 });
    expect(table.marked).toHaveLength(3);
  });

  test('decides exactly as the table alone would, request by request', async () => {
    const times = [0, 5, 700, 1_999, 2_000, 2_001, 3_500, 4_100, 4_200, 9_000, 9_001, 11_500];
    const alone = new InMemoryRepollMarker([ID]);
    const coalescing = new CoalescingRepollMarker(new InMemoryRepollMarker([ID]));

    for (const t of times) {
      expect([t, await coalescing.mark(ID, T + t, W)]).toEqual([t, await alone.mark(ID, T + t, W)]);
    }
  });

  test('an unregistered identity is asked of the table each time (it may be registered meanwhile)', async () => {
    const table = new InMemoryRepollMarker([]);
    const marker = new CoalescingRepollMarker(table);

    await marker.mark(ID, T, W);
    await marker.mark(ID, T + 1, W);

    expect(table.marked).toHaveLength(2);
  });
});
