// The words the calling thread and its workers coordinate through: a
// SharedArrayBuffer of its own, apart from the wasm memory, so that it
// never moves when the memory grows. One plan runs at a time (see
// participate() for the protocol).
import { MAX_STEPS, PLAN_WORDS, runTask, STEP_WORDS, StepKind, type ThreadContext } from '../plan/steps.js';

export const Ctl = {
  /** Bumped once per plan: idle workers sleep on it. */
  generation: 0,
  /** 1: workers return. */
  stop: 1,
  /** 1: the plan is given up (a task threw, or a thread stopped answering): skip to the end. */
  abort: 2,
  /** 1 + the thread whose task threw first; its message is in the message buffer. */
  failed: 3,
  /** Workers done with the current plan. */
  left: 4,
  /** 1: threads add up their busy time per step. */
  profile: 5,
  /** Fault injection (tests): the worker (1…T-1) that is to stop in the plan's first parallel step; 0 for none. */
  crash: 6,
  /** Per step s: the next task to claim at steps + 2s, tasks done at steps + 2s + 1. */
  steps: 8,
} as const;

export const CONTROL_WORDS = Ctl.steps + 2 * MAX_STEPS;
/** Bytes of the first failure's message. */
export const MESSAGE_BYTES = 1024;
export const MAX_THREADS = 64;

/** The shared buffers of one pool. */
export interface SharedControl {
  control: SharedArrayBuffer;
  /** The plan's words (steps.ts). */
  plan: SharedArrayBuffer;
  /** Busy milliseconds per (thread, step), when profiling. */
  busy: SharedArrayBuffer;
  message: SharedArrayBuffer;
}

export function newSharedControl(): SharedControl {
  return {
    control: new SharedArrayBuffer(CONTROL_WORDS * 4),
    plan: new SharedArrayBuffer(PLAN_WORDS * 8),
    busy: new SharedArrayBuffer(MAX_THREADS * MAX_STEPS * 8),
    message: new SharedArrayBuffer(MESSAGE_BYTES),
  };
}

/** How a thread waits for a counter to move: sleep where Atomics.wait is allowed, else spin. */
export interface Waiter {
  /** Returns once ctl[index] is not `seen` (or after about `sliceMs`). */
  wait(ctl: Int32Array, index: number, seen: number, sliceMs: number): void;
}

/**
 * How long a thread spins at a barrier before it sleeps. Within a plan the
 * next step is usually microseconds away, and waking a sleeping thread
 * costs tens of microseconds; a plan's end is a longer wait, so workers
 * sleep between calls (worker-loop.ts) and never spin there.
 */
const SPIN_MS = 0.5;
const LOADS_PER_CLOCK = 256;

/** Spins until ctl[index] is not `seen` (true) or `ms` have passed (false). */
export function spinUntilChanged(ctl: Int32Array, index: number, seen: number, ms: number): boolean {
  const until = performance.now() + ms;
  do {
    for (let i = 0; i < LOADS_PER_CLOCK; i++) if (Atomics.load(ctl, index) !== seen) return true;
  } while (performance.now() < until);
  return false;
}

export const sleepingWaiter: Waiter = {
  wait(ctl, index, seen, sliceMs) {
    if (!spinUntilChanged(ctl, index, seen, SPIN_MS)) Atomics.wait(ctl, index, seen, sliceMs);
  },
};

/** With more threads than cores a spinning thread takes the core another needs: sleep at once. */
export const blockingWaiter: Waiter = {
  wait(ctl, index, seen, sliceMs) {
    Atomics.wait(ctl, index, seen, sliceMs);
  },
};

/** A browser's main thread may not block: it spins for the slice. */
export const spinningWaiter: Waiter = {
  wait(ctl, index, seen, sliceMs) {
    spinUntilChanged(ctl, index, seen, sliceMs);
  },
};

