/**
 * The page's handle on the profiler worker. It restarts the worker when a call hangs: after a failed
 * `createBuffer`, the next run in that worker never settled (onnxruntime-web 1.30 on Chromium), and
 * only a new worker recovers.
 */
import * as Comlink from 'comlink';
import '../worker/errorTransport';
import type { ProfilerApi } from '../worker/api';

export class WorkerTimeoutError extends Error {
  override readonly name = 'WorkerTimeoutError';
  constructor(
    readonly operation: string,
    readonly timeoutMs: number,
  ) {
    super(`${operation} did not finish within ${Math.round(timeoutMs / 1000)} s, so the profiler worker was restarted.`);
  }
}

export class ProfilerClient {
  private worker: Worker | null = null;
  private remote: Comlink.Remote<ProfilerApi> | null = null;
  /** Increases whenever the worker is replaced, so callers know to reload state into it. */
  generation = 0;

  /** The worker's API; starts the worker on first use. */
  get api(): Comlink.Remote<ProfilerApi> {
    if (!this.remote) {
      this.worker = new Worker(new URL('../worker/profiler.worker.ts', import.meta.url), { type: 'module', name: 'profiler' });
      this.remote = Comlink.wrap<ProfilerApi>(this.worker);
      this.generation += 1;
    }
    return this.remote;
  }

  /** Calls the worker and restarts it if the call has not settled after `timeoutMs`. */
  async call<T>(operation: string, timeoutMs: number, invoke: (api: Comlink.Remote<ProfilerApi>) => Promise<T>): Promise<T> {
    const api = this.api;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.restart();
        reject(new WorkerTimeoutError(operation, timeoutMs));
      }, timeoutMs);
    });
    try {
      return await Promise.race([invoke(api), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Terminates the worker; the next call starts a fresh one. */
  restart(): void {
    this.remote?.[Comlink.releaseProxy]();
    this.worker?.terminate();
    this.worker = null;
    this.remote = null;
  }
}
