// What the harness (main.ts) asks of a measuring process (worker.ts), and
// what comes back. Each job runs in a fresh Node process: onnxruntime-web
// fixes its thread count once per process (at its first session) and this
// package once per instance (at init(); a process that needs it at 1 and 2
// threads loads it twice), the relaxed-SIMD build needs a V8 flag on Node 20, and
// the package's wasm memory only ever grows, so a fresh process is what
// makes its peak a per-config figure.
import type { AttentionKind, AttentionShape, GemmShape, SweepSpec, Table3Spec } from './shapes.js';

/**
 * Which engines share a process.
 *  - simd: the package's plain SIMD build, onnxruntime-web with 1 thread,
 *    TF.js (SGEMM) and the plain-JS reference;
 *  - relaxed: the package's relaxed-SIMD build, with onnxruntime-web 1 thread
 *    (and TF.js for SGEMM) beside it for a ratio taken in the same process;
 *  - simd2, relaxed2 (attention): the 2-thread process of a build. The
 *    package runs there twice, as two independent instances (its self-contained
 *    ES module build imported from two URLs, see PACKAGE_INSTANCES), one
 *    init()ed at 1 thread and one at 2, beside onnxruntime-web with 2 threads:
 *    every ratio of the two-thread table divides two medians of this one
 *    process. onnxruntime-web cannot run 1 and 2 threads in one process (its
 *    numThreads is global and fixed at the first session), so its 1 thread
 *    stays in simd / relaxed. After each run of ORT 2T its idle threads spin
 *    for some 30–35 ms; the timing waits until the process is idle before the
 *    next run, outside every timed interval (TimedEngine.settle);
 *  - ort2: onnxruntime-web with 2 threads alone (SGEMM only now).
 * In --browser each group is one page load instead of one process, holding
 * the same engines.
 */
export type Group = 'simd' | 'relaxed' | 'ort2' | 'simd2' | 'relaxed2';

/** The package's build in a group's process (ORT's group makes its weights with the plain one). */
export function buildOf(group: Group): Build {
  return group === 'relaxed' || group === 'relaxed2' ? 'relaxed' : 'simd';
}

/** The package's thread count in a group (the 2-thread groups also time a 1-thread instance, PACKAGE_1T). */
export function threadsOf(group: Group): 1 | 2 {
  return group === 'simd2' || group === 'relaxed2' ? 2 : 1;
}

/** onnxruntime-web's thread count in a group. */
export function ortThreadsOf(group: Group): 1 | 2 {
  return group === 'ort2' || group === 'simd2' || group === 'relaxed2' ? 2 : 1;
}

/** Whether the package is measured in the group (not only used to make weights). */
export function measuresPackage(group: Group): boolean {
  return group !== 'ort2';
}

/**
 * The 2-thread groups load the package twice in one process (page): these
 * name the two instances (the query string of their import URL). Each has
 * its own loader state, wasm memory and thread count.
 */
export const PACKAGE_INSTANCES = { one: '1T', two: '2T' } as const;

/** Engine id of the package's 1-thread instance in a 2-thread group (its 2-thread instance is 'package'). */
export const PACKAGE_1T = 'package-1t';

export type Build = 'simd' | 'relaxed';

export interface TimingPolicy {
  /** Time to spend on the timed runs of one engine, when the runs are short. */
  budgetMs: number;
  minRuns: number;
  maxRuns: number;
  /** Warm-up runs go on until this much time has passed (at least one run). */
  warmupMs: number;
  /** Time each engine's kernels run on a small problem before the warm-up. */
  prewarmMs: number;
  /**
   * A first run at least this long (kernels already warmed on a small
   * problem) counts as the one timed run: for sizes where every run costs
   * many seconds.
   */
  singleRunAboveMs?: number;
}

export type Job =
  | { type: 'peak'; group: 'simd' | 'relaxed'; msPerTrial: number; trials: number }
  | { type: 'attention'; group: Group; shape: AttentionShape; kind: AttentionKind; timing: TimingPolicy; outDir: string }
  | { type: 'gemm'; group: Group; shapes: GemmShape[]; timing: TimingPolicy; outDir: string }
  | { type: 'sweep'; group: 'simd'; sweep: SweepSpec; kind: AttentionKind; timing: TimingPolicy }
  | { type: 'cold'; engine: 'package' | 'ort'; group: 'simd' | 'relaxed'; shape: AttentionShape; kind: AttentionKind }
  | { type: 'table3'; group: 'simd' | 'relaxed'; spec: Table3Spec; timing: TimingPolicy }
  /** profile: at least `runs` passes, and more until they add up to `budgetMs` (at most PROFILE_MAX_PASSES). */
  | { type: 'profile'; group: Build; threads: 1 | 2; shape: AttentionShape; kind: AttentionKind; runs: number; budgetMs: number; withOrt: boolean }
  /** --browser: the float64 reference output for the input the pages get first (a few rows where the whole is too slow). */
  | { type: 'reference'; shape: AttentionShape; kind: AttentionKind; outDir: string };

export interface EngineResult {
  /** e.g. 'package', 'package-1t', 'ort1', 'ort1-spec', 'ort2-project-first', 'tfjs', 'js'. */
  id: string;
  label: string;
  medianMs?: number;
  timesMs?: number[];
  warmupRuns?: number;
  /** Set when the engine could not run this shape. */
  error?: string;
  /** File holding the engine's output for the first input (Float32 raw), for the check. */
  outputFile?: string;
  /** Filled in by the harness: this output against the package's (plain SIMD build). */
  check?: OutputCheck;
  /**
   * Filled in by the harness for the package at 2 threads: its output is bit
   * for bit that of the same build at 1 thread (the 1-thread instance in the
   * same process and, where it ran, the build's 1-thread process).
   */
  identicalTo1T?: boolean;
  /** Threaded engines: the waits after their timed runs until the process was idle again, excluded from timesMs. */
  settle?: SettleFigures;
  /** The package: the GEMM tile its init() chose (backendInfo().gemmTile), which the relaxed build times per instance. */
  gemmTile?: string;
}

