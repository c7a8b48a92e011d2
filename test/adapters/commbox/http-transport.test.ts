import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpTransportError, NodeHttpTransport, type HttpTransport } from '../../../lambda/adapters/commbox/http-transport';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

let server: Server;
let origin: URL;
let handler: Handler;
const sockets = new Set<unknown>();

beforeEach(async () => {
  handler = (_req, res) => res.end('{}');
  sockets.clear();
  server = createServer((req, res) => handler(req, res));
  server.on('connection', (socket) => sockets.add(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
});

afterEach(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const request = (overrides: Partial<Parameters<HttpTransport['get']>[0]> = {}) => ({
  path: '/v2/users/identities/558355/objects',
  headers: { authorization: 'Bearer t', accept: 'application/json' },
  timeoutMs: 1000,
  maxBodyBytes: () => 1024,
  ...overrides,
});

async function failureOf(promise: Promise<unknown>): Promise<HttpTransportError> {
  try {
    await promise;
  } catch (error) {
    return error as HttpTransportError;
  }
  throw new Error('expected a rejection');
}

const make = (): HttpTransport => new NodeHttpTransport(origin, 4);

describe('NodeHttpTransport', () => {
  test('answers the status, Retry-After and the body, sending the path and headers given', async () => {
    let seen: IncomingMessage | undefined;
    handler = (req, res) => {
      seen = req;
      res.writeHead(429, { 'retry-after': '3', 'content-type': 'application/json' });
      res.end('{"status":429}');
    };

    const answer = await make().get(request());

    expect(answer).toEqual({ status: 429, retryAfter: '3', body: '{"status":429}' });
    expect(seen?.url).toBe('/v2/users/identities/558355/objects');
    expect(seen?.headers).toMatchObject({ authorization: 'Bearer t', accept: 'application/json' });
  });

  test('never follows a redirect', async () => {
    handler = (_req, res) => {
      res.writeHead(302, { location: 'http://127.0.0.1:9/elsewhere' });
      res.end();
    };

    await expect(make().get(request())).resolves.toMatchObject({ status: 302 });
  });

  test('drops a body longer than allowed for its status, declared or streamed', async () => {
    handler = (req, res) => {
      if (req.url?.endsWith('declared')) {
        res.end('x'.repeat(2000));
        return;
      }
      res.writeHead(200, { 'transfer-encoding': 'chunked' });
      res.write('x'.repeat(800));
      setTimeout(() => res.end('x'.repeat(800)), 10);
    };
    const transport = make();

    await expect(transport.get(request({ path: '/declared' }))).resolves.toMatchObject({ status: 200, body: undefined });
    await expect(transport.get(request({ path: '/streamed' }))).resolves.toMatchObject({ status: 200, body: undefined });
    await expect(transport.get(request({ path: '/declared', maxBodyBytes: (status) => (status === 200 ? 4096 : 0) }))).resolves.toMatchObject({
      body: 'x'.repeat(2000),
    });
  });

  test('times out when no answer comes in time, body included', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-length': '10' });
      res.write('{"a":');
    };

    const error = await failureOf(make().get(request({ timeoutMs: 100 })));

    expect(error).toBeInstanceOf(HttpTransportError);
    expect(error.kind).toBe('timeout');
  });

  test('reports a broken connection as a network error with its code, nothing else', async () => {
    handler = (req) => req.socket.destroy();

    const error = await failureOf(make().get(request()));

    expect(error).toMatchObject({ name: 'HttpTransportError', kind: 'network' });
    expect(error.message).toMatch(/^network error/);
  });

  test('reports a refused connection as ECONNREFUSED', async () => {
    const closed = new URL(origin.href);
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    closed.port = String((server.address() as AddressInfo).port);
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const transport = new NodeHttpTransport(closed, 1);

    await expect(transport.get(request())).rejects.toMatchObject({ kind: 'network', code: 'ECONNREFUSED' });
  });

  test('sends a request again on a new connection when its pooled one was closed by the server while idle', async () => {
    // The second request on any connection finds it dead, as after a Lambda was frozen past the server's keep-alive timeout.
    const served = new WeakMap<object, number>();
    handler = (req, res) => {
      const count = (served.get(req.socket) ?? 0) + 1;
      served.set(req.socket, count);
      if (count > 1) return void req.socket.destroy();
      res.end('{"ok":true}');
    };
    const transport = new NodeHttpTransport(origin, 1);

    await transport.get(request());
    const again = await transport.get(request());

    expect(again).toMatchObject({ status: 200, body: '{"ok":true}' });
    expect(sockets.size).toBe(2);
  });

  test('does not send again when a new connection breaks', async () => {
    let requests = 0;
    handler = (req) => {
      requests += 1;
      req.socket.destroy();
    };

    await expect(make().get(request())).rejects.toMatchObject({ kind: 'network' });
    expect(requests).toBe(1);
  });

  test('keeps connections alive: sequential requests share one socket', async () => {
    const transport = new NodeHttpTransport(origin, 4);

    for (let i = 0; i < 5; i += 1) await transport.get(request());

    expect(sockets.size).toBe(1);
  });

  test('opens no more sockets than its pool allows', async () => {
    handler = (_req, res) => setTimeout(() => res.end('{}'), 20);
    const transport = new NodeHttpTransport(origin, 3);

    await Promise.all(Array.from({ length: 12 }, () => transport.get(request())));

    expect(sockets.size).toBe(3);
  });
});
