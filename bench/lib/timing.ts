// Timing engines side by side: warm-up, then timed runs taken in rounds (one
// run of each engine per round), so that load from elsewhere on a shared
// machine lands on every engine alike and ratios stay fair. An engine whose
// threads stay busy after a run (settle) is waited for before anything else
// runs, outside every timed interval; then every engine's timed run
// directly follows untimed ones of its own (RESUME_MS), so that threads are
// awake and weights in cache for all alike. Runs in Node and in the --browser page
// alike (the global `performance` of both).
import { randn, Rng } from '../../tests/helpers/rng.js';
import type { EngineResult, SettleFigures, TimingPolicy } from './protocol.js';

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
  /**
   * Threaded engines: waits until the engine's threads have gone quiet after
   * a run (onnxruntime-web's spin for tens of milliseconds), so that they do
   * not land on the next run of any engine. measureEngines calls it after
   * every run of the engine, before the next run of any, and keeps it out
   * of every time.
   */
  settle?(): Promise<Settled>;
  dispose?(): unknown;
  /** The package: the GEMM tile its init() chose, recorded beside its times. */
  gemmTile?: string;
}

export interface Settled {
  ms: number;
  how: SettleFigures['how'];
  /** The wait hit its cap without the process going idle. */
  capped?: boolean;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** One look at the process's CPU time covers this long. */
export const SETTLE_WINDOW_MS = 5;
/** Below this many cores busy over a window (the sleeping event loop itself: some 0.05), the process is idle. */
export const SETTLE_IDLE_CORES = 0.25;
export const SETTLE_CAP_MS = 250;
/**
 * How long an engine runs untimed before each timed run, after the waits
 * (at least one run). A machine left idle for those waits takes some 10–20
 * ms of work to run a second thread at full speed again (measured on a
 * 2-core VM: a short call at 2 threads took 1.97 ms after one untimed call,
 * 1.22 ms after 20 ms of them; at 1 thread 2.1 ms either way).
 */
export const RESUME_MS = 20;

/** The CPU milliseconds the measured process has used so far, all its threads; null where they cannot be read. */
export interface CpuClock {
  how: 'cpu' | 'renderer';
  read(): number | null | Promise<number | null>;
}

const nodeClock: CpuClock | null =
  typeof process !== 'undefined' && typeof process.cpuUsage === 'function'
    ? {
        how: 'cpu',
        read: () => {
          const u = process.cpuUsage();
          return (u.user + u.system) / 1000;
        },
      }
    : null;
let cpuClock: CpuClock | null = nodeClock;

/** A page's clock: its renderer's CPU time, which only the harness outside it can read. */
export function setCpuClock(clock: CpuClock | null): void {
  cpuClock = clock ?? nodeClock;
}

/**
 * Waits until the measured process is idle: until its CPU time, every
 * thread of it (process.cpuUsage() in Node, the renderer's in a page),
 * grows by less than SETTLE_IDLE_CORES over a window of SETTLE_WINDOW_MS, at
 * least one window; where the CPU time cannot be read, `fixedMs`.
 */
export async function settleProcess(fixedMs: number): Promise<Settled> {
  const t0 = performance.now();
  const clock = cpuClock;
  let c0 = clock ? await clock.read() : null;
  if (!clock || c0 === null) {
    await sleep(fixedMs);
    return { ms: performance.now() - t0, how: 'fixed' };
  }
  let w0 = t0;
  for (;;) {
    await sleep(SETTLE_WINDOW_MS);
    const c1 = await clock.read();
    const w1 = performance.now();
    if (c1 === null) return { ms: w1 - t0, how: 'fixed' };
    if (c1 - c0 < SETTLE_IDLE_CORES * (w1 - w0)) return { ms: w1 - t0, how: clock.how };
    if (w1 - t0 >= SETTLE_CAP_MS) return { ms: w1 - t0, how: clock.how, capped: true };
    w0 = w1;
    c0 = c1;
  }
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
  const settles = new Map<TimedEngine, Settled[]>();
  for (const e of engines) results.set(e, { id: e.id, label: e.label, ...(e.gemmTile ? { gemmTile: e.gemmTile } : {}) });
  /** The engine that ran last, whose threads may still be busy, and whether that was a timed run. */
  let last: { e: TimedEngine; timed: boolean } | undefined;
  /** Before any run: waits for the engine that ran last to settle (the waits after timed runs are recorded). */
  const quiet = async () => {
    const was = last;
    last = undefined;
    if (!was?.e.settle) return;
    const { e, timed } = was;
    const s = await e.settle!();
    if (!timed) return;
    const list = settles.get(e);
    if (list) list.push(s);
    else settles.set(e, [s]);
  };

  for (const e of engines) {
    const res = results.get(e)!;
    try {
      if (e.prewarm && policy.prewarmMs > 0) {
        progress(`${e.label}: warming up on a small problem`);
        await quiet();
        last = { e, timed: false };
        await e.prewarm(policy.prewarmMs);
      }
      progress(`${e.label}: warm-up`);
      let warmups = 0;
      let lastMs = 0;
      const start = performance.now();
      do {
        await quiet();
        last = { e, timed: false };
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
  const threaded = engines.some((e) => e.settle);
  for (let r = 0; r < rounds; r++) {
    for (const [e, n] of runs) {
      if (r >= n || results.get(e)!.error) continue;
      progress(`${e.label}: run ${r + 1}/${n}`);
      try {
        const input = inputs[(r + 1) % inputs.length];
        await quiet();
        // Where threads are measured, every timed run follows untimed runs
        // of the same engine, as in a loop of calls: a threaded engine's
        // threads are awake (onnxruntime-web's still spin), and every engine,
        // threaded or not, finds its weights in cache after the waits that
        // let the others settle.
        if (threaded) await repeatFor(RESUME_MS, () => e.run(inputs[r % inputs.length]));
        last = { e, timed: true };
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
  // the last run's wait too, so that nothing of it lands on the caller's next step
  await quiet();
  for (const [e, list] of times) {
    const res = results.get(e)!;
    if (res.error) continue;
    res.timesMs = list;
    res.medianMs = median(list);
  }
  for (const [e, list] of settles) {
    const ms = list.map((s) => s.ms);
    results.get(e)!.settle = { how: list[0].how, runs: list.length, medianMs: median(ms), maxMs: Math.max(...ms), capped: list.filter((s) => s.capped).length };
  }
  return engines.map((e) => results.get(e)!);
}
