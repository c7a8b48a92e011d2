import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
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

export interface HttpTransport {
  get(request: HttpGetRequest): Promise<HttpGetAnswer>;
}

/**
 * node:http(s) with a keep-alive pool of `maxSockets` connections. Chosen over fetch and undici's
 * Pool by CPU per request and bundle size (docs/performance.md): CPU per request is what bounds
 * a small Lambda, and so its bill, at high request rates.
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
      let req: ClientRequest;
      const finish = (outcome: () => void): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        outcome();
      };
      const fail = (error: unknown): void => finish(() => reject(new HttpTransportError('network', errnoCode(error))));
      const send = (staleRetries: number): void => {
        let answered = false;
        req = this.send(
          { hostname: this.hostname, port: this.port, path: request.path, method: 'GET', headers: request.headers, agent: this.agent },
          (res) => {
            answered = true;
            readBody(res, request.maxBodyBytes(res.statusCode ?? 0), finish, resolve, fail);
          },
        );
        req.on('error', (error) => {
          // A pooled connection the server closed while it sat idle (a frozen Lambda never saw the
          // close) fails before any answer: a GET is safe to send again, on another connection.
          if (!settled && !answered && req.reusedSocket && staleRetries > 0 && isStaleConnectionError(error)) send(staleRetries - 1);
          else fail(error);
        });
        req.end();
      };
      // The timeout covers the whole exchange, resending on a fresh connection included.
      const timer = setTimeout(() => {
        finish(() => reject(new HttpTransportError('timeout')));
        req.destroy();
      }, request.timeoutMs);
      send(MAX_STALE_CONNECTION_RETRIES);
    });
  }
}

/** Idle pooled connections may all be stale at once; after this many, the error is the answer. */
const MAX_STALE_CONNECTION_RETRIES = 8;

function isStaleConnectionError(error: unknown): boolean {
  const code = errnoCode(error);
  return code === 'ECONNRESET' || code === 'EPIPE';
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

/** The errno-style code of a failure (ECONNREFUSED, ECONNRESET…), never its message. */
function errnoCode(error: unknown): string | undefined {
  if (error instanceof HttpTransportError) return error.code;
  const code = typeof error === 'object' && error !== null && 'code' in error ? error.code : undefined;
  return typeof code === 'string' && /^[A-Z0-9_]{1,40}$/.test(code) ? code : undefined;
}
