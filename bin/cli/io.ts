import type { WebhookTransport } from '../../lambda/composition';

export interface Sink {
  write(chunk: string): unknown;
  /** True when a person is watching (a terminal): headers and progress bars are for them only. */
  readonly isTTY?: boolean;
}

/** Everything the CLI touches of its process, so tests can run it in-process. */
export interface CliIo {
  readonly stdout: Sink;
  readonly stderr: Sink;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** What `identities import -` reads. @default process.stdin */
  readonly stdin?: AsyncIterable<string | Uint8Array>;
  /**
   * Resolves when a long-running command (`simulator`) should stop, with the reason.
   * @default - the first SIGINT or SIGTERM of this process
   */
  readonly untilStopped?: () => Promise<string>;
  /** Tests only: how webhook deliveries connect (the loopback-only guard). @default the system's resolver and a fresh connection per delivery */
  readonly webhookTransport?: WebhookTransport;
}

/** A refused command: one line on stderr, exit code 2, nothing changed. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
