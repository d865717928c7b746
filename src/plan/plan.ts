// A forward plan: the kernel steps of one public call over buffers already
// laid out, each cut into tasks, as words any thread can read (steps.ts).
// The modules say what to compute (their torch semantics, shapes and
// buffers); this file decides how each step is cut. Cuts depend on the
// problem's sizes only, so any number of threads computes the same bits.
import { packedSize } from '../core/kernels.js';
import { AttentionArg, AugmentArg, FillArg, GemmArg, MaskArg, MAX_STEPS, PackArg, PLAN_WORDS, SoftmaxArg, STAGES, STEP_WORDS, StepKind, ZeroArg, type Stage } from './steps.js';

/** Tasks a step is cut into at most: enough for 8 threads to balance, few enough that each is worth its claim. */
const TARGET_TASKS = 32;
/** Multiply-adds below which a GEMM task is not worth cutting further (about 10 µs). */
const MIN_TASK_MACS = 1 << 17;
/** Multiply-adds a task does at most (tens of ms), whatever the size: a worker silent for far longer than a task is taken for dead. */
const MAX_TASK_MACS = 1 << 29;
/**
 * Multiply-adds an attention task does at most (a few ms): long rows make few
 * tasks tall, and the thread that claims the last one would finish alone.
 */
const ATTENTION_TASK_MACS = 1 << 25;
/** Floats a copying task (packing, masks) moves at least. */
const MIN_TASK_FLOATS = 1 << 14;
/** GEMM row blocks are whole 4×8 and 6×8 register tiles. */
const ROW_ALIGN = 12;
/** The tallest GEMM row block: about the GEMM's own row blocking (126 rows, gemm_f32_6x8_simd). */
const MAX_TASK_ROWS = 120;

/** Byte strides of one batch level of a GEMM: how far apart consecutive items' c, a, b and row bias are. */
export interface GemmBatch {
  count: number;
  c: number;
  a?: number;
  b?: number;
  bias?: number;
}

export interface GemmSpec {
  /** c (m×n, row stride ldc) = a (m×k, row stride lda) · b (packed k×n) + rowBias (m floats, or 0). */
  c: number;
  ldc: number;
  a: number;
  lda: number;
  b: number;
  m: number;
  n: number;
  k: number;
  rowBias?: number;
  outer?: GemmBatch;
  inner?: GemmBatch;
}

export interface PackBatch {
  count: number;
  out: number;
  b: number;
}

export interface PackSpec {
  /** Packs b (k×n, row stride ldb; given as its n×k transpose when `transposed`) into panels at `out`. */
  out: number;
  b: number;
  ldb: number;
  k: number;
  n: number;
  transposed: boolean;
  /** n floats for the panel heads (a Linear's bias); none: zeros. */
  bias?: number;
  outer?: PackBatch;
  inner?: PackBatch;
}

export interface AttentionSpec {
  /** (N, L, E) out and q, batch-major; heads packed per (n, h), `headBytes` apart. */
  out: number;
  q: number;
  kHeads: number;
  vHeads: number;
  headBytes: number;
  N: number;
  L: number;
  H: number;
  d: number;
  P: number;
  /** The per-thread scratch, from attentionScratch(). */
  scratch: number;
  layout: AttentionScratch;
  /** Additive (L, P) mask or one per (n, h) `maskHeadBytes` apart; 0 for none. */
  mask: number;
  maskHeadBytes: number;
  /** Additive (N, P) key mask; 0 for none. */
  keyMask: number;
  /** Weights (N, L, P) averaged or (N, H, L, P), or 0 for none. */
  weights: number;
  average: boolean;
}

/** How the attention step cuts its rows and how much scratch each thread takes. */
export interface AttentionScratch {
  rowsPerTask: number;
  /** H (every head, in order: averaged weights) or 1. */
  headsPerTask: number;
  blockRows: number;
  sumsOffset: number;
  /** Bytes of one thread's scratch. */
  bytesPerThread: number;
}

const ALIGN = 64;
const alignUp = (n: number) => Math.ceil(n / ALIGN) * ALIGN;
const roundUp = (n: number, to: number) => Math.ceil(n / to) * to;

/**
 * How the attention step is cut. With weights averaged over heads, a task
 * is a block of query rows with every head, in order, so that each
 * averaged weight is summed in one order by one task. Otherwise a task is
 * one head's block of rows: taller, so that the head's packed keys and
 * values stay in cache across more rows. `blockRows`: the scores block each
 * thread holds, about `scoreBlockFloats` scores: the nearest multiple of
 * ROW_ALIGN rows, or 4 rows where that is 0.
 */
