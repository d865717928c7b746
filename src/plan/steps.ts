// The kernel steps of a plan, and how one task of each runs. This file is
// the one answer to "how is X split across threads": a step is cut into
// tasks by the plan (plan.ts), which depend only on the problem's shape,
// never on the number of threads, and every output element is written by
// exactly one task, which computes it the same way wherever it runs. That
// is why the result is the same bit for bit for any thread count.
//
// It runs on the calling thread and in every worker (threads/worker-loop.ts),
// so it imports nothing but the kernels' types.
import { WeightsMode, type Kernels } from '../core/kernels.js';

/** The step kinds. SERIAL is a closure on the calling thread (copies in and out); the rest are tasks any thread runs. */
export const StepKind = {
  serial: 0,
  gemm: 1,
  pack: 2,
  attention: 3,
  additiveMask: 4,
  augment: 5,
  zeroMaskedRows: 6,
  fill: 7,
  softmax: 8,
} as const;

/** Stages, for the profile: a step's stage is its index here. */
export const STAGES = ['copy in', 'in-projection', 'sequence projection', 'attention', 'out-projection', 'copy out', 'ops'] as const;
export type Stage = (typeof STAGES)[number];

/**
 * A plan in words: [stepCount, step 0, step 1, …], each step STEP_WORDS
 * long: [kind, tasks, stage, args…]. Pointers are byte offsets into the
 * wasm memory; strides and sizes are in floats unless named bytes.
 */
export const STEP_WORDS = 32;
export const MAX_STEPS = 64;
export const PLAN_WORDS = 1 + MAX_STEPS * STEP_WORDS;
export const ARGS = 3;

/** What a thread runs tasks with: its own instance of the kernels, over the one memory. */
export interface ThreadContext {
  kernels: Kernels;
  memory: { readonly buffer: ArrayBufferLike };
  f32: Float32Array;
  u8: Uint8Array;
  /** 0 is the calling thread; workers are 1…T-1. Selects the per-thread scratch. */
  thread: number;
}

/** Re-makes the views after the memory grew. */
export function refreshViews(ctx: ThreadContext): void {
  const buffer = ctx.memory.buffer;
  if (ctx.f32.buffer !== buffer) {
    ctx.f32 = new Float32Array(buffer);
    ctx.u8 = new Uint8Array(buffer);
  }
}

/** Floats in one packed panel of NR = 8 columns over k rows (a bias head, then k rows). */
function panelFloats(k: number): number {
  return 8 * (k + 1);
}

/** Runs task `task` of the step at word offset `at` of `plan`. */
export function runTask(ctx: ThreadContext, plan: Float64Array, at: number, task: number): void {
  const a = at + ARGS;
  switch (plan[at]) {
    case StepKind.gemm:
      return gemmTask(ctx, plan, a, task);
    case StepKind.pack:
      return packTask(ctx, plan, a, task);
    case StepKind.attention:
      return attentionTask(ctx, plan, a, task);
    case StepKind.additiveMask:
      return additiveMaskTask(ctx, plan, a, task);
    case StepKind.augment:
      return augmentTask(ctx, plan, a, task);
    case StepKind.zeroMaskedRows:
      return zeroMaskedRowsTask(ctx, plan, a, task);
    case StepKind.fill:
      return fillTask(ctx, plan, a, task);
    case StepKind.softmax:
      return softmaxTask(ctx, plan, a, task);
    default:
      throw new Error(`linformer-wasm: unknown plan step ${plan[at]}`);
  }
}

/**
 * GEMM args: c, ldc, a, lda, b (packed), m, n, k, rowBias (0: none),
 * outer, inner (a two-level batch), then byte strides of c, a, b, rowBias
 * per outer and per inner item, rowsPerTask, colsPerTask (a multiple of 8).
 * Tasks: outer × inner × row blocks × column blocks. A task computes whole
 * output elements (the full k sum), so the split changes no bits.
 */
export const GemmArg = {
  c: 0, ldc: 1, a: 2, lda: 3, b: 4, m: 5, n: 6, k: 7, rowBias: 8, outer: 9, inner: 10,
  cOuter: 11, cInner: 12, aOuter: 13, aInner: 14, bOuter: 15, bInner: 16, biasOuter: 17, biasInner: 18,
  rowsPerTask: 19, colsPerTask: 20,
} as const;

