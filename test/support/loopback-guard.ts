import { Agent as HttpAgent, type ClientRequestArgs } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import type { Duplex } from 'node:stream';

/**
 * The tests' last line of defence: agents that let a socket open only to 127.0.0.1 or ::1 and
 * record anything else as a violation instead of connecting. Deliberately independent of the
 * sender's own address policy, so a regression there fails a test and sends nothing. A request
 * to a name without a pinned `lookup` is a violation too: it would have asked the real DNS.
 */
export class LoopbackOnlyGuard {
  /** Addresses a socket was allowed to open to. */
  readonly connectedTo: string[] = [];
  /** What the guard stopped. Every test asserts this stays empty. */
  readonly violations: string[] = [];
  readonly http: HttpAgent;
  readonly https: HttpsAgent;

  constructor() {
    const guard = (options: ClientRequestArgs): ClientRequestArgs => this.guard(options);
    this.http = new (class extends HttpAgent {
      override createConnection(options: ClientRequestArgs, callback?: (err: Error | null, stream: Duplex) => void): Duplex | null | undefined {
        return super.createConnection(guard(options), callback);
      }
    })();
    this.https = new (class extends HttpsAgent {
      override createConnection(options: ClientRequestArgs, callback?: (err: Error | null, stream: Duplex) => void): Duplex | null | undefined {
        return super.createConnection(guard(options), callback);
      }
    })();
  }

  private guard(options: ClientRequestArgs): ClientRequestArgs {
    const host = options.host ?? options.hostname ?? 'localhost';
    if (isIP(host) !== 0) {
      this.check([host]);
      return options;
    }
    const inner = options.lookup;
    if (inner === undefined) {
      this.violations.push(`unpinned connection to ${host}`);
      throw guardError(`unpinned connection to ${host}`);
    }
    const lookup: LookupFunction = (hostname, lookupOptions, callback) =>
      inner(hostname, lookupOptions, (error, address, family) => {
        if (error) return callback(error, address, family);
        const addresses = Array.isArray(address) ? address.map((a) => a.address) : [address];
        try {
          this.check(addresses);
        } catch (refused) {
          return callback(refused as NodeJS.ErrnoException, address, family);
        }
        return callback(null, address, family);
      });
    return { ...options, lookup };
  }

  private check(addresses: readonly string[]): void {
    const outside = addresses.filter((address) => !/^127\.\d+\.\d+\.\d+$/.test(address) && address !== '::1');
    if (outside.length > 0) {
      this.violations.push(`connection to ${outside.join(', ')}`);
      throw guardError(`connection to ${outside.join(', ')}`);
    }
    this.connectedTo.push(...addresses);
  }
}

function guardError(what: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`test guard stopped a ${what}`), { code: 'ERR_TEST_GUARD' });
}
