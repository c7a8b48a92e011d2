/**
 * The CommBox source end to end against an upstream answering anything: any status, any body,
 * any Retry-After, a connection that breaks. What comes out is a valid state, not-found, or one
 * of the two typed errors, and never the token.
 */
import fc from 'fast-check';
import { inspect } from 'node:util';
import { CommBoxObjectsSource } from '../../lambda/adapters/commbox/commbox-objects-source';
import { HttpTransportError, type HttpTransport } from '../../lambda/adapters/commbox/http-transport';
import { StaticTokenProvider } from '../../lambda/adapters/token-provider';
import { Secret } from '../../lambda/config';
import { UpstreamError, UpstreamUnauthorizedError } from '../../lambda/core/errors';
import { parseIdentityId } from '../../lambda/core/identity-id';

const TOKEN = 'canary-property-token-3b9f';
const ID = parseIdentityId('558355');

type Answer = { readonly kind: 'response'; readonly status: number; readonly body: string; readonly retryAfter?: string } | { readonly kind: 'network-error' };

const body = fc.oneof(
  fc.string(),
  fc.json(),
  fc.constantFrom('', '{"status":200,"totalUnreadChatMessages":2,"data":[{"objectId":1,"streamId":2,"unreadMessages":2}]}', '{"status":200,"totalUnreadChatMessages":-1,"data":[]}', '{"status":200,"totalUnreadChatMessages":1.5,"data":[]}', '{"status":500}', '{"status":401}', '{"status":404}'),
  fc.record({ status: fc.oneof(fc.constant(200), fc.integer()), totalUnreadChatMessages: fc.oneof(fc.nat(), fc.double(), fc.string()), data: fc.oneof(fc.constant(null), fc.array(fc.record({ objectId: fc.oneof(fc.nat(), fc.string()), streamId: fc.nat(), unreadMessages: fc.oneof(fc.nat(), fc.integer(), fc.double()) }), { maxLength: 4 })) }).map((b) => JSON.stringify(b)),
);

const answer: fc.Arbitrary<Answer> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('response' as const), status: fc.constant(200), body }) },
  {
    weight: 4,
    arbitrary: fc.record(
      { kind: fc.constant('response' as const), status: fc.integer({ min: 200, max: 599 }), body, retryAfter: fc.oneof(fc.string(), fc.nat().map(String), fc.date().map((d) => (Number.isNaN(d.getTime()) ? 'x' : d.toUTCString()))) },
      { requiredKeys: ['kind', 'status', 'body'] },
    ),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'network-error' as const }) },
);

/** A transport that plays the scripted answers in order (the last one again when they run out). */
function scripted(answers: readonly Answer[]): HttpTransport & { requests: number } {
  return {
    requests: 0,
    get() {
      const a = answers[Math.min(this.requests, answers.length - 1)] as Answer;
      this.requests += 1;
      if (a.kind === 'network-error') return Promise.reject(new HttpTransportError('network', 'ECONNRESET'));
      return Promise.resolve({ status: a.status, retryAfter: a.retryAfter ?? null, body: a.body });
    },
  };
}

function source(answers: readonly Answer[]): CommBoxObjectsSource {
  return new CommBoxObjectsSource({
    baseUrl: new URL('https://api.commbox.example'),
    tokens: new StaticTokenProvider(new Secret(TOKEN)),
    timeoutMs: 1000,
    maxAttempts: 3,
    maxConcurrency: 1,
    transport: scripted(answers),
    sleep: () => Promise.resolve(),
    random: () => 0.5,
    maxRetryAfterMs: 0,
  });
}

describe('CommBoxObjectsSource against arbitrary answers', () => {
  test('yields a valid state or not-found, or throws only UpstreamError or UpstreamUnauthorizedError', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(answer, { minLength: 1, maxLength: 5 }), async (answers) => {
        const outcome = await source(answers).fetchUnread(ID).then(
          (value) => ({ value }),
          (error: unknown) => ({ error }),
        );

        if ('error' in outcome) {
          const typed = outcome.error instanceof UpstreamError || outcome.error instanceof UpstreamUnauthorizedError;
          expect(typed ? 'typed error' : inspect(outcome.error)).toBe('typed error');
          return;
        }
        if (outcome.value.kind === 'not-found') return;
        const { total, conversations } = outcome.value.state;
        expect(Number.isSafeInteger(total) && total >= 0).toBe(true);
        expect(conversations.every((c) => Number.isSafeInteger(c.unread) && c.unread > 0)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  test('never puts the token in an error', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(answer, { minLength: 1, maxLength: 4 }), async (answers) => {
        const error = await source(answers).fetchUnread(ID).then(
          () => undefined,
          (e: unknown) => e,
        );

        expect(`${String(error)} ${inspect(error, { depth: 10, showHidden: true })}`).not.toContain(TOKEN);
      }),
      { numRuns: 200 },
    );
  });

  test('stops at maxAttempts: never more than 3 requests (plus one after refreshing a refused token)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(answer, { minLength: 1, maxLength: 8 }), async (answers) => {
        const transport = scripted(answers);
        const s = new CommBoxObjectsSource({
          baseUrl: new URL('https://api.commbox.example'),
          tokens: new StaticTokenProvider(new Secret(TOKEN)),
          timeoutMs: 1000,
          maxAttempts: 3,
          maxConcurrency: 1,
          transport,
          sleep: () => Promise.resolve(),
          maxRetryAfterMs: 0,
        });

        await s.fetchUnread(ID).catch(() => undefined);

        expect(transport.requests).toBeLessThanOrEqual(4);
      }),
      { numRuns: 200 },
    );
  });
});
