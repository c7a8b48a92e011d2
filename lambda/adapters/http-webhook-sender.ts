import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest, type Agent as HttpAgent, type IncomingMessage } from 'node:http';
import { request as httpsRequest, type Agent as HttpsAgent } from 'node:https';
import type { LookupFunction } from 'node:net';
import { addressRefusal, isIpLiteral } from '../core/webhook-address-policy';
import type { DeliveryAttemptOutcome, WebhookDeliveryRequest, WebhookSender } from '../core/webhook-delivery';
import { InvalidWebhookUrlError, parseWebhookUrl } from '../core/webhook-endpoint';

export interface ResolvedAddress {
  readonly address: string;
  readonly family: 4 | 6;
}

/** Every address a host name resolves to (the sender refuses the host if any of them is not allowed). */
export type HostResolver = (hostname: string) => Promise<readonly ResolvedAddress[]>;

/** The system resolver, as node:http would use it: `dns.lookup` with `all: true`. */
export const systemResolver: HostResolver = (hostname) =>
  new Promise((resolve, reject) => {
    dnsLookup(hostname, { all: true, verbatim: true }, (error, addresses: LookupAddress[]) => {
      if (error) reject(error);
      else resolve(addresses.map(({ address, family }) => ({ address, family: family === 6 ? 6 : 4 })));
    });
  });

export interface HttpWebhookSenderOptions {
  /** A local run: http and https to loopback allowed. The Lambda's composition never sets it (loopback there is the runtime API). */
  readonly localRun: boolean;
  /** @default systemResolver */
  readonly resolve?: HostResolver;
  /** For the whole attempt: resolving, connecting, TLS, the answer and its body. @default 15000 */
  readonly timeoutMs?: number;
  /** Response body bytes read (and dropped) before the connection is closed. @default 4096 */
  readonly maxResponseBytes?: number;
  /** Extra trust anchors, for a receiver with its own CA (the tests' made-up certificate). @default Node's CA store */
  readonly ca?: string | Buffer;
  /** Connection agents. @default a fresh connection per delivery, so no socket outlives the address check that chose it */
  readonly agents?: { readonly http?: HttpAgent; readonly https?: HttpsAgent };
  /** Monotonic ms, for `durationMs`. @default performance.now */
  readonly clock?: () => number;
  /** @default "unread-notifier-webhooks" */
  readonly userAgent?: string;
}

/**
 * POSTs one signed delivery. The defences against SSRF are all here, in order: the URL policy
 * (https only; http only to loopback in a local run), every address the host resolves to checked
 * against the address policy, and the connection pinned to the checked addresses through the
 * request's `lookup`, so a second DNS answer (rebinding) is never used. TLS still verifies the
 * certificate against the host name (SNI and identity), not the address. Redirects are answers,
 * never followed. Nothing here logs: the outcome holds no body, no query and no secret.
 */
export class HttpWebhookSender implements WebhookSender {
  private readonly resolve: HostResolver;
  private readonly timeoutMs: number;
  private readonly maxResponseBytes: number;
  private readonly clock: () => number;

  constructor(private readonly options: HttpWebhookSenderOptions) {
    this.resolve = options.resolve ?? systemResolver;
    this.timeoutMs = options.timeoutMs ?? 15_000;
    this.maxResponseBytes = options.maxResponseBytes ?? 4096;
    this.clock = options.clock ?? (() => performance.now());
  }

  async send(request: WebhookDeliveryRequest): Promise<DeliveryAttemptOutcome> {
    const started = this.clock();
    const elapsed = (): number => Math.round(this.clock() - started);
    let url: URL;
    try {
      url = parseWebhookUrl(request.url, { localRun: this.options.localRun });
    } catch (error) {
      if (error instanceof InvalidWebhookUrlError) return { kind: 'refused', reason: error.message, durationMs: elapsed() };
      throw error;
    }
    const hostname = url.hostname.replace(/^\[(.*)\]$/, '$1');
    let addresses: readonly ResolvedAddress[];
    try {
      addresses = isIpLiteral(hostname)
        ? [{ address: hostname, family: hostname.includes(':') ? 6 : 4 }]
        : await withDeadline(this.resolve(hostname), this.timeoutMs);
    } catch (error) {
      if (error instanceof DeadlineError) return { kind: 'timeout', durationMs: elapsed() };
      return { kind: 'network', code: errorCode(error, 'ENOTFOUND'), durationMs: elapsed() };
    }
    const refusal = this.refusalFor(url, addresses);
    if (refusal !== undefined) return { kind: 'refused', reason: `${url.host} ${refusal}`, durationMs: elapsed() };
    const remainingMs = Math.max(1, this.timeoutMs - elapsed());
    const answer = await this.post(url, hostname, addresses, request, remainingMs);
    return { ...answer, durationMs: elapsed() };
  }

