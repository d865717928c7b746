// The process's threads: the pool init() started, or why there is none,
// and what happens when a worker stops answering (the pool is stopped, a
// new one starts in the background, and calls run on one thread until it
// is ready).
import { PoolFailure, ThreadPool, type PoolOptions } from './pool.js';

let pool: ThreadPool | null = null;
let unavailable: string | null = null;
/** What the last pool was started with, to start a new one after a failure. */
let setup: PoolOptions | null = null;

/** Starts the pool; on failure keeps the reason and runs one thread. Never rejects. */
export async function startThreads(o: PoolOptions): Promise<void> {
  stopPool();
  setup = o;
  unavailable = null;
  try {
    pool = await ThreadPool.start(o);
  } catch (e) {
    // No worker holds the memory: it may be given back as without threads.
    setup = null;
    unavailable = `${(e as Error).message}; running one thread`;
  }
}

/** No pool, for this reason (null when one thread was asked for). */
export function noThreads(reason: string | null): void {
  stopPool();
  setup = null;
  unavailable = reason;
}

/** The pool to run a plan on, or null for the calling thread alone. */
export function activePool(): ThreadPool | null {
  return pool;
}

/** Whether workers hold the memory, or will once a restart is done: it must then not be dropped. */
export function threadsHoldMemory(): boolean {
  return pool !== null || setup !== null;
}

export function threadsInUse(): number {
  return pool?.threads ?? 1;
}

export function threadsUnavailable(): string | null {
  return unavailable;
}

/**
 * A worker stopped answering during a call: the pool is stopped, the call
 * fails with `e`, and a new pool starts in the background.
 */
export function poolFailed(e: PoolFailure): void {
  pool = null;
  unavailable = `the workers are restarting after one failed (${e.reason}); running one thread meanwhile`;
  const o = setup;
  if (!o) return;
  void ThreadPool.start(o).then(
    (p) => {
      if (setup !== o) return p.stop();
      pool = p;
      unavailable = null;
    },
    (err: Error) => {
      if (setup !== o) return;
      setup = null;
      unavailable = `${err.message}; running one thread`;
    },
  );
}

/**
 * Stops the worker pool: later calls run on the calling thread, and the
 * memory is again given back when it is empty. Calling it again does nothing.
 */
export function stopThreads(): void {
  const had = pool !== null || setup !== null;
  stopPool();
  setup = null;
  if (had) unavailable = 'stopThreads() was called';
}

function stopPool(): void {
  pool?.stop();
  pool = null;
}