function gemmTask(ctx: ThreadContext, p: Float64Array, a: number, task: number): void {
  const m = p[a + GemmArg.m];
  const n = p[a + GemmArg.n];
  const k = p[a + GemmArg.k];
  const rowsPer = p[a + GemmArg.rowsPerTask];
  const colsPer = p[a + GemmArg.colsPerTask];
  const rowTasks = Math.ceil(m / rowsPer);
  const colTasks = Math.ceil(n / colsPer);
  const inner = p[a + GemmArg.inner];
  const perItem = rowTasks * colTasks;
  const item = Math.floor(task / perItem);
  const o = Math.floor(item / inner);
  const i = item % inner;
  const r0 = Math.floor((task % perItem) / colTasks) * rowsPer;
  const j0 = (task % colTasks) * colsPer;
  const ldc = p[a + GemmArg.ldc];
  const lda = p[a + GemmArg.lda];
  const c = p[a + GemmArg.c] + o * p[a + GemmArg.cOuter] + i * p[a + GemmArg.cInner] + (r0 * ldc + j0) * 4;
  const aPtr = p[a + GemmArg.a] + o * p[a + GemmArg.aOuter] + i * p[a + GemmArg.aInner] + r0 * lda * 4;
  const b = p[a + GemmArg.b] + o * p[a + GemmArg.bOuter] + i * p[a + GemmArg.bInner] + (j0 / 8) * panelFloats(k) * 4;
  const bias0 = p[a + GemmArg.rowBias];
  const bias = bias0 === 0 ? 0 : bias0 + o * p[a + GemmArg.biasOuter] + i * p[a + GemmArg.biasInner] + r0 * 4;
  ctx.kernels.gemm_f32(c, ldc, aPtr, lda, b, Math.min(rowsPer, m - r0), Math.min(colsPer, n - j0), k, bias);
}

/**
 * PACK args: out, b, ldb, k, n, transposed, outer, inner, byte strides of
 * out and b per outer and per inner item, panelsPerTask, bias (n floats
 * for the panel heads, the same for every item; 0: zeros). Packs B (k×n, or
 * its transpose) into panels of 8 columns (pack_b_f32_x8); a task packs a
 * run of whole panels.
 */
export const PackArg = {
  out: 0, b: 1, ldb: 2, k: 3, n: 4, transposed: 5, outer: 6, inner: 7,
  outOuter: 8, outInner: 9, bOuter: 10, bInner: 11, panelsPerTask: 12, bias: 13,
} as const;

function packTask(ctx: ThreadContext, p: Float64Array, a: number, task: number): void {
  const k = p[a + PackArg.k];
  const n = p[a + PackArg.n];
  const per = p[a + PackArg.panelsPerTask];
  const runs = Math.ceil(Math.ceil(n / 8) / per);
  const inner = p[a + PackArg.inner];
  const item = Math.floor(task / runs);
  const o = Math.floor(item / inner);
  const i = item % inner;
  const j0 = (task % runs) * per * 8;
  const ldb = p[a + PackArg.ldb];
  const transposed = p[a + PackArg.transposed];
  const out = p[a + PackArg.out] + o * p[a + PackArg.outOuter] + i * p[a + PackArg.outInner] + (j0 / 8) * panelFloats(k) * 4;
  const b = p[a + PackArg.b] + o * p[a + PackArg.bOuter] + i * p[a + PackArg.bInner] + (transposed ? j0 * ldb : j0) * 4;
  const bias = p[a + PackArg.bias];
  ctx.kernels.pack_b_f32_x8(out, b, ldb, k, Math.min(per * 8, n - j0), transposed, bias === 0 ? 0 : bias + j0 * 4);
}

/**
 * ATTENTION args: the attention of query rows against one batch item's
 * packed heads. A task is a block of query rows of one batch item and
 * headsPerTask heads: all of them, in order, when weights are averaged
 * (each averaged weight is then summed over the heads in one order, by the
 * one task that owns its row), else one.
 */
export const AttentionArg = {
  out: 0, q: 1, kHeads: 2, vHeads: 3, L: 4, d: 5, P: 6, H: 7, E: 8,
  headBytes: 9, scratch: 10, scratchBytes: 11, sumsOffset: 12, blockRows: 13,
  mask: 14, maskHeadBytes: 15, keyMask: 16, weights: 17, weightsMode: 18, rowsPerTask: 19, headsPerTask: 20,
} as const;

