import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';

/**
 * A minimal request/response protocol over the IPC channel of a forked child, so the upstream
 * simulator, dynalite and the poller under test each run on a process (and a CPU) of their own.
 */

/** A service: methods taking and returning plain (structured-cloneable) data, all async. */
export type Service = object;

interface Request {
  readonly id: number;
  readonly method: string;
  readonly args: unknown[];
}

type Reply = { readonly id: number; readonly ok: true; readonly result: unknown } | { readonly id: number; readonly ok: false; readonly error: string };

const READY = 'bench-rpc-ready';

/** In the child: answers the parent's calls with `handlers`; exits when the parent disconnects. */
export function serve(handlers: Service): void {
  const send = process.send?.bind(process);
  if (!send) throw new Error('this module runs as a forked child of the benchmark (no IPC channel)');
  process.on('message', (message: Request) => {
    const handler = (handlers as Record<string, ((...args: unknown[]) => unknown) | undefined>)[message.method];
    void (async () => {
      let reply: Reply;
      try {
        if (!handler) throw new Error(`unknown method ${message.method}`);
        reply = { id: message.id, ok: true, result: (await handler.apply(handlers, message.args)) ?? null };
      } catch (error) {
        reply = { id: message.id, ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) };
      }
      send(reply);
    })();
  });
  process.on('disconnect', () => process.exit(0));
  send(READY);
}

export interface Worker<S extends Service> {
  /** The service's methods, run in the child. */
  readonly call: S;
  readonly pid: number;
  /** Disconnects the child and waits for it to exit. */
  stop(): Promise<void>;
}

/** Forks `script` (TypeScript, run through tsx) and resolves once it serves calls. */
export async function startWorker<S extends Service>(script: string): Promise<Worker<S>> {
  const child: ChildProcess = fork(script, [], {
    // --expose-gc: the poller collects after the warm-up cycle, so the measured cycles' memory is their own.
    execArgv: ['--import', 'tsx', '--expose-gc'],
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  let nextId = 0;
  let exited = false;
  const exit = once(child, 'exit');
  child.once('exit', (code, signal) => {
    exited = true;
    for (const { reject } of pending.values()) reject(new Error(`${script} exited (${signal ?? code}) before answering`));
    pending.clear();
  });
  await new Promise<void>((resolve, reject) => {
    const onMessage = (message: unknown): void => {
      if (message === READY) {
        child.off('message', onMessage);
        resolve();
      }
    };
    child.on('message', onMessage);
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`${script} exited (${code}) while starting`)));
  });
  child.on('message', (message: Reply) => {
    const waiter = pending.get(message.id);
    if (!waiter) return;
    pending.delete(message.id);
    if (message.ok) waiter.resolve(message.result);
    else waiter.reject(new Error(`${script}: ${message.error}`));
  });
  const call = new Proxy({} as S, {
    get: (_target, method: string) =>
      (...args: unknown[]) =>
        new Promise((resolve, reject) => {
          if (exited) return reject(new Error(`${script} is not running`));
          const id = nextId++;
          pending.set(id, { resolve, reject });
          child.send({ id, method, args } satisfies Request);
        }),
  });
  return {
    call,
    pid: child.pid ?? -1,
    async stop() {
      if (exited) return;
      child.disconnect();
      await exit;
    },
  };
}
