import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

/**
 * One HTTP GET the way the CommBox source needs it: to a fixed origin, never following a
 * redirect, bounded in time (body included) and in body size. The source only sees a status,
 * the `Retry-After` header and the body text, so the wire client behind it can be swapped.
 */
export interface HttpGetRequest {
  /** Path and query, appended to the transport's origin. */
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  /** For the whole exchange, body included. */
  readonly timeoutMs: number;
  /** Body bytes to accept for this status; beyond it the body is dropped (`body` undefined). */
  readonly maxBodyBytes: (status: number) => number;
}

export interface HttpGetAnswer {
  readonly status: number;
  /** The `Retry-After` header as received, or null. */
  readonly retryAfter: string | null;
  /** The body as UTF-8 text; undefined when it was larger than allowed. */
  readonly body: string | undefined;
}

/** The exchange failed without a status: no answer in time, or the connection broke. */
export class HttpTransportError extends Error {
  override readonly name = 'HttpTransportError';
  constructor(
    readonly kind: 'timeout' | 'network',
    /** An errno-style code (ECONNREFUSED, ECONNRESET…), never a message that could quote data. */
    readonly code?: string,
  ) {
    super(kind === 'timeout' ? 'no answer in time' : `network error${code ? ` (${code})` : ''}`);
  }
}

/** Which wire client the CommBox source uses (`UPSTREAM_HTTP_CLIENT`). */
export type HttpClientKind = 'fetch' | 'node';

export interface HttpTransport {
  get(request: HttpGetRequest): Promise<HttpGetAnswer>;
}

/**
 * node:http(s) with a keep-alive pool: less CPU per request than Node 20's fetch (no undici,
 * web streams, AbortSignal or Headers objects per request), which matters because CPU per
 * request is what bounds a small Lambda at high request rates. The figures are in the README
 * (Performance), from `npm run bench -- --http node`.
 */
export class NodeHttpTransport implements HttpTransport {
  private readonly agent: HttpAgent;
  private readonly send: typeof httpRequest;
  private readonly hostname: string;
  private readonly port: number | undefined;

  constructor(origin: URL, maxSockets: number) {
    const https = origin.protocol === 'https:';
    this.agent = https ? new HttpsAgent({ keepAlive: true, maxSockets }) : new HttpAgent({ keepAlive: true, maxSockets });
    this.send = https ? httpsRequest : httpRequest;
    // URL keeps IPv6 hosts bracketed; node:http wants them bare.
    this.hostname = origin.hostname.replace(/^\[(.*)\]$/, '$1');
    this.port = origin.port === '' ? undefined : Number(origin.port);
  }

  get(request: HttpGetRequest): Promise<HttpGetAnswer> {
    return new Promise<HttpGetAnswer>((resolve, reject) => {
      let settled = false;
      const finish = (outcome: () => void): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        outcome();
      };
      const fail = (error: unknown): void => finish(() => reject(new HttpTransportError('network', errnoCode(error))));
      const req = this.send(
        { hostname: this.hostname, port: this.port, path: request.path, method: 'GET', headers: request.headers, agent: this.agent },
        (res) => readBody(res, request.maxBodyBytes(res.statusCode ?? 0), finish, resolve, fail),
      );
      const timer = setTimeout(() => {
        finish(() => reject(new HttpTransportError('timeout')));
        req.destroy();
      }, request.timeoutMs);
      req.on('error', fail);
      req.end();
    });
  }
}

function readBody(
  res: IncomingMessage,
  maxBytes: number,
  finish: (outcome: () => void) => void,
  resolve: (answer: HttpGetAnswer) => void,
  fail: (error: unknown) => void,
): void {
  const status = res.statusCode ?? 0;
  const retryAfter = headerValue(res.headers['retry-after']);
  const answer = (body: string | undefined): void => finish(() => resolve({ status, retryAfter, body }));
  const declared = Number(res.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    // Not worth reading; the connection goes with it.
    answer(undefined);
    res.destroy();
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  let ended = false;
  res.on('data', (chunk: Buffer) => {
    size += chunk.byteLength;
    if (size > maxBytes) {
      answer(undefined);
      res.destroy();
      return;
    }
    chunks.push(chunk);
  });
  res.on('end', () => {
    ended = true;
    answer(chunks.length === 1 ? (chunks[0] as Buffer).toString('utf8') : Buffer.concat(chunks).toString('utf8'));
  });
  res.on('error', fail);
  // A connection cut mid-body closes the response without 'end' (and, on some versions, without 'error').
  res.on('close', () => {
    if (!ended) fail(new HttpTransportError('network', 'ECONNRESET'));
  });
}

function headerValue(value: string | string[] | undefined): string | null {
  if (value === undefined) return null;
  return Array.isArray(value) ? value.join(', ') : value;
}

/**
 * `fetch` as a transport (an injected one in tests). The body is read chunk by chunk so an
 * oversized one is cut off instead of buffered.
 */
export class FetchTransport implements HttpTransport {
  constructor(
    private readonly origin: URL,
    private readonly fetchImpl: typeof fetch,
  ) {}

  async get(request: HttpGetRequest): Promise<HttpGetAnswer> {
    const signal = AbortSignal.timeout(request.timeoutMs);
    try {
      const response = await this.fetchImpl(`${this.origin.origin}${request.path}`, {
        method: 'GET',
        headers: request.headers,
        // Never follow: a redirect would carry the bearer token to wherever it points.
        redirect: 'manual',
        signal,
      });
      const body = await readBounded(response, request.maxBodyBytes(response.status));
      return { status: response.status, retryAfter: response.headers.get('retry-after'), body };
    } catch (error) {
      if (signal.aborted) throw new HttpTransportError('timeout');
      // fetch wraps the socket's error: `TypeError('fetch failed', { cause })`.
      const cause = typeof error === 'object' && error !== null && 'cause' in error ? error.cause : undefined;
      throw new HttpTransportError('network', errnoCode(cause) ?? errnoCode(error));
    }
  }
}

/** Reads at most `maxBytes` of the body; undefined (and the rest cancelled) beyond that. */
async function readBounded(response: Response, maxBytes: number): Promise<string | undefined> {
  const declared = Number(response.headers.get('content-length'));
  if (response.body === null) return '';
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body.cancel();
    return undefined;
  }
  // Node types the fetch body loosely; undici always streams bytes.
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      return undefined;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The errno-style code of a failure (ECONNREFUSED, UND_ERR_SOCKET…), never its message. */
function errnoCode(error: unknown): string | undefined {
  if (error instanceof HttpTransportError) return error.code;
  const code = typeof error === 'object' && error !== null && 'code' in error ? error.code : undefined;
  return typeof code === 'string' && /^[A-Z0-9_]{1,40}$/.test(code) ? code : undefined;
}
