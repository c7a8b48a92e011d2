import type { QueueTimers } from '../../lambda/adapters/in-memory-repoll-queue';
import type { DeliveryAttemptOutcome, WebhookDeliveryRequest, WebhookSender } from '../../lambda/core/webhook-delivery';
import { HEALTHY, type WebhookEndpoint, type WebhookEndpointId } from '../../lambda/core/webhook-endpoint';
import { MAX_IN_FLIGHT_PER_ENDPOINT, type DeliveryJob, type LoggedDelivery } from '../../lambda/core/webhook-job';
import {
  WebhookSecretMissingError,
  type AttemptRecorded,
  type DeliveryLog,
  type DeliveryRecord,
  type DeliverySlots,
  type LocalDeliveryBacklog,
  type NewWebhookEndpoint,
  type WebhookEndpointStore,
  type WebhookSecretVault,
} from '../../lambda/core/webhook-ports';
import { recordAttempt, recordDeadLetter, type AttemptVerdict } from '../../lambda/core/webhook-retry-schedule';
import type { EndpointSecrets } from '../../lambda/core/webhook-signature';

/** The registry's contract in memory: the core's health rules applied at once, one disable per endpoint. */
export class InMemoryWebhookEndpoints implements WebhookEndpointStore, DeliverySlots {
  readonly endpoints = new Map<string, WebhookEndpoint>();
  readonly leases = new Map<string, Map<string, number>>();
  /** The most leases an endpoint ever held at once. */
  readonly maxHeld = new Map<string, number>();
  private nextToken = 1;

  constructor(private readonly maxInFlight = MAX_IN_FLIGHT_PER_ENDPOINT) {}

  add(endpoint: Partial<WebhookEndpoint> & Pick<WebhookEndpoint, 'id' | 'url'>): WebhookEndpoint {
    const full: WebhookEndpoint = { events: ['unread.changed'], status: { state: 'active' }, health: HEALTHY, ...endpoint };
    this.endpoints.set(full.id, full);
    return full;
  }

  list(): Promise<WebhookEndpoint[]> {
    return Promise.resolve([...this.endpoints.values()].sort((a, b) => a.id.localeCompare(b.id)));
  }

  get(id: WebhookEndpointId): Promise<WebhookEndpoint | undefined> {
    return Promise.resolve(this.endpoints.get(id));
  }

  create(endpoint: NewWebhookEndpoint): Promise<void> {
    this.add({ id: endpoint.id, url: endpoint.url, events: endpoint.events, ...(endpoint.identityIds ? { identityIds: endpoint.identityIds } : {}) });
    return Promise.resolve();
  }

  remove(id: WebhookEndpointId): Promise<boolean> {
    return Promise.resolve(this.endpoints.delete(id));
  }

  enable(id: WebhookEndpointId): Promise<boolean> {
    const endpoint = this.endpoints.get(id);
    if (!endpoint) return Promise.resolve(false);
    this.endpoints.set(id, { ...endpoint, status: { state: 'active' }, health: HEALTHY });
    return Promise.resolve(true);
  }

  recordAttempt(id: WebhookEndpointId, verdict: AttemptVerdict, nowMs: number): Promise<AttemptRecorded | undefined> {
    const endpoint = this.endpoints.get(id);
    if (!endpoint) return Promise.resolve(undefined);
    const update = recordAttempt(endpoint.health, verdict, nowMs);
    const disables = update.disable !== undefined && endpoint.status.state === 'active';
    this.endpoints.set(id, {
      ...endpoint,
      health: update.health,
      ...(disables && update.disable ? { status: { state: 'disabled', reason: update.disable, sinceMs: nowMs } } : {}),
    });
    return Promise.resolve(disables && update.disable ? { health: update.health, disabled: update.disable } : { health: update.health });
  }

  recordDeadLetter(id: WebhookEndpointId): Promise<void> {
    const endpoint = this.endpoints.get(id);
    if (endpoint) this.endpoints.set(id, { ...endpoint, health: recordDeadLetter(endpoint.health) });
    return Promise.resolve();
  }

