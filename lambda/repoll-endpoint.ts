import type { IdentityId } from './core/identity-id';
import { parseRepollPath, presentedSecrets, redactRepollPath, RepollSecrets, type RepollRoute } from './core/repoll-auth';
import { DEFAULT_REPOLL_WINDOW_MS } from './core/repoll-debounce';
import type { ObjectIdentityLookup, RepollDecision, RepollMarker, RepollMessage, RepollQueue, RepollSecretSource } from './core/repoll-ports';
import {
  parseRepollRequest,
  type IdentityEntry,
  type IgnoredEntry,
  type IgnoredReason,
  type ObjectEntry,
  type RepollEntry,
  type RepollRequest,
} from './core/repoll-request';
import { runPool } from './core/worker-pool';

/** A request as any transport hands it over (Lambda Function URL, API Gateway, node:http). */
export interface RepollHttpRequest {
  readonly method: string;
  /** The raw path, possibly with a query string; it may carry the secret, so it is never logged as is. */
  readonly path: string;
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly body: Uint8Array;
}

export interface RepollHttpResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  /** JSON: `{"accepted":[…],"ignored":[…]}` for 202, `{"error":"<one line>"}` otherwise. */
  readonly body: string;
  /** Counts for metrics; the same as the log line. */
  readonly summary: RepollSummary;
}

export interface RepollSummary {
  readonly status: number;
  readonly form?: RepollRequest['form'];
  readonly accepted: number;
  readonly pollNow: number;
  readonly trailing: number;
  readonly collapsed: number;
  readonly ignored: Readonly<Record<IgnoredReason, number>>;
  /** Entries whose marker write or queue message failed (the request is answered 503). */
  readonly failed: number;
}

/** Structured log lines; fields are counts, kinds, a masked path and error names: never the body or the secret. */
export interface RepollLog {
  info(message: string, fields: Record<string, unknown>): void;
  error(message: string, fields: Record<string, unknown>): void;
}

export interface RepollEndpointDeps {
  readonly secrets: RepollSecretSource;
  readonly marker: RepollMarker;
  readonly queue: RepollQueue;
  /** When absent, a webhook naming only an ObjectId is ignored as `object-only-unmapped`. */
  readonly lookup?: ObjectIdentityLookup;
  /** Epoch milliseconds. */
  readonly now: () => number;
  /** @default DEFAULT_REPOLL_WINDOW_MS (2 s) */
  readonly windowMs?: number;
  /** Marker writes in flight at once for one request. @default 16 */
  readonly concurrency?: number;
  readonly log?: RepollLog;
}

type ResponseBody = { readonly error: string } | { readonly accepted: readonly IdentityId[]; readonly ignored: readonly IgnoredEntry[] };

const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' } as const;
const NO_COUNTS: Readonly<Record<IgnoredReason, number>> = { malformed: 0, unregistered: 0, 'object-only-unmapped': 0 };

/**
 * `POST /repoll` (secret in `Authorization: Bearer`) or `POST /repoll/<secret>`: checks the
 * secret, reads the ids, marks each identity (registration check and debounce in one write) and
 * queues the polls it was granted. Answers 202 `{"accepted":["558355"],"ignored":[{"reason":…}]}`
 * (ids as decimal strings) once the polls are queued; 401, 400, 405, 413 with a one-line reason;
 * 503 when the secret, the marker or the queue could not be reached (retrying costs at most one
 * extra poll). Logs one line per request, without the body or the secret.
 */
