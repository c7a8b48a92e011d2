import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { REPOLL_MAX_BODY_BYTES } from '../lambda/core/repoll-request';
import { handleRepollRequest, type RepollEndpointDeps, type RepollHttpResponse } from '../lambda/repoll-endpoint';

export interface RepollHttpServerOptions {
  /** 0 for any free port. Always on 127.0.0.1. */
  readonly port: number;
  readonly deps: RepollEndpointDeps;
  /** The body of `GET /health` (200, JSON). */
  readonly health: () => Record<string, unknown>;
  /** After each answered re-poll request: its status and counts, never the path or the body. */
  readonly onResponse?: (response: RepollHttpResponse) => void;
}

export interface RepollHttpServer {
  /** http://127.0.0.1:PORT */
  readonly baseUrl: string;
  readonly port: number;
  /** Stops accepting, ends idle connections and resolves when the last answer is sent. */
  close(): Promise<void>;
}

/** Requests whose headers or body take longer are cut off: the endpoint answers at once or not at all. */
const REQUEST_TIMEOUT_MS = 10_000;

/**
 * The re-poll endpoint on node:http for `serve` and `npm start`: the same handler as the Lambda
 * Function URL (handleRepollRequest), plus `GET /health`. A body is read up to the size cap plus
 * one byte and no further, so an endless upload costs at most that much memory.
 */
export async function startRepollHttpServer(options: RepollHttpServerOptions): Promise<RepollHttpServer> {
  const server: Server = createServer((req, res) => {
    void answer(req, res, options).catch(() => {
      // handleRepollRequest answers its own failures; this is a broken socket at most.
      if (!res.headersSent) send(res, 500, { 'content-type': 'application/json; charset=utf-8' }, '{"error":"internal error"}', true);
    });
  });
  server.requestTimeout = REQUEST_TIMEOUT_MS;
  server.headersTimeout = REQUEST_TIMEOUT_MS;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}

async function answer(req: IncomingMessage, res: ServerResponse, options: RepollHttpServerOptions): Promise<void> {
  const path = req.url ?? '/';
  if (path.split('?', 1)[0] === '/health') {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, 405, { 'content-type': 'application/json; charset=utf-8', allow: 'GET' }, '{"error":"method not allowed: use GET"}', false);
      return;
    }
    send(res, 200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' }, JSON.stringify({ status: 'ok', ...options.health() }), false);
    return;
  }
  const { body, complete } = await readCapped(req, REPOLL_MAX_BODY_BYTES + 1);
  const headers: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(req.headers)) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  const response = await handleRepollRequest({ method: req.method ?? 'GET', path, headers, body }, options.deps);
  options.onResponse?.(response);
  // A body not read to its end cannot leave the connection reusable.
  send(res, response.status, response.headers, response.body, !complete);
}

/** Reads at most `cap` bytes; `complete` is false when the body went on beyond them (it is not read further). */
function readCapped(req: IncomingMessage, cap: number): Promise<{ body: Buffer; complete: boolean }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const finish = (complete: boolean): void => {
      if (settled) return;
      settled = true;
      req.off('data', onData);
      resolve({ body: Buffer.concat(chunks, Math.min(size, cap)).subarray(0, cap), complete });
    };
    const onData = (chunk: Buffer): void => {
      const room = cap - size;
      chunks.push(chunk.length > room ? chunk.subarray(0, room) : chunk);
      size += Math.min(chunk.length, room);
      if (size >= cap) {
        req.pause();
        finish(false);
      }
    };
    req.on('data', onData);
    req.once('end', () => finish(true));
    req.once('error', (error) => {
      if (!settled) {
        settled = true;
        reject(error);
      }
    });
  });
}

function send(res: ServerResponse, status: number, headers: Readonly<Record<string, string>>, body: string, close: boolean): void {
  if (res.destroyed) return;
  res.writeHead(status, { ...headers, 'content-length': String(Buffer.byteLength(body)), ...(close ? { connection: 'close' } : {}) });
  res.end(body);
}