  acquire(id: WebhookEndpointId, nowMs: number, leaseMs: number): Promise<string | undefined> {
    const held = this.leases.get(id) ?? new Map<string, number>();
    for (const [token, until] of held) if (until <= nowMs) held.delete(token);
    if (held.size >= this.maxInFlight) return Promise.resolve(undefined);
    const token = `slot${this.nextToken++}`;
    held.set(token, nowMs + leaseMs);
    this.leases.set(id, held);
    this.maxHeld.set(id, Math.max(this.maxHeld.get(id) ?? 0, held.size));
    return Promise.resolve(token);
  }

  release(id: WebhookEndpointId, slot: string): Promise<void> {
    this.leases.get(id)?.delete(slot);
    return Promise.resolve();
  }

  status(id: string): WebhookEndpoint['status'] | undefined {
    return this.endpoints.get(id)?.status;
  }
}

/** The log's contract in memory. */
export class InMemoryDeliveryLog implements DeliveryLog {
  readonly entries = new Map<string, LoggedDelivery & { delivered: boolean }>();
  failWrites = false;

  wasDelivered(job: DeliveryJob): Promise<boolean> {
    return Promise.resolve(this.entries.get(`${job.endpointId}|${job.logKey}`)?.delivered === true);
  }

  record({ job, attempt, state, nextAttemptAtMs }: DeliveryRecord): Promise<void> {
    if (this.failWrites) return Promise.reject(new Error('log write refused'));
    const key = `${job.endpointId}|${job.logKey}`;
    const before = this.entries.get(key);
    this.entries.set(key, {
      endpointId: job.endpointId,
      logKey: job.logKey,
      eventId: job.eventId,
      eventType: job.eventType,
      body: before?.body ?? job.body,
      state,
      attempts: [...(before?.attempts ?? []), attempt],
      updatedAtMs: attempt.atMs,
      ...(nextAttemptAtMs === undefined ? {} : { nextAttemptAtMs }),
      delivered: (before?.delivered ?? false) || (state === 'delivered' && job.kind !== 'test'),
    });
    return Promise.resolve();
  }

  markDropped(job: DeliveryJob, nowMs: number): Promise<void> {
    const key = `${job.endpointId}|${job.logKey}`;
    const before = this.entries.get(key);
    if (before && before.state !== 'delivered') this.entries.set(key, { ...before, state: 'dropped', updatedAtMs: nowMs });
    return Promise.resolve();
  }

  list(id: WebhookEndpointId, options: { limit?: number; sinceLogKey?: string }): Promise<LoggedDelivery[]> {
    const mine = [...this.entries.values()].filter((e) => e.endpointId === id).sort((a, b) => a.logKey.localeCompare(b.logKey));
    const since = options.sinceLogKey;
    const chosen = since === undefined ? mine.reverse() : mine.filter((e) => e.logKey >= since);
    return Promise.resolve(chosen.slice(0, options.limit ?? chosen.length));
  }

  removeAll(id: WebhookEndpointId): Promise<void> {
    for (const [key, entry] of this.entries) if (entry.endpointId === id) this.entries.delete(key);
    return Promise.resolve();
  }

  stateOf(endpointId: string, eventId: string): string | undefined {
    return [...this.entries.values()].find((e) => e.endpointId === endpointId && e.eventId === eventId)?.state;
  }
}

export class InMemorySecretVault implements WebhookSecretVault {
  readonly secrets = new Map<string, EndpointSecrets>();

  store(id: WebhookEndpointId, secrets: EndpointSecrets): Promise<void> {
    this.secrets.set(id, secrets);
    return Promise.resolve();
  }

  load(id: WebhookEndpointId): Promise<EndpointSecrets> {
    const secrets = this.secrets.get(id);
    return secrets ? Promise.resolve(secrets) : Promise.reject(new WebhookSecretMissingError(`webhook ${id} has no signing secret`));
  }

  remove(id: WebhookEndpointId): Promise<void> {
    this.secrets.delete(id);
    return Promise.resolve();
  }
}

