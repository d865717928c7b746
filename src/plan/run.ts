// Runs a plan: on the worker pool when there is one, else step by step on
// the calling thread, through the same task code either way (steps.ts).
// With a profile hook set, it reports each step's time and each thread's
// busy time (the harness's --profile).
import type { Heap } from '../core/heap.js';
import { PoolFailure } from '../threads/pool.js';
import { activePool, poolFailed } from '../threads/threads.js';
import { Plan } from './plan.js';
import { runTask, type ThreadContext } from './steps.js';

/** What the profile hook receives after each plan. */
export interface PlanProfile {
  call: string;
  /** From the plan's creation (the call's start, its arguments read) to its end. */
  totalMs: number;
  threads: number;
  steps: { stage: string; ms: number; busyMs: number[] }[];
}

const PROFILE = Symbol.for('linformer-wasm.profile');

function profileHook(): ((p: PlanProfile) => void) | null {
  const hook = (globalThis as { [PROFILE]?: unknown })[PROFILE];
  return typeof hook === 'function' ? (hook as (p: PlanProfile) => void) : null;
}

export function runPlan(heap: Heap, plan: Plan): void {
  const hook = profileHook();
  const ctx: ThreadContext = { kernels: heap.kernels, memory: heap.memory, f32: heap.f32, u8: heap.u8, thread: 0 };
  const pool = activePool();
  const stepEnds: number[] = [];
  const busy: number[][] | null = hook ? [] : null;
  const t0 = performance.now();
  if (pool) {
    try {
      pool.run(plan, ctx, busy, hook ? stepEnds : null);
    } catch (e) {
      if (!(e instanceof PoolFailure)) throw e;
      poolFailed(e);
      throw new PoolFailure(`linformer-wasm: ${e.message}; the workers are being restarted, and calls run on one thread until they are back`, e.reason);
    }
  } else {
    for (let s = 0; s < plan.steps; s++) {
      const serial = plan.serial[s];
      plan.beside[s]?.();
      if (serial) serial();
      else for (let t = 0, tasks = plan.tasksOf(s); t < tasks; t++) runTask(ctx, plan.words, Plan.at(s), t);
      if (hook) stepEnds.push(performance.now());
    }
  }
  if (!hook) return;
  const steps = [];
  for (let s = 0, from = t0; s < plan.steps; from = stepEnds[s], s++) {
    const ms = stepEnds[s] - from;
    steps.push({ stage: plan.stageOf(s), ms, busyMs: busy && busy.length > 0 ? busy.map((b) => b[s]) : [ms] });
  }
  hook({ call: plan.call, totalMs: performance.now() - plan.createdAt, threads: pool?.threads ?? 1, steps });
}