  private refusalFor(url: URL, addresses: readonly ResolvedAddress[]): string | undefined {
    if (addresses.length === 0) return 'resolves to no address';
    for (const { address } of addresses) {
      const refusal = addressRefusal(address, { allowLoopback: this.options.localRun });
      if (refusal !== undefined) return `resolves to a ${refusal} address (${address})`;
      // Plain http is for this machine only, whatever the name says.
      if (url.protocol === 'http:' && addressRefusal(address, { allowLoopback: false }) !== 'loopback') {
        return `is plain http to a non-loopback address (${address})`;
      }
    }
    return undefined;
  }

  private post(
    url: URL,
    hostname: string,
    addresses: readonly ResolvedAddress[],
    request: WebhookDeliveryRequest,
    timeoutMs: number,
  ): Promise<WireAnswer> {
    const https = url.protocol === 'https:';
    const body = Buffer.from(request.body, 'utf8');
    return new Promise((resolve) => {
      let settled = false;
      const finish = (outcome: WireAnswer): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        req.destroy();
        resolve(outcome);
      };
      let answered: { status: number; retryAfter?: string } | undefined;
      const onResponse = (res: IncomingMessage): void => {
        const retryAfter = firstHeader(res.headers['retry-after']);
        const answer = { status: res.statusCode ?? 0, ...(retryAfter === undefined ? {} : { retryAfter }) };
        answered = answer;
        const done = (): void => finish({ kind: 'response', ...answer });
        // Read (and drop) a little of the body so a small answer completes cleanly; never more.
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.byteLength;
          if (size >= this.maxResponseBytes) done();
        });
        res.on('end', done);
        // A receiver that answered and then cut the connection has still answered.
        res.on('close', done);
        res.on('error', done);
      };
      const send = https ? httpsRequest : httpRequest;
      const agent = (https ? this.options.agents?.https : this.options.agents?.http) ?? false;
      const req = send(
        {
          protocol: url.protocol,
          host: hostname,
          port: url.port === '' ? undefined : Number(url.port),
          path: `${url.pathname}${url.search}`,
          method: 'POST',
          agent,
          lookup: pinnedLookup(addresses),
          // SNI and the certificate check use the name, while the socket goes to the checked address.
          ...(https && !isIpLiteral(hostname) ? { servername: hostname } : {}),
          ...(https && this.options.ca !== undefined ? { ca: this.options.ca } : {}),
          headers: {
            host: url.host,
            'content-type': 'application/json',
            'content-length': String(body.byteLength),
            'user-agent': this.options.userAgent ?? 'unread-notifier-webhooks',
            ...request.headers,
          },
        },
        onResponse,
      );
      const timer = setTimeout(() => {
        // An answer whose body is still trickling in counts; no answer at all is a timeout.
        finish(answered === undefined ? { kind: 'timeout' } : { kind: 'response', ...answered });
      }, timeoutMs);
      req.on('error', (error) => finish(answered === undefined ? { kind: 'network', code: errorCode(error, 'ECONNRESET') } : { kind: 'response', ...answered }));
      req.end(body);
    });
  }
}

/** What the wire gave, before the attempt's duration is added. */
type WireAnswer =
  | { readonly kind: 'response'; readonly status: number; readonly retryAfter?: string }
  | { readonly kind: 'timeout' }
  | { readonly kind: 'network'; readonly code: string };

/** A `lookup` that answers with the addresses already checked, whatever name it is asked for. */
function pinnedLookup(addresses: readonly ResolvedAddress[]): LookupFunction {
  return (_hostname, options, callback) => {
    const first = addresses[0] as ResolvedAddress;
    if (options.all === true) callback(null, addresses.map(({ address, family }) => ({ address, family })));
    else callback(null, first.address, first.family);
  };
}

class DeadlineError extends Error {}

function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new DeadlineError()), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/** An errno-style code (ECONNREFUSED, ERR_TLS_CERT_ALTNAME_INVALID…), never a message that could quote a URL. */
function errorCode(error: unknown, fallback: string): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[A-Z0-9_]{1,64}$/.test(code) ? code : fallback;
}

function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
