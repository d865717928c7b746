// A worker's life: instantiate the core over the shared memory, say it is
// ready, then sleep until a plan comes, run its part of it, and sleep
// again. The runtime's worker entry (worker.node.ts, worker.browser.ts)
// only passes messages in and out.
import type { Kernels } from '../core/kernels.js';
import type { ThreadContext } from '../plan/steps.js';
import { refreshViews } from '../plan/steps.js';
import { blockingWaiter, Ctl, participate, sleepingWaiter, spinUntilChanged, WorkerCrash, type SharedControl } from './control.js';

/**
 * How long a worker stays awake after a plan before it sleeps: waking a
 * sleeping thread costs tens to hundreds of microseconds, which a short
 * call in a loop would pay on every call.
 */
const LINGER_MS = 2;

/** What the calling thread sends a new worker. */
export interface WorkerStart {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  shared: SharedControl;
  /** 1…T-1. */
  thread: number;
  /** The GEMM tile init() chose: 4 or 6 rows. */
  gemmTile: number;
  /** Whether to spin before sleeping (no more threads than cores). */
  spin: boolean;
  /** Fault injection (tests): 'throw' fails the start, 'hang' never answers. */
  startFault?: 'throw' | 'hang';
}

/** The worker's one answer: ready, or why it could not start. */
export type StartReply = { ready: true } | { ready: false; error: string };

export interface WorkerHost {
  reply(r: StartReply): void;
  /** Ends this worker at once (the crash fault). */
  crash(): void;
}

export function runWorker(start: WorkerStart, host: WorkerHost): void {
  let ctx: ThreadContext;
  try {
    if (start.startFault === 'throw') throw new Error('injected worker start failure');
    // Blocked for good, as a worker stuck behind a busy main thread or a slow network would be.
    if (start.startFault === 'hang') Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
    const instance = new WebAssembly.Instance(start.module, { env: { memory: start.memory } });
    const kernels = instance.exports as unknown as Kernels;
    kernels.set_gemm_tile(start.gemmTile);
    const buffer = start.memory.buffer;
    ctx = { kernels, memory: start.memory, f32: new Float32Array(buffer), u8: new Uint8Array(buffer), thread: start.thread };
  } catch (e) {
    host.reply({ ready: false, error: e instanceof Error ? e.message : String(e) });
    return;
  }
  const ctl = new Int32Array(start.shared.control);
  const participant = {
    ctx,
    ctl,
    plan: new Float64Array(start.shared.plan),
    busy: new Float64Array(start.shared.busy),
    message: new Uint8Array(start.shared.message),
    waiter: start.spin ? sleepingWaiter : blockingWaiter,
    serial: null,
    beside: null,
  };
  let seen = Atomics.load(ctl, Ctl.generation);
  host.reply({ ready: true });
  for (;;) {
    // Idle: a call that follows at once (the next layer, the next request
    // of a loop) finds the worker awake; after LINGER_MS it sleeps until
    // the next plan, using no CPU.
    if (!(start.spin && spinUntilChanged(ctl, Ctl.generation, seen, LINGER_MS))) Atomics.wait(ctl, Ctl.generation, seen);
    const generation = Atomics.load(ctl, Ctl.generation);
    if (generation === seen) continue;
    seen = generation;
    if (Atomics.load(ctl, Ctl.stop) === 1) return;
    refreshViews(ctx);
    try {
      participate(participant);
    } catch (e) {
      if (e instanceof WorkerCrash) return host.crash();
      throw e;
    }
    Atomics.add(ctl, Ctl.left, 1);
    Atomics.notify(ctl, Ctl.left);
  }
}