/** How long the process took to go idle after an engine's timed runs (see timing.ts). */
export interface SettleFigures {
  /**
   * 'cpu': until process.cpuUsage() showed it idle (Node); 'renderer': until
   * the page's renderer process, every thread of it, showed it idle (the
   * harness reads their CPU time from /proc); 'fixed': a fixed sleep (a page
   * whose CPU time cannot be read).
   */
  how: 'cpu' | 'renderer' | 'fixed';
  runs: number;
  medianMs: number;
  maxMs: number;
  /** Waits that hit the cap without the process going idle. */
  capped: number;
}

export interface OutputCheck {
  maxAbsDiff: number;
  /** ‖this − reference‖₂ / ‖reference‖₂ */
  relativeError: number;
  /** Every element within the harness's tolerance (see compare.ts). */
  agrees: boolean;
}

export interface MemoryFigures {
  /** memoryUsage().peakBytes after a forward pass: the highest address the package used. */
  peakBytes: number;
  /** Size of the wasm memory. */
  wasmBytes: number;
}

export interface AttentionResult {
  type: 'attention';
  group: Group;
  config: string;
  kind: AttentionKind;
  /** backendInfo().build of the package in this process. */
  build?: string;
  /** backendInfo().threads of the package in this process. */
  threads?: number;
  engines: EngineResult[];
  memory?: MemoryFigures;
}

export interface GemmResult {
  type: 'gemm';
  group: Group;
  build?: string;
  shapes: { name: string; engines: EngineResult[] }[];
}

export interface PeakFigures {
  type: 'peak';
  group: 'simd' | 'relaxed';
  /** f32x4.mul and f32x4.add, independent. */
  plain: { gflops: number; accumulators: number; byAccumulators: Record<number, number> };
  /** The plain loop on every core at once (the simd group): the machine's own scaling over `plain`. */
  together?: { threads: number; gflops: number };
  /** f32x4.relaxed_madd; only where the engine runs relaxed SIMD. */
  relaxed?: { gflops: number; accumulators: number; byAccumulators: Record<number, number> };
}

export interface SweepResult {
  type: 'sweep';
  kind: AttentionKind;
  build?: string;
  points: { L: number; engines: EngineResult[] }[];
}

export interface ColdResult {
  type: 'cold';
  engine: 'package' | 'ort';
  group: 'simd' | 'relaxed';
  kind: AttentionKind;
  build?: string;
  /** Loading the JS (import). */
  importMs: number;
  /** init() / the session's creation (wasm compile and instantiate; for ORT also the model). */
  initMs: number;
  /** Creating the module with its weights (package only). */
  createMs: number;
  firstForwardMs: number;
  totalMs: number;
}

export interface Table3Result {
  type: 'table3';
  build?: string;
  E: number;
  H: number;
  sharing: string;
  /** standard attention per n */
  standard: { n: number; medianMs: number; runs: number }[];
  linformer: { n: number; k: number; medianMs: number; runs: number }[];
}

/** --profile: passes of one process add up to about this much at least, and number at most PROFILE_MAX_PASSES. */
export const PROFILE_BUDGET_MS = 1000;
export const PROFILE_MAX_PASSES = 500;

export interface ProfileResult {
  type: 'profile';
  config: string;
  kind: AttentionKind;
  build: string;
  /** Threads in use (backendInfo().threads). */
  threads: number;
  /** Passes the medians are of (absent from the files of runs before it was recorded). */
  passes?: number;
  /** Median of the whole forward pass, as the package's profile hook reports it. */
  totalMs: number;
  /** Median per stage (the hook's steps summed by stage); 'other' is the rest of the pass. */
  stagesMs: Record<string, number>;
  /** Median of the pass minus its parallel steps (see stages.ts). */
  serialMs: number;
  /** Median busy time of each thread over the pass; index 0 is the caller. */
  busyMs: number[];
  /**
   * onnxruntime-web 1 thread: the whole graph ('spec' order for Linformer)
   * and single-node MatMul graphs of its GEMM-shaped steps; the rest is
   * the difference.
   */
  ort?: { totalMs: number; inProjectionMs: number; sequenceProjectionMs: number; outProjectionMs: number; restMs: number };
}

export interface ReferenceResult {
  type: 'reference';
  config: string;
  kind: AttentionKind;
  /** The reference's rows (float32), all of them or `rows`. */
  outputFile: string;
  rows?: number[];
}

export type JobResult = AttentionResult | GemmResult | PeakFigures | SweepResult | ColdResult | Table3Result | ProfileResult | ReferenceResult | BrowserPageResult;

// ---------------------------------------------------------------- --browser

/** What one page load runs: one group's engines on every selected config. */
export interface BrowserPageJob {
  group: Group;
  attention: { shape: AttentionShape; kind: AttentionKind }[];
  timing: TimingPolicy;
}

/** What a page hands back; its outputs went to the server (POST /out/NAME). */
export interface BrowserPageResult {
  type: 'browser';
  group: Group;
  crossOriginIsolated: boolean;
  userAgent: string;
  attention: AttentionResult[];
}

export type WorkerMessage =
  | { type: 'progress'; text: string }
  | { type: 'result'; result: JobResult }
  | { type: 'failed'; message: string };
