// Timing engines side by side: warm-up, then timed runs taken in rounds (one
// run of each engine per round), so that load from elsewhere on a shared
// machine lands on every engine alike and ratios stay fair. Runs in Node and
// in the --browser page alike (the global `performance` of both).
import { randn, Rng } from '../../tests/helpers/rng.js';
import type { EngineResult, TimingPolicy } from './protocol.js';

export interface TimedEngine {
  id: string;
  label: string;
  run(input: Float32Array): Float32Array | Promise<Float32Array>;
  /**
   * Runs the engine's kernels on a small problem first. V8 starts wasm in its
   * baseline compiler and a call already running never switches to the
   * optimised code; small calls get the kernels optimised before a big call.
   */
  prewarm?(ms: number): void | Promise<void>;
  dispose?(): unknown;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const ROTATION_BYTES = 64 * 2 ** 20;

/**
 * Inputs to rotate through: enough distinct buffers that together they pass
 * the last-level cache, so no run starts with its input already cached
 * (2 to 8 of them).
 */
export function rotatingInputs(length: number, seed: number): Float32Array[] {
  const count = Math.min(8, Math.max(2, Math.ceil(ROTATION_BYTES / (length * 4))));
  return Array.from({ length: count }, (_, i) => randn(new Rng(seed + i), [length]).data);
}

/** Calls `fn` repeatedly for about `ms`; for warming kernels up on a small problem. */
export async function repeatFor(ms: number, fn: () => unknown): Promise<void> {
  const end = performance.now() + ms;
  do await fn();
  while (performance.now() < end);
}

export function errorText(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  return message.replace(/\s+/g, ' ').trim();
}

export interface MeasureOptions {
  policy: TimingPolicy;
  progress: (text: string) => void;
  /** Receives each engine's output for inputs[0]. */
  onOutput?: (engine: TimedEngine, output: Float32Array) => void;
  /** Called after each engine's warm-up, e.g. to read its memory. */
  afterWarmup?: (engine: TimedEngine) => void;
}

export async function measureEngines(engines: TimedEngine[], inputs: Float32Array[], opts: MeasureOptions): Promise<EngineResult[]> {
  const { policy, progress } = opts;
  const results = new Map<TimedEngine, EngineResult>();
  const runs = new Map<TimedEngine, number>();
  const times = new Map<TimedEngine, number[]>();
  for (const e of engines) results.set(e, { id: e.id, label: e.label });

  for (const e of engines) {
    const res = results.get(e)!;
    try {
      if (e.prewarm && policy.prewarmMs > 0) {
        progress(`${e.label}: warming up on a small problem`);
        await e.prewarm(policy.prewarmMs);
      }
      progress(`${e.label}: warm-up`);
      let warmups = 0;
      let lastMs = 0;
      const start = performance.now();
      do {
        const t0 = performance.now();
        const out = await e.run(inputs[warmups % inputs.length]);
        lastMs = performance.now() - t0;
        if (warmups === 0) opts.onOutput?.(e, out);
        warmups++;
      } while (performance.now() - start < policy.warmupMs);
      res.warmupRuns = warmups;
      opts.afterWarmup?.(e);
      if (warmups === 1 && policy.singleRunAboveMs !== undefined && lastMs >= policy.singleRunAboveMs) {
        res.warmupRuns = 0;
        times.set(e, [lastMs]);
        continue;
      }
      runs.set(e, Math.min(policy.maxRuns, Math.max(policy.minRuns, Math.ceil(policy.budgetMs / Math.max(lastMs, 1e-3)))));
    } catch (err) {
      res.error = errorText(err);
    }
  }

  const rounds = Math.max(0, ...runs.values());
  for (let r = 0; r < rounds; r++) {
    for (const [e, n] of runs) {
      if (r >= n || results.get(e)!.error) continue;
      progress(`${e.label}: run ${r + 1}/${n}`);
      try {
        const input = inputs[(r + 1) % inputs.length];
        const t0 = performance.now();
        await e.run(input);
        const ms = performance.now() - t0;
        let list = times.get(e);
        if (!list) times.set(e, (list = []));
        list.push(ms);
      } catch (err) {
        results.get(e)!.error = errorText(err);
      }
    }
  }
  for (const [e, list] of times) {
    const res = results.get(e)!;
    if (res.error) continue;
    res.timesMs = list;
    res.medianMs = median(list);
  }
  return engines.map((e) => results.get(e)!);
}