export interface SentRequest extends WebhookDeliveryRequest {
  readonly atMs: number;
}

/**
 * A sender that answers from a script per URL (the last answer repeats), recording what it was
 * asked to send and when on the test's clock. An answer may be a function, to hold or throw.
 */
export class ScriptedSender implements WebhookSender {
  readonly sent: SentRequest[] = [];
  private readonly scripts = new Map<string, (DeliveryAttemptOutcome | (() => Promise<DeliveryAttemptOutcome>))[]>();

  constructor(private readonly clock: () => number) {}

  answer(url: string, ...answers: (DeliveryAttemptOutcome | (() => Promise<DeliveryAttemptOutcome>))[]): this {
    this.scripts.set(url, answers);
    return this;
  }

  send(request: WebhookDeliveryRequest): Promise<DeliveryAttemptOutcome> {
    this.sent.push({ ...request, atMs: this.clock() });
    const script = this.scripts.get(request.url) ?? [];
    const next = script.length > 1 ? script.shift() : script[0];
    if (next === undefined) return Promise.resolve(status(204));
    return typeof next === 'function' ? next() : Promise.resolve(next);
  }

  sentTo(url: string): SentRequest[] {
    return this.sent.filter((r) => r.url === url);
  }
}

export function status(code: number, retryAfter?: string): DeliveryAttemptOutcome {
  return { kind: 'response', status: code, durationMs: 10, ...(retryAfter === undefined ? {} : { retryAfter }) };
}

/** Timers and a clock the test moves; due timers fire in time order, each at its own time. */
export class ManualClock implements QueueTimers {
  nowMs: number;
  private readonly due = new Map<number, { at: number; run: () => void }>();
  private nextHandle = 1;

  constructor(startMs: number) {
    this.nowMs = startMs;
  }

  readonly now = (): number => this.nowMs;

  setTimeout(run: () => void, ms: number): unknown {
    const handle = this.nextHandle++;
    this.due.set(handle, { at: this.nowMs + ms, run });
    return handle;
  }

  clearTimeout(handle: unknown): void {
    this.due.delete(handle as number);
  }

  /** Moves the clock forward, firing each due timer at its time and letting its work settle. */
  async advance(ms: number): Promise<void> {
    const end = this.nowMs + ms;
    for (;;) {
      await settle();
      const next = [...this.due].sort((a, b) => a[1].at - b[1].at)[0];
      if (next === undefined || next[1].at > end) break;
      this.due.delete(next[0]);
      this.nowMs = Math.max(this.nowMs, next[1].at);
      next[1].run();
    }
    this.nowMs = end;
    await settle();
  }

  /** When the earliest timer is due, if any. */
  get nextDueMs(): number | undefined {
    return [...this.due.values()].map((d) => d.at).sort((a, b) => a - b)[0];
  }
}

/** Lets pending promise callbacks run (no time passes on the manual clock). */
export async function settle(): Promise<void> {
  for (let i = 0; i < 20; i += 1) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** The local backlog's contract in memory; `failPuts` makes writes fail. */
export class InMemoryBacklog implements LocalDeliveryBacklog {
  readonly entries = new Map<string, { job: DeliveryJob; order: number }>();
  failPuts = false;
  private order = 0;

  put(jobs: readonly DeliveryJob[]): Promise<void> {
    if (this.failPuts) return Promise.reject(Object.assign(new Error('write refused'), { name: 'ProvisionedThroughputExceededException' }));
    for (const job of jobs) {
      const key = `${job.endpointId}#${job.logKey}`;
      this.entries.set(key, { job, order: this.entries.get(key)?.order ?? this.order++ });
    }
    return Promise.resolve();
  }

  list(): Promise<DeliveryJob[]> {
    return Promise.resolve([...this.entries.values()].sort((a, b) => a.order - b.order).map((e) => e.job));
  }

  remove(job: DeliveryJob): Promise<void> {
    this.entries.delete(`${job.endpointId}#${job.logKey}`);
    return Promise.resolve();
  }
}