export function attentionScratch(N: number, L: number, H: number, P: number, E: number, scoreBlockFloats: number, averageWeights: boolean): AttentionScratch {
  const headsPerTask = averageWeights ? H : 1;
  const items = Math.max(N * (H / headsPerTask), 1);
  const blocksPerItem = Math.max(1, Math.ceil(TARGET_TASKS / items));
  const rowMacs = Math.max((2 * P * E * headsPerTask) / H, 1);
  const largest = Math.max(ROW_ALIGN, Math.floor(ATTENTION_TASK_MACS / rowMacs / ROW_ALIGN) * ROW_ALIGN);
  const rowsPerTask = Math.max(1, Math.min(L, largest, roundUp(Math.ceil(L / blocksPerItem), ROW_ALIGN)));
  // Whole register tiles: 8 rows would be 6+1+1 on the 6×8 tile.
  const tileRows = Math.round(scoreBlockFloats / Math.max(P, 1) / ROW_ALIGN) * ROW_ALIGN || 4;
  const blockRows = Math.max(1, Math.min(rowsPerTask, tileRows));
  const sumsOffset = alignUp(blockRows * P * 4);
  return { rowsPerTask, headsPerTask, blockRows, sumsOffset, bytesPerThread: sumsOffset + alignUp(blockRows * 4) };
}

/** How many tasks of `per` units cover `units`, at most TARGET_TASKS, each at least `minUnits`. */
function unitsPerTask(units: number, items: number, minUnits: number): number {
  const tasks = Math.max(1, Math.min(Math.ceil(TARGET_TASKS / items), Math.floor(units / Math.max(minUnits, 1))));
  return Math.max(1, Math.ceil(units / tasks));
}

export class Plan {
  /** The steps as words, for every thread (steps.ts). */
  readonly words = new Float64Array(PLAN_WORDS);
  /** The calling thread's closures, by step index (SERIAL steps). */
  readonly serial: ((() => void) | null)[] = [];
  /** The calling thread's work beside a parallel step, by step index (onCallerBeside). */
  readonly beside: ((() => void) | null)[] = [];
  /** onCallerBeside's work, until the next step takes it. */
  private pendingBeside: (() => void) | null = null;
  private count = 0;
  /** When the call began, for the profile. */
  readonly createdAt = performance.now();

  /** `call` names the public call, for the profile and for errors. */
  constructor(readonly call: string) {}

  get steps(): number {
    return this.count;
  }

  /** A step's word offset. */
  static at(step: number): number {
    return 1 + step * STEP_WORDS;
  }

  stageOf(step: number): Stage {
    return STAGES[this.words[Plan.at(step) + 2]];
  }

  tasksOf(step: number): number {
    return this.words[Plan.at(step) + 1];
  }

  private push(kind: number, tasks: number, stage: Stage, args: Record<string, number>, names: Record<string, number>, closure: (() => void) | null = null): void {
    if (this.count === MAX_STEPS) throw new Error(`linformer-wasm: ${this.call}: a plan holds at most ${MAX_STEPS} steps`);
    const at = Plan.at(this.count);
    const w = this.words;
    w[at] = kind;
    w[at + 1] = tasks;
    w[at + 2] = STAGES.indexOf(stage);
    for (const [name, index] of Object.entries(names)) w[at + 3 + index] = args[name] ?? 0;
    const beside = this.pendingBeside;
    this.pendingBeside = null;
    // A serial step runs it first: the same order, with nothing beside it to overlap.
    this.serial[this.count] = closure && beside ? () => (beside(), closure()) : closure;
    this.beside[this.count] = closure ? null : beside;
    this.count++;
    w[0] = this.count;
  }

  /** Work only the calling thread can do: copying the caller's arrays in and out. */
  onCaller(stage: Stage, body: () => void): void {
    this.push(StepKind.serial, 1, stage, {}, {}, body);
  }

  /**
   * Work only the calling thread can do, which the next step does not
   * read: the caller does it as that step starts, while the workers begin
   * on the step's tasks, which it then helps to finish. Claiming tasks as
   * they come, the workers take over the caller's share meanwhile, so the
   * work is not serial. On one thread it runs before the step's tasks.
   */
  onCallerBeside(body: () => void): void {
    const before = this.pendingBeside;
    this.pendingBeside = before ? () => (before(), body()) : body;
  }

  gemm(stage: Stage, g: GemmSpec): void {
    if (g.m === 0 || g.n === 0) return;
    const outer = g.outer ?? { count: 1, c: 0 };
    const inner = g.inner ?? { count: 1, c: 0 };
    const items = outer.count * inner.count;
    if (items === 0) return;
    // Tasks wanted in all: enough for every thread, each worth its claim, none too long.
    const macs = g.m * g.n * g.k * items;
    const wanted = Math.max(1, Math.min(TARGET_TASKS, Math.floor(macs / MIN_TASK_MACS)), Math.ceil(macs / MAX_TASK_MACS));
    // Row blocks as tall as the kernel's own (about 120 rows): each B panel
    // is then read once per block, as on one thread. Parallelism beyond that
    // comes from column blocks, whole cache lines of c (two panels) each.
    const rowBlocks = Math.ceil(g.m / MAX_TASK_ROWS);
    const rowsPerTask = Math.min(g.m, roundUp(Math.ceil(g.m / rowBlocks), ROW_ALIGN));
    const rowTasks = Math.ceil(g.m / rowsPerTask);
    const panels = Math.ceil(g.n / 8);
    const colBlocks = Math.max(1, Math.min(Math.ceil(panels / 2), Math.ceil(wanted / (rowTasks * items))));
    const colsPerTask = colBlocks === 1 ? panels * 8 : Math.ceil(panels / colBlocks / 2) * 16;
    const tasks = items * rowTasks * Math.ceil(g.n / colsPerTask);
    this.push(StepKind.gemm, tasks, stage, {
      c: g.c, ldc: g.ldc, a: g.a, lda: g.lda, b: g.b, m: g.m, n: g.n, k: g.k, rowBias: g.rowBias ?? 0,
      outer: outer.count, inner: inner.count,
      cOuter: outer.c, cInner: inner.c, aOuter: outer.a ?? 0, aInner: inner.a ?? 0,
      bOuter: outer.b ?? 0, bInner: inner.b ?? 0, biasOuter: outer.bias ?? 0, biasInner: inner.bias ?? 0,
      rowsPerTask, colsPerTask,
    }, GemmArg);
  }