export async function handleRepollRequest(request: RepollHttpRequest, deps: RepollEndpointDeps): Promise<RepollHttpResponse> {
  const startedAt = deps.now();
  const path = redactRepollPath(request.path);
  const finish = (status: number, body: ResponseBody, summary: Partial<RepollSummary> = {}, headers: Record<string, string> = {}): RepollHttpResponse => {
    const full: RepollSummary = { status, accepted: 0, pollNow: 0, trailing: 0, collapsed: 0, ignored: NO_COUNTS, failed: 0, ...summary };
    // The reason is one of this module's own sentences: it never quotes the request.
    const reason = 'error' in body ? { reason: body.error } : {};
    deps.log?.info('re-poll request', { path, ...full, ...reason, durationMs: deps.now() - startedAt });
    return { status, headers: { ...JSON_HEADERS, ...headers }, body: JSON.stringify(body), summary: full };
  };

  const route = parseRepollPath(request.path);
  if (route.kind === 'other') return finish(404, { error: 'not found: the endpoint is POST /repoll' });
  if (request.method.toUpperCase() !== 'POST') return finish(405, { error: 'method not allowed: use POST' }, {}, { allow: 'POST' });

  const auth = await authorize(route, request.headers, deps);
  if (auth !== 'ok') {
    if (auth === 'unavailable') return finish(503, { error: 'the secret cannot be checked right now; retry' });
    const error = auth === 'missing' ? 'missing secret: send Authorization: Bearer <secret> or POST /repoll/<secret>' : 'wrong secret';
    return finish(401, { error }, {}, { 'www-authenticate': 'Bearer' });
  }

  const parsed = parseRepollRequest(request.body);
  if (!parsed.ok) return finish(parsed.status, { error: parsed.reason });

  const outcome = await resolve(parsed.request, deps, startedAt);
  const summary: Partial<RepollSummary> = {
    form: parsed.request.form,
    accepted: outcome.accepted.length,
    pollNow: outcome.messages.filter((m) => m.delayMs === 0).length,
    trailing: outcome.messages.filter((m) => m.delayMs > 0).length,
    collapsed: outcome.collapsed,
    ignored: countReasons(outcome.ignored),
    failed: outcome.failed,
  };
  if (outcome.failed > 0) {
    const total = outcome.messages.length + outcome.failedMarks;
    return finish(503, { error: `could not queue ${outcome.failed} of ${total} re-polls; retry the request` }, summary);
  }
  return finish(202, { accepted: outcome.accepted, ignored: outcome.ignored }, summary);
}

/**
 * Secrets that do not change while the process runs (`serve`'s REPOLL_SECRET). Throws
 * RepollSecretError, naming the problem and never the value, for a secret that is too weak.
 */
export function fixedRepollSecrets(current: string, previous?: string): RepollSecretSource {
  const secrets = RepollSecrets.of(current, previous);
  return { get: () => Promise.resolve(secrets) };
}

async function authorize(
  route: RepollRoute,
  headers: RepollHttpRequest['headers'],
  deps: RepollEndpointDeps,
): Promise<'ok' | 'missing' | 'wrong' | 'unavailable'> {
  const presented = presentedSecrets(route, headers);
  if (presented.length === 0) return 'missing';
  try {
    if ((await deps.secrets.get()).matchesAny(presented)) return 'ok';
    if (deps.secrets.refresh && (await deps.secrets.refresh()).matchesAny(presented)) return 'ok';
    return 'wrong';
  } catch (error) {
    deps.log?.error('cannot read the re-poll secret', { error: errorSummary(error) });
    return 'unavailable';
  }
}

interface Outcome {
  /** Ids granted a poll or collapsed into one, in the order of the request. */
  readonly accepted: IdentityId[];
  readonly ignored: IgnoredEntry[];
  readonly messages: RepollMessage[];
  readonly collapsed: number;
  /** Marker writes or lookups that failed. */
  readonly failedMarks: number;
  /** failedMarks plus messages the queue did not take. */
  readonly failed: number;
}

/** What became of one entry of the request. */
type EntryResult =
  | { readonly kind: 'decided'; readonly decisions: readonly Granted[] }
  | { readonly kind: 'ignored'; readonly entry: IgnoredEntry }
  | { readonly kind: 'failed' };

interface Granted {
  readonly id: IdentityId;
  readonly decision: RepollDecision;
}