export interface Participant {
  ctx: ThreadContext;
  ctl: Int32Array;
  plan: Float64Array;
  busy: Float64Array;
  message: Uint8Array;
  waiter: Waiter;
  /** The calling thread's closures (SERIAL steps); workers have none and skip them. */
  serial: ((() => void) | null)[] | null;
  /** The calling thread's work beside parallel steps (Plan.onCallerBeside), run before it claims their tasks; null for workers. */
  beside: ((() => void) | null)[] | null;
  /** Called while waiting at a barrier, with the step; may throw to give the plan up (the caller's stall check). */
  onWait?: (step: number) => void;
  /** Receives the error of a task of this thread that threw (the calling thread keeps it to rethrow). */
  onError?: (e: unknown) => void;
  /** When given, receives the time each step's barrier was passed (the calling thread's profile). */
  stepEnds?: number[] | null;
}

const WAIT_SLICE_MS = 20;

/**
 * One thread's part in the current plan. Step by step: claim tasks until
 * none is left, then wait until all of the step's tasks are done (the
 * barrier), so that the next step reads finished data. Workers skip SERIAL
 * steps, which only the calling thread runs, but wait for them. A task that
 * throws gives the plan up: its message is kept, `abort` is raised, and
 * every thread skips to the end.
 */
export function participate(p: Participant): void {
  const { ctx, ctl, plan } = p;
  const steps = plan[0];
  const profiling = Atomics.load(ctl, Ctl.profile) === 1;
  for (let s = 0; s < steps; s++) {
    const at = 1 + s * STEP_WORDS;
    const kind = plan[at];
    const tasks = plan[at + 1];
    const next = Ctl.steps + 2 * s;
    const done = next + 1;
    if (kind !== StepKind.serial || p.serial !== null) {
      if (p.serial === null && kind !== StepKind.serial && Atomics.load(ctl, Ctl.crash) === ctx.thread) {
        // Fault injection: stop this worker for good while it holds a task.
        Atomics.add(ctl, next, 1);
        throw new WorkerCrash();
      }
      const beside = p.beside?.[s];
      if (beside) {
        try {
          beside();
        } catch (e) {
          fail(p, e);
          return;
        }
      }
      for (;;) {
        if (Atomics.load(ctl, Ctl.abort) === 1) return;
        const t = Atomics.add(ctl, next, 1);
        if (t >= tasks) break;
        const t0 = profiling ? performance.now() : 0;
        try {
          if (kind === StepKind.serial) p.serial![s]!();
          else runTask(ctx, plan, at, t);
        } catch (e) {
          fail(p, e);
          return;
        }
        if (profiling) p.busy[ctx.thread * MAX_STEPS + s] += performance.now() - t0;
        if (Atomics.add(ctl, done, 1) + 1 === tasks) Atomics.notify(ctl, done);
      }
    }
    for (let seen = Atomics.load(ctl, done); seen < tasks; seen = Atomics.load(ctl, done)) {
      if (Atomics.load(ctl, Ctl.abort) === 1) return;
      p.onWait?.(s);
      p.waiter.wait(ctl, done, seen, WAIT_SLICE_MS);
    }
    p.stepEnds?.push(performance.now());
  }
}

/** Keeps the first failure's message and gives the plan up. */
function fail(p: Participant, e: unknown): void {
  p.onError?.(e);
  if (Atomics.compareExchange(p.ctl, Ctl.failed, 0, p.ctx.thread + 1) === 0) {
    const text = new TextEncoder().encode(e instanceof Error ? `${e.name}: ${e.message}` : String(e));
    const length = Math.min(text.length, MESSAGE_BYTES - 4);
    new DataView(p.message.buffer).setUint32(0, length);
    p.message.set(text.subarray(0, length), 4);
  }
  abort(p.ctl);
}

export function abort(ctl: Int32Array): void {
  Atomics.store(ctl, Ctl.abort, 1);
  for (let i = Ctl.steps; i < CONTROL_WORDS; i++) Atomics.notify(ctl, i);
  Atomics.notify(ctl, Ctl.left);
}

/** The message of the first failure, if any thread failed. */
export function failureMessage(ctl: Int32Array, message: Uint8Array): string | null {
  if (Atomics.load(ctl, Ctl.failed) === 0) return null;
  const length = new DataView(message.buffer).getUint32(0);
  // TextDecoder refuses views of shared memory: copy first.
  return new TextDecoder().decode(message.slice(4, 4 + length));
}

/** Thrown in a worker by the crash fault: it ends the worker's loop. */
export class WorkerCrash extends Error {}