  pack(stage: Stage, s: PackSpec): void {
    const outer = s.outer ?? { count: 1, out: 0, b: 0 };
    const inner = s.inner ?? { count: 1, out: 0, b: 0 };
    const items = outer.count * inner.count;
    if (items === 0 || s.n === 0) return;
    const panels = Math.ceil(s.n / 8);
    const panelsPerTask = unitsPerTask(panels, items, MIN_TASK_FLOATS / (8 * (s.k + 1)));
    this.push(StepKind.pack, items * Math.ceil(panels / panelsPerTask), stage, {
      out: s.out, b: s.b, ldb: s.ldb, k: s.k, n: s.n, transposed: s.transposed ? 1 : 0,
      outer: outer.count, inner: inner.count, outOuter: outer.out, outInner: inner.out, bOuter: outer.b, bInner: inner.b,
      panelsPerTask, bias: s.bias ?? 0,
    }, PackArg);
  }

  /** Floats of one packed (n, h) head: the larger of Kᵀ (d × P) and V (P × d) packed. */
  static headFloats(P: number, d: number): number {
    return Math.max(packedSize(d, P), packedSize(P, d));
  }

  attention(s: AttentionSpec): void {
    const { N, L, H, d, P } = s;
    const E = H * d;
    const { rowsPerTask, headsPerTask, blockRows, sumsOffset, bytesPerThread } = s.layout;
    this.push(StepKind.attention, N * (H / headsPerTask) * Math.ceil(L / rowsPerTask), 'attention', {
      out: s.out, q: s.q, kHeads: s.kHeads, vHeads: s.vHeads, L, d, P, H, E,
      headBytes: s.headBytes, scratch: s.scratch, scratchBytes: bytesPerThread, sumsOffset, blockRows,
      mask: s.mask, maskHeadBytes: s.maskHeadBytes, keyMask: s.keyMask, weights: s.weights,
      weightsMode: s.weights === 0 ? 0 : s.average ? 2 : 1, rowsPerTask, headsPerTask,
    }, AttentionArg);
  }

  /** A user mask, copied into wasm at `src` as given (bytes when `boolean`), made additive floats of row stride P at `dst`. */
  additiveMask(dst: number, src: number, boolean: boolean, rows: number, width: number, P: number): void {
    if (rows === 0) return;
    const rowsPerTask = unitsPerTask(rows, 1, MIN_TASK_FLOATS / Math.max(P, 1));
    this.push(StepKind.additiveMask, Math.ceil(rows / rowsPerTask), 'copy in', {
      dst, src, boolean: boolean ? 1 : 0, rows, width, P, rowsPerTask,
    }, MaskArg);
  }

  /** X̃ for Linformer's input-first order (steps.ts, augmentTask). */
  augment(a: { dst: number; src: number; rowStride: number; batchStride: number; features: number; S: number; S1: number; N: number; mask: number }): void {
    if (a.N === 0 || a.S1 === 0) return;
    const rowsPerTask = unitsPerTask(a.S1, a.N, MIN_TASK_FLOATS / (a.features + 2));
    this.push(StepKind.augment, a.N * Math.ceil(a.S1 / rowsPerTask), 'copy in', { ...a, rowsPerTask }, AugmentArg);
  }

  /** Zeroes the in-projected key and value rows of padded positions, one task per batch item. */
  zeroMaskedRows(z: { k: number; v: number; mask: number; N: number; S: number; S1: number; E: number }): void {
    if (z.N === 0) return;
    this.push(StepKind.zeroMaskedRows, z.N, 'in-projection', z, ZeroArg);
  }

  fill(stage: Stage, ptr: number, floats: number): void {
    if (floats === 0) return;
    const perTask = unitsPerTask(floats, 1, MIN_TASK_FLOATS);
    this.push(StepKind.fill, Math.ceil(floats / perTask), stage, { ptr, floats, perTask }, FillArg);
  }

  softmax(x: number, rows: number, cols: number, sums: number): void {
    if (rows === 0) return;
    const rowsPerTask = unitsPerTask(rows, 1, MIN_TASK_FLOATS / Math.max(cols, 1));
    this.push(StepKind.softmax, Math.ceil(rows / rowsPerTask), 'ops', { x, rows, cols, sums, rowsPerTask }, SoftmaxArg);
  }
}
