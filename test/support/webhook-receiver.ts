import { createServer as createHttpServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';

export interface ReceivedRequest {
  readonly method: string;
  /** Path and query as sent. */
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  /** The SNI name the client sent (https only). */
  readonly servername: string | false | undefined;
}

export type Answer = (request: ReceivedRequest, res: ServerResponse) => void;

export interface Receiver {
  readonly port: number;
  /** Requests that arrived, in order. */
  readonly received: ReceivedRequest[];
  /** TCP connections accepted, whether or not a request followed. */
  readonly connections: () => number;
  /** Resolves when a response socket the receiver was writing to has closed. */
  readonly closedWhileWriting: Promise<void>;
  close(): Promise<void>;
}

/** A receiver on 127.0.0.1 (plain http, or https with the given key and certificate). Answers 204 unless told otherwise. */
export async function startReceiver(answer: Answer = (_r, res) => res.writeHead(204).end(), tls?: { key: string; cert: string }): Promise<Receiver> {
  const received: ReceivedRequest[] = [];
  let connections = 0;
  let markClosed: () => void = () => undefined;
  const closedWhileWriting = new Promise<void>((resolve) => {
    markClosed = resolve;
  });
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const request: ReceivedRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        servername: (req.socket as Partial<TLSSocket>).servername ?? undefined,
      };
      received.push(request);
      res.on('close', () => markClosed());
      answer(request, res);
    });
  };
  const server: Server = tls === undefined ? createHttpServer(handler) : createHttpsServer(tls, handler);
  server.on('connection', () => {
    connections += 1;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    received,
    connections: () => connections,
    closedWhileWriting,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Headers as a Standard Webhooks library wants them: single strings. */
export function flatHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(', ') : value;
  return flat;
}
