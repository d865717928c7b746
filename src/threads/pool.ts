// The calling thread's side of the workers: starting them, handing each
// plan over, taking part in it, and noticing when one stops answering.
import type { WasmMemory } from '../core/heap.js';
import type { Plan } from '../plan/plan.js';
import { MAX_STEPS, STEP_WORDS, type ThreadContext } from '../plan/steps.js';
import {
  abort,
  blockingWaiter,
  Ctl,
  failureMessage,
  newSharedControl,
  participate,
  sleepingWaiter,
  spinningWaiter,
  type Participant,
  type SharedControl,
  type Waiter,
} from './control.js';
import type { StartReply, WorkerStart } from './worker-loop.js';

/** What the pool needs of a runtime's worker (worker_threads, Web Worker). */
export interface WorkerLike {
  postMessage(message: unknown): void;
  terminate(): void;
  /** The worker's messages; `error` for an error event or an exit before it was ready. */
  listen(onMessage: (data: unknown) => void, onError: (reason: string) => void): void;
  /** Lets the program end while the worker sleeps (Node). */
  unref?(): void;
}

export type SpawnWorker = () => WorkerLike;

/** Fault injection for the tests: `globalThis[Symbol.for('linformer-wasm.threadFaults')]`. */
export interface ThreadFaults {
  /** Worker starts fail ('throw') or never answer ('hang'). */
  start?: 'throw' | 'hang';
  /** The worker (1…T-1) that stops for good in the next plan's first parallel step, holding a task. */
  crash?: number;
}
const FAULTS = Symbol.for('linformer-wasm.threadFaults');

export function threadFaults(): ThreadFaults {
  return (globalThis as { [FAULTS]?: ThreadFaults })[FAULTS] ?? {};
}

/** Thrown when the pool cannot run a plan: a worker stopped answering. `reason` is the short why. */
export class PoolFailure extends Error {
  constructor(
    message: string,
    readonly reason: string = message,
  ) {
    super(message);
  }
}

export interface PoolOptions {
  module: WebAssembly.Module;
  /** The shared WebAssembly.Memory (named structurally: these declarations are public, and need no WebAssembly types). */
  memory: WasmMemory;
  /** Threads in all, the calling thread included. */
  threads: number;
  gemmTile: number;
  spawn: SpawnWorker;
  /** How long a worker may take to start, or to finish a task, before it is taken for dead. */
  timeoutMs: number;
  /** Spin briefly before sleeping: only with no more threads than cores, where no spinning thread takes another's core. */
  spin: boolean;
}

export class ThreadPool {
  readonly threads: number;
  private readonly ctl: Int32Array;
  private readonly planWords: Float64Array;
  private readonly busy: Float64Array;
  private readonly message: Uint8Array;
  private readonly waiter: Waiter;
  private stopped = false;

  private constructor(
    private readonly workers: WorkerLike[],
    shared: SharedControl,
    private readonly timeoutMs: number,
    spin: boolean,
  ) {
    this.threads = workers.length + 1;
    this.ctl = new Int32Array(shared.control);
    this.planWords = new Float64Array(shared.plan);
    this.busy = new Float64Array(shared.busy);
    this.message = new Uint8Array(shared.message);
    this.waiter = !canBlock() ? spinningWaiter : spin ? sleepingWaiter : blockingWaiter;
  }