async function resolve(request: RepollRequest, deps: RepollEndpointDeps, now: number): Promise<Outcome> {
  const windowMs = deps.windowMs ?? DEFAULT_REPOLL_WINDOW_MS;
  // One marker write per identity and request, whichever entries name it: a second write would
  // earn the identity a trailing poll. The decision belongs to the first entry that asked.
  const marks = new Map<IdentityId, Promise<RepollDecision>>();
  const markOnce = async (id: IdentityId): Promise<{ registered: boolean; granted?: Granted }> => {
    const known = marks.get(id);
    if (known) return { registered: (await known).decision !== 'unregistered' };
    const pending = deps.marker.mark(id, now, windowMs);
    marks.set(id, pending);
    const decision = await pending;
    return decision.decision === 'unregistered' ? { registered: false } : { registered: true, granted: { id, decision } };
  };

  const results = new Map<RepollEntry, EntryResult>();
  await runPool(request.entries, deps.concurrency ?? 16, async (entry) => {
    try {
      results.set(entry, entry.kind === 'identity' ? await resolveIdentity(entry, markOnce) : await resolveObject(entry, markOnce, deps.lookup));
    } catch (error) {
      results.set(entry, { kind: 'failed' });
      deps.log?.error('re-poll marker write or lookup failed', { error: errorSummary(error) });
    }
  }, () => true);

  const accepted: IdentityId[] = [];
  const ignored: IgnoredEntry[] = [...request.ignored];
  const messages: RepollMessage[] = [];
  let collapsed = 0;
  let failedMarks = 0;
  for (const entry of request.entries) {
    const result = results.get(entry);
    if (result === undefined || result.kind === 'failed') {
      failedMarks += 1;
    } else if (result.kind === 'ignored') {
      ignored.push(result.entry);
    } else {
      for (const { id, decision } of result.decisions) {
        accepted.push(id);
        if (decision.decision === 'poll-now') messages.push({ identityId: id, delayMs: 0, requestedAt: now });
        else if (decision.decision === 'poll-at-window-end') messages.push({ identityId: id, delayMs: decision.delayMs, requestedAt: now });
        else collapsed += 1;
      }
    }
  }
  const failed = failedMarks + (await send(deps, messages));
  return { accepted, ignored, messages, collapsed, failedMarks, failed };
}

type MarkOnce = (id: IdentityId) => Promise<{ registered: boolean; granted?: Granted }>;

/** The first registered form of the id (as given, then decoded). */
async function resolveIdentity(entry: IdentityEntry, markOnce: MarkOnce): Promise<EntryResult> {
  for (const id of entry.tries) {
    const { registered, granted } = await markOnce(id);
    if (registered) return { kind: 'decided', decisions: granted ? [granted] : [] };
  }
  return { kind: 'ignored', entry: { reason: 'unregistered', id: entry.id } };
}

/** The registered identities of the conversation, when a lookup is wired and finds any. */
async function resolveObject(entry: ObjectEntry, markOnce: MarkOnce, lookup: ObjectIdentityLookup | undefined): Promise<EntryResult> {
  const ids = lookup ? await lookup.identitiesOf(entry.objectId) : [];
  const decisions: Granted[] = [];
  let registered = 0;
  for (const id of ids) {
    const mark = await markOnce(id);
    if (mark.registered) registered += 1;
    if (mark.granted) decisions.push(mark.granted);
  }
  if (registered === 0) return { kind: 'ignored', entry: { reason: 'object-only-unmapped', objectId: entry.objectId } };
  return { kind: 'decided', decisions };
}

/** How many messages the queue did not take. */
async function send(deps: RepollEndpointDeps, messages: readonly RepollMessage[]): Promise<number> {
  if (messages.length === 0) return 0;
  try {
    const { failed } = await deps.queue.send(messages);
    if (failed.length > 0) deps.log?.error('re-poll queue refused messages', { failed: failed.length, reasons: [...new Set(failed.map((f) => f.reason))] });
    return failed.length;
  } catch (error) {
    deps.log?.error('re-poll queue send failed', { error: errorSummary(error) });
    return messages.length;
  }
}

function countReasons(ignored: readonly IgnoredEntry[]): Record<IgnoredReason, number> {
  const counts = { ...NO_COUNTS };
  for (const entry of ignored) counts[entry.reason] += 1;
  return counts;
}

/** The error's name and message: SDK and our own errors name kinds and ids, never request content. */
function errorSummary(error: unknown): { name: string; message: string } {
  if (error instanceof Error) return { name: error.name, message: error.message };
  return { name: 'Error', message: String(error) };
}
