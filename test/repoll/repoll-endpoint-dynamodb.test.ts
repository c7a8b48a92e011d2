import { DynamoDbRepollMarker } from '../../lambda/adapters/dynamodb-repoll-marker';
import { parseIdentityId } from '../../lambda/core/identity-id';
import { DEFAULT_REPOLL_WINDOW_MS } from '../../lambda/core/repoll-debounce';
import { handleRepollRequest, type RepollHttpRequest } from '../../lambda/repoll-endpoint';
import { createTestTable } from '../support/dynalite';
import { fixedSecrets, ManualClock, RecordingRepollQueue } from '../support/repoll-fakes';

const SECRET = 'current-secret-4f9a1c2e7b';
const W = DEFAULT_REPOLL_WINDOW_MS;

async function setup() {
  const { client, tableName, registry } = await createTestTable();
  await registry.register(parseIdentityId('558355'));
  const clock = new ManualClock();
  const queue = new RecordingRepollQueue();
  const deps = { secrets: fixedSecrets(SECRET), marker: new DynamoDbRepollMarker(client, tableName), queue, now: clock.now };
  const request: RepollHttpRequest = {
    method: 'POST',
    path: `/repoll/${SECRET}`,
    headers: {},
    body: Buffer.from('{"payload":{"User":{"Identity":{"Id":558355}}},"ObjectId":"762"}'),
  };
  return { clock, queue, call: () => handleRepollRequest(request, deps) };
}

describe('the re-poll endpoint on the DynamoDB marker (dynalite)', () => {
  test('a burst of 50 webhooks for one identity over 1.5 s gives one poll now and one at the window end', async () => {
    const { clock, queue, call } = await setup();
    const start = clock.nowMs;

    for (let i = 0; i < 50; i += 1) {
      expect((await call()).status).toBe(202);
      clock.advance(30);
    }

    expect(queue.sent).toEqual([
      { identityId: '558355', delayMs: 0, requestedAt: start },
      { identityId: '558355', delayMs: W - 30, requestedAt: start + 30 },
    ]);
  });

  test('50 webhooks for one identity arriving at once give one poll now and one at the window end', async () => {
    const { queue, call } = await setup();

    const responses = await Promise.all(Array.from({ length: 50 }, () => call()));

    expect(responses.every((r) => r.status === 202)).toBe(true);
    expect(queue.sent.map((m) => m.delayMs).sort((a, b) => a - b)).toEqual([0, W]);
  });
});