function attentionTask(ctx: ThreadContext, p: Float64Array, a: number, task: number): void {
  const L = p[a + AttentionArg.L];
  const d = p[a + AttentionArg.d];
  const P = p[a + AttentionArg.P];
  const H = p[a + AttentionArg.H];
  const E = p[a + AttentionArg.E];
  const rowsPer = p[a + AttentionArg.rowsPerTask];
  const headsPer = p[a + AttentionArg.headsPerTask];
  const blocks = Math.ceil(L / rowsPer);
  const groups = H / headsPer;
  const n = Math.floor(task / (blocks * groups));
  const h0 = (Math.floor(task / blocks) % groups) * headsPer;
  const r0 = (task % blocks) * rowsPer;
  const rows = Math.min(rowsPer, L - r0);
  const headBytes = p[a + AttentionArg.headBytes];
  const blockRows = p[a + AttentionArg.blockRows];
  const scratch = p[a + AttentionArg.scratch] + ctx.thread * p[a + AttentionArg.scratchBytes];
  const sums = scratch + p[a + AttentionArg.sumsOffset];
  const mask = p[a + AttentionArg.mask];
  const maskHead = p[a + AttentionArg.maskHeadBytes];
  const keyMask = p[a + AttentionArg.keyMask];
  const weights = p[a + AttentionArg.weights];
  const mode = p[a + AttentionArg.weightsMode];
  const rowsAt = (n * L + r0) * E * 4;
  if (mode === WeightsMode.accumulate) {
    const w0 = (weights >>> 2) + (n * L + r0) * P;
    ctx.f32.fill(0, w0, w0 + rows * P);
  }
  const kern = ctx.kernels;
  for (let h = h0; h < h0 + headsPer; h++) {
    const slice = n * H + h;
    const wAt =
      mode === WeightsMode.none ? 0 : weights + ((mode === WeightsMode.accumulate ? n : slice) * L + r0) * P * 4;
    kern.attention_head_f32(
      p[a + AttentionArg.out] + rowsAt + h * d * 4, E,
      p[a + AttentionArg.q] + rowsAt + h * d * 4, E, rows, d,
      p[a + AttentionArg.kHeads] + slice * headBytes, p[a + AttentionArg.vHeads] + slice * headBytes, P,
      scratch, sums, blockRows,
      mask === 0 ? 0 : mask + slice * maskHead + r0 * P * 4, P,
      keyMask === 0 ? 0 : keyMask + n * P * 4,
      wAt, P, 1 / H, mode,
    );
  }
}

/**
 * ADDITIVE MASK args: dst, src, boolean, rows, width, P, rowsPerTask. A
 * user mask copied into wasm as it was given (bytes or floats, rows ×
 * width) becomes additive floats of row stride P: true → -inf, floats as
 * they are, and zeros past `width` (torch pads masks with zeros for
 * bias_k/bias_v and the zero-attention row).
 */
export const MaskArg = { dst: 0, src: 1, boolean: 2, rows: 3, width: 4, P: 5, rowsPerTask: 6 } as const;

function additiveMaskTask(ctx: ThreadContext, p: Float64Array, a: number, task: number): void {
  const { f32, u8 } = ctx;
  const width = p[a + MaskArg.width];
  const P = p[a + MaskArg.P];
  const per = p[a + MaskArg.rowsPerTask];
  const r0 = task * per;
  const r1 = Math.min(p[a + MaskArg.rows], r0 + per);
  const dst = p[a + MaskArg.dst] >>> 2;
  const src = p[a + MaskArg.src];
  const isBool = p[a + MaskArg.boolean] === 1;
  for (let r = r0; r < r1; r++) {
    const o = dst + r * P;
    if (isBool) {
      const s = src + r * width;
      for (let j = 0; j < width; j++) f32[o + j] = u8[s + j] ? -Infinity : 0;
    } else {
      f32.copyWithin(o, (src >>> 2) + r * width, (src >>> 2) + (r + 1) * width);
    }
    f32.fill(0, o + width, o + P);
  }
}

