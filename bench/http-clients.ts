import { CommBoxObjectsSource } from '../lambda/adapters/commbox/commbox-objects-source';
import { HttpTransportError, type HttpGetAnswer, type HttpGetRequest, type HttpTransport } from '../lambda/adapters/commbox/http-transport';
import { StaticTokenProvider } from '../lambda/adapters/token-provider';
import { DEFAULTS, Secret } from '../lambda/config';
import { parseIdentityId } from '../lambda/core/identity-id';

/**
 * The HTTP clients compared in one run, on the same simulator, in the poller's process: the
 * source's own node:http transport, and Node's global `fetch` as a reference (the client the
 * poller used before; kept here only to be measured against). Each is the whole upstream path of
 * one identity: limiter, request, body, parse.
 */
export type ClientName = 'node:http' | 'fetch';

export interface ClientMeasurement {
  readonly client: ClientName;
  readonly requests: number;
  /** Median over the rounds of this process's CPU time per request. */
  readonly cpuUsPerRequest: number;
  readonly wallMs: number;
}

export interface CompareClientsOptions {
  readonly baseUrl: string;
  readonly token: string;
  readonly ids: readonly string[];
  readonly concurrency: number;
  /** Measured rounds per client, alternating (after one warm-up round each). */
  readonly rounds: number;
}

/** `fetch` behind the source's transport interface: no redirects followed, a timeout per attempt, a bounded body. */
export class FetchReferenceTransport implements HttpTransport {
  constructor(private readonly origin: URL) {}

  async get(request: HttpGetRequest): Promise<HttpGetAnswer> {
    const signal = AbortSignal.timeout(request.timeoutMs);
    try {
      const response = await fetch(`${this.origin.origin}${request.path}`, { method: 'GET', headers: request.headers, redirect: 'manual', signal });
      const maxBytes = request.maxBodyBytes(response.status);
      const text = await response.text();
      return { status: response.status, retryAfter: response.headers.get('retry-after'), body: Buffer.byteLength(text) > maxBytes ? undefined : text };
    } catch {
      throw new HttpTransportError(signal.aborted ? 'timeout' : 'network');
    }
  }
}

async function round(source: CommBoxObjectsSource, ids: readonly string[], concurrency: number): Promise<{ cpuUs: number; wallMs: number }> {
  let next = 0;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const worker = async (): Promise<void> => {
    while (next < ids.length) {
      const id = ids[next++] as string;
      await source.fetchUnread(parseIdentityId(id));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const cpu = process.cpuUsage(cpuBefore);
  return { cpuUs: cpu.user + cpu.system, wallMs: performance.now() - started };
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[(sorted.length - 1) >> 1] as number;
};

export async function compareClients(options: CompareClientsOptions): Promise<ClientMeasurement[]> {
  const origin = new URL(options.baseUrl);
  const make = (transport?: HttpTransport): CommBoxObjectsSource =>
    new CommBoxObjectsSource({
      baseUrl: origin,
      tokens: new StaticTokenProvider(new Secret(options.token)),
      timeoutMs: DEFAULTS.requestTimeoutMs,
      maxAttempts: DEFAULTS.maxAttempts,
      maxConcurrency: options.concurrency,
      ...(transport ? { transport } : {}),
    });
  const clients: [ClientName, CommBoxObjectsSource][] = [
    ['node:http', make()],
    ['fetch', make(new FetchReferenceTransport(origin))],
  ];
  const warmUp = options.ids.slice(0, Math.min(options.ids.length, 4 * options.concurrency));
  for (const [, source] of clients) await round(source, warmUp, options.concurrency);
  const results = new Map<ClientName, { cpuUs: number; wallMs: number }[]>();
  for (let i = 0; i < options.rounds; i += 1) {
    for (const [name, source] of clients) {
      const measured = await round(source, options.ids, options.concurrency);
      results.set(name, [...(results.get(name) ?? []), measured]);
    }
  }
  return clients.map(([client]) => {
    const rounds = results.get(client) ?? [];
    return {
      client,
      requests: options.ids.length,
      cpuUsPerRequest: Math.round(median(rounds.map((r) => r.cpuUs)) / options.ids.length),
      wallMs: Math.round(median(rounds.map((r) => r.wallMs))),
    };
  });
}
