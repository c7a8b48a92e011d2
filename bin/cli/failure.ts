import { ConfigError } from '../../lambda/config';
import { UsageError } from './io';

/** What a person reads when a command fails: one line, and the exit code that goes with it. */
export interface Failure {
  readonly message: string;
  /** 2 for refused input or configuration, 1 for anything else. */
  readonly exitCode: 1 | 2;
}

export const MISSING_REGION_HINT =
  'no AWS region: set AWS_REGION (for example AWS_REGION=eu-west-1) or a region in your AWS profile; ' +
  'a local run (AWS_ENDPOINT_URL_DYNAMODB on 127.0.0.1 or localhost) needs none';

export const MISSING_CREDENTIALS_HINT =
  'no AWS credentials: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; ' +
  'a local dynalite takes any (AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local)';

/** Socket error codes that mean "could not reach"; the host and port are named with them. */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET', 'EPIPE']);

export function describeFailure(error: unknown): Failure {
  const message = oneLine(error instanceof Error ? error.message : String(error));
  if (error instanceof UsageError || error instanceof ConfigError) return { message, exitCode: 2 };
  // The AWS SDK's words when neither the environment nor the profile names a region.
  if (/^Region is missing\b/.test(message)) return { message: MISSING_REGION_HINT, exitCode: 2 };
  if (inCauses(error, (e) => e.name === 'CredentialsProviderError' && /^Could not load credentials from any providers/.test(e.message))) {
    return { message: MISSING_CREDENTIALS_HINT, exitCode: 2 };
  }
  const target = unreachableTarget(error);
  if (target && !message.includes(target.where)) {
    // An AggregateError (every address of a name refused) has no message of its own.
    return { message: `${message || 'could not connect'} (${target.code} ${target.where})`, exitCode: 1 };
  }
  return { message: message || (error instanceof Error ? error.name : 'unknown error'), exitCode: 1 };
}

interface Target {
  readonly code: string;
  /** host:port, or the host alone when the error does not say the port. */
  readonly where: string;
}

/**
 * The first socket error in the cause chain (also inside an AggregateError, which is what
 * Node throws when every address of a name such as localhost refused).
 */
export function unreachableTarget(error: unknown, depth = 0): Target | undefined {
  if (typeof error !== 'object' || error === null || depth > 6) return undefined;
  const { code, address, hostname, port } = error as { code?: unknown; address?: unknown; hostname?: unknown; port?: unknown };
  if (typeof code === 'string' && UNREACHABLE.has(code)) {
    const host = typeof address === 'string' ? address : typeof hostname === 'string' ? hostname : undefined;
    if (host) {
      const shown = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
      return { code, where: typeof port === 'number' || typeof port === 'string' ? `${shown}:${port}` : shown };
    }
  }
  if (error instanceof AggregateError) {
    for (const inner of error.errors) {
      const found = unreachableTarget(inner, depth + 1);
      if (found) return found;
    }
  }
  return unreachableTarget((error as { cause?: unknown }).cause, depth + 1);
}

function inCauses(error: unknown, test: (error: Error) => boolean, depth = 0): boolean {
  if (!(error instanceof Error) || depth > 6) return false;
  return test(error) || inCauses(error.cause, test, depth + 1);
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