/**
 * AUGMENT args: dst, src, rowStride, batchStride, features, S, S1, N, mask
 * (a byte offset of N·S bytes, or 0), rowsPerTask. Builds X̃ for
 * Linformer's input-first order from an input copied into wasm as given
 * (sequence-first or batch-first, by its strides): (N, S1, features + 2),
 * row s < S is [x_s, 1, 0], or zeros when s is padding; a row S, when S1 >
 * S, is [0…0, 0, 1] (bias_k's). See LinearMultiheadAttention.
 */
export const AugmentArg = {
  dst: 0, src: 1, rowStride: 2, batchStride: 3, features: 4, S: 5, S1: 6, N: 7, mask: 8, rowsPerTask: 9,
} as const;

function augmentTask(ctx: ThreadContext, p: Float64Array, a: number, task: number): void {
  const { f32, u8 } = ctx;
  const features = p[a + AugmentArg.features];
  const S = p[a + AugmentArg.S];
  const S1 = p[a + AugmentArg.S1];
  const per = p[a + AugmentArg.rowsPerTask];
  const blocks = Math.ceil(S1 / per);
  const n = Math.floor(task / blocks);
  const s0 = (task % blocks) * per;
  const s1 = Math.min(S1, s0 + per);
  const ld = features + 2;
  const dst = (p[a + AugmentArg.dst] >>> 2) + n * S1 * ld;
  const src = (p[a + AugmentArg.src] >>> 2) + n * p[a + AugmentArg.batchStride];
  const rowStride = p[a + AugmentArg.rowStride];
  const mask = p[a + AugmentArg.mask];
  for (let s = s0; s < s1; s++) {
    const row = dst + s * ld;
    if (s === S) {
      f32.fill(0, row, row + ld);
      f32[row + features + 1] = 1;
    } else if (mask !== 0 && u8[mask + n * S + s]) {
      f32.fill(0, row, row + ld);
    } else {
      const from = src + s * rowStride;
      f32.copyWithin(row, from, from + features);
      f32[row + features] = 1;
      f32[row + features + 1] = 0;
    }
  }
}

/** ZERO MASKED ROWS args: k, v, mask (N·S bytes), S, S1, E. Task n zeroes the in-projected key and value rows of its padded positions. */
export const ZeroArg = { k: 0, v: 1, mask: 2, S: 3, S1: 4, E: 5 } as const;

function zeroMaskedRowsTask(ctx: ThreadContext, p: Float64Array, a: number, n: number): void {
  const { f32, u8 } = ctx;
  const S = p[a + ZeroArg.S];
  const S1 = p[a + ZeroArg.S1];
  const E = p[a + ZeroArg.E];
  const mask = p[a + ZeroArg.mask];
  for (let s = 0; s < S; s++) {
    if (!u8[mask + n * S + s]) continue;
    const row = (n * S1 + s) * E;
    for (const base of [p[a + ZeroArg.k] >>> 2, p[a + ZeroArg.v] >>> 2]) f32.fill(0, base + row, base + row + E);
  }
}

/** FILL args: ptr, floats, floatsPerTask: zeroes. */
export const FillArg = { ptr: 0, floats: 1, perTask: 2 } as const;

function fillTask(ctx: ThreadContext, p: Float64Array, a: number, task: number): void {
  const per = p[a + FillArg.perTask];
  const base = p[a + FillArg.ptr] >>> 2;
  ctx.f32.fill(0, base + task * per, base + Math.min(p[a + FillArg.floats], (task + 1) * per));
}

/** SOFTMAX args: x, rows, cols, sums, rowsPerTask: softmax over each row of x, in place. */
export const SoftmaxArg = { x: 0, rows: 1, cols: 2, sums: 3, rowsPerTask: 4 } as const;

function softmaxTask(ctx: ThreadContext, p: Float64Array, a: number, task: number): void {
  const cols = p[a + SoftmaxArg.cols];
  const per = p[a + SoftmaxArg.rowsPerTask];
  const r0 = task * per;
  const rows = Math.min(per, p[a + SoftmaxArg.rows] - r0);
  ctx.kernels.softmax_f32_simd(p[a + SoftmaxArg.x] + r0 * cols * 4, cols, rows, cols, 0, 0, 0, p[a + SoftmaxArg.sums] + r0 * 4);
}