  /**
   * Starts threads − 1 workers and resolves once every one has its
   * instance; rejects with the reason (and stops them all) if one cannot
   * start within timeoutMs.
   */
  static async start(o: PoolOptions): Promise<ThreadPool> {
    const shared = newSharedControl();
    const workers: WorkerLike[] = [];
    const faults = threadFaults();
    try {
      await Promise.all(
        Array.from({ length: o.threads - 1 }, (_, i) => {
          const w = o.spawn();
          workers.push(w);
          const memory = o.memory as WebAssembly.Memory;
          const start: WorkerStart = { module: o.module, memory, shared, thread: i + 1, gemmTile: o.gemmTile, spin: o.spin, startFault: faults.start };
          return new Promise<void>((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`a worker did not start within ${o.timeoutMs} ms`)), o.timeoutMs);
            w.listen(
              (data) => {
                clearTimeout(timer);
                const r = data as StartReply;
                if (r.ready) resolve();
                else reject(new Error(`a worker could not start: ${r.error}`));
              },
              (reason) => {
                clearTimeout(timer);
                reject(new Error(`a worker could not start: ${reason}`));
              },
            );
            w.postMessage(start);
          });
        }),
      );
    } catch (e) {
      for (const w of workers) w.terminate();
      throw e;
    }
    for (const w of workers) w.unref?.();
    return new ThreadPool(workers, shared, o.timeoutMs, o.spin);
  }

  /**
   * Runs `plan` on every thread, this one included, and returns when all
   * of it is done; `busyMs` (threads × steps), when given, receives each
   * thread's busy time per step. A task that throws makes this throw its
   * error; a worker that stops answering makes it throw a PoolFailure,
   * after which the pool is stopped.
   */
  run(plan: Plan, main: ThreadContext, busyMs: number[][] | null, stepEnds: number[] | null): void {
    const ctl = this.ctl;
    const steps = plan.steps;
    this.planWords.set(plan.words.subarray(0, 1 + steps * STEP_WORDS));
    for (let i = Ctl.steps; i < Ctl.steps + 2 * steps; i++) ctl[i] = 0;
    ctl[Ctl.left] = 0;
    ctl[Ctl.abort] = 0;
    ctl[Ctl.failed] = 0;
    ctl[Ctl.profile] = busyMs ? 1 : 0;
    const faults = threadFaults();
    ctl[Ctl.crash] = faults.crash ?? 0;
    delete faults.crash;
    if (busyMs) this.busy.fill(0);
    // The generation's bump publishes everything above to the workers.
    Atomics.add(ctl, Ctl.generation, 1);
    Atomics.notify(ctl, Ctl.generation);

    let error: unknown = null;
    const watch = this.stallWatch();
    const me: Participant = {
      ctx: main,
      ctl,
      plan: this.planWords,
      busy: this.busy,
      message: this.message,
      waiter: this.waiter,
      serial: plan.serial,
      beside: plan.beside,
      onWait: watch,
      onError: (e) => (error = e),
      stepEnds,
    };
    try {
      participate(me);
      const workers = this.workers.length;
      for (let left = Atomics.load(ctl, Ctl.left); left < workers; left = Atomics.load(ctl, Ctl.left)) {
        watch();
        this.waiter.wait(ctl, Ctl.left, left, 20);
      }
    } catch (e) {
      if (!(e instanceof PoolFailure)) throw e;
      abort(ctl);
      this.stop();
      throw new PoolFailure(`${plan.call}: ${e.message}; nothing was returned and the call can be made again`, e.reason);
    }
    if (error !== null) throw error;
    const failed = failureMessage(ctl, this.message);
    if (failed !== null) throw new Error(`linformer-wasm: ${plan.call}: a worker thread failed: ${failed}`);
    if (busyMs) {
      for (let t = 0; t < this.threads; t++) busyMs[t] = Array.from(this.busy.subarray(t * MAX_STEPS, t * MAX_STEPS + steps));
    }
  }

  /**
   * A check to call while waiting: throws a PoolFailure once no task has
   * finished, and no worker has left the plan, for timeoutMs.
   */
  private stallWatch(): () => void {
    const ctl = this.ctl;
    let last = -1;
    let since = performance.now();
    return () => {
      let progress = Atomics.load(ctl, Ctl.left);
      for (let i = Ctl.steps + 1; i < Ctl.steps + 2 * MAX_STEPS; i += 2) progress += Atomics.load(ctl, i);
      const now = performance.now();
      if (progress !== last) {
        last = progress;
        since = now;
      } else if (now - since > this.timeoutMs) {
        throw new PoolFailure(`a worker thread stopped answering (no task finished for ${this.timeoutMs} ms)`);
      }
    };
  }

  /** Ends every worker. The pool cannot be used again. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    Atomics.store(this.ctl, Ctl.stop, 1);
    Atomics.add(this.ctl, Ctl.generation, 1);
    Atomics.notify(this.ctl, Ctl.generation);
    for (const w of this.workers) w.terminate();
  }

  get isStopped(): boolean {
    return this.stopped;
  }
}

/** Whether this thread may block in Atomics.wait (not a browser's main thread). */
function canBlock(): boolean {
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
    return true;
  } catch {
    return false;
  }
}
