import { request } from 'node:http';
import { REPOLL_MAX_BODY_BYTES } from '../../lambda/core/repoll-request';
import { startRepollHttpServer, type RepollHttpServer } from '../../local/repoll-http-server';
import { fixedSecrets, InMemoryRepollMarker, ManualClock, RecordingRepollQueue } from '../support/repoll-fakes';

const SECRET = 'http-server-secret-0a1b2c3d';
let server: RepollHttpServer;
let queue: RecordingRepollQueue;
const statuses: number[] = [];

beforeEach(async () => {
  queue = new RecordingRepollQueue();
  const clock = new ManualClock();
  server = await startRepollHttpServer({
    port: 0,
    deps: { secrets: fixedSecrets(SECRET), marker: new InMemoryRepollMarker(['558355']), queue, now: clock.now },
    health: () => ({ cycles: 3 }),
    onResponse: (response) => statuses.push(response.status),
  });
});

afterEach(() => server.close());

/**
 * Streams 64 KB chunks until the answer comes (or `limit` bytes are sent): how much the server
 * let the client send before answering, and the answer.
 */
function upload(limit: number): Promise<{ status: number; sent: number; body: string }> {
  return new Promise((resolve, reject) => {
    let sent = 0;
    let answered = false;
    const req = request(`${server.baseUrl}/repoll`, { method: 'POST', headers: { authorization: `Bearer ${SECRET}` } }, (res) => {
      answered = true;
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, sent, body }));
    });
    req.on('error', (error) => (answered ? undefined : reject(error)));
    const chunk = Buffer.alloc(64 * 1024, 'x');
    const pump = (): void => {
      while (!answered && sent < limit) {
        sent += chunk.length;
        if (!req.write(chunk)) {
          req.once('drain', pump);
          return;
        }
      }
      if (!answered) req.end();
    };
    pump();
  });
}

describe('the re-poll endpoint on node:http (serve, npm start)', () => {
  test('an endless upload is answered 413 long before its end: the body is read up to the cap plus one byte', async () => {
    const { status, sent, body } = await upload(64 * 1024 * 1024);

    expect(status).toBe(413);
    expect(JSON.parse(body)).toEqual({ error: 'body is over 64 KB' });
    expect(sent).toBeLessThan(16 * 1024 * 1024);
  });

  test('a body of exactly the cap is read and parsed (not refused for its size)', async () => {
    const json = JSON.stringify({ identityIds: ['558355'] });
    const body = json.padEnd(REPOLL_MAX_BODY_BYTES, ' ');

    const response = await fetch(`${server.baseUrl}/repoll/${SECRET}`, { method: 'POST', body });

    expect(response.status).toBe(202);
    expect(queue.sent.map((m) => m.identityId)).toEqual(['558355']);
  });

  test('GET /health answers 200 without a secret; other methods on it are 405', async () => {
    const health = await fetch(`${server.baseUrl}/health`);
    const post = await fetch(`${server.baseUrl}/health`, { method: 'POST' });

    expect([health.status, await health.json()]).toEqual([200, { status: 'ok', cycles: 3 }]);
    expect(post.status).toBe(405);
  });

  test('any other path is 404 and GET /repoll is 405, as in Lambda', async () => {
    expect((await fetch(`${server.baseUrl}/`)).status).toBe(404);
    expect((await fetch(`${server.baseUrl}/repoll`)).status).toBe(405);
  });

  test('it listens on 127.0.0.1 only', () => {
    expect(server.baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });
});
