// Linformer's part of a forward plan: the keys and values projected along
// the sequence to k positions by E and F, in either of two orders that are
// equal up to rounding (LinearMultiheadAttention.projectionOrder picks one).
// Each function lays out its buffers in the call and returns the steps, to
// be added once the call is placed.
import type { Slot } from '../core/scratch.js';
import type { TensorView } from '../core/tensor.js';
import { projectSequence, sequencePackFloats, strides, type AttentionCall } from './attention-call.js';

/** What the plan reads of a Linformer module in wasm, and its sizes. */
export interface LinformerParts {
  /** The in-projections, packed: Wᵀ and b, and the augmented [Wᵀ; b; bias_kv] (0 with per-head E). */
  packedK: number;
  packedV: number;
  packedAugK: number;
  packedAugV: number;
  /** E and F, (k, seqLen) or (H, k, seqLen) per head; F is E unless separateF. */
  e: number;
  f: number;
  separateF: boolean;
  /** bias_e and bias_f (k floats each), always placed. */
  biasE: number;
  biasF: number;
  seqLen: number;
  projK: number;
  perHead: boolean;
  biasK: Float32Array | undefined;
  biasV: Float32Array | undefined;
}

/**
 * The paper's order: in-project all S keys and values (bias_k/bias_v in
 * row S), zero the rows of padded positions, then project them along the
 * sequence by E and F into kProj and vProj (N, P, E).
 */
export function projectKeysFirst(call: AttentionCall, S1: number, kProj: Slot, vProj: Slot, padding: Slot | null, w: LinformerParts): () => void {
  const { N, S, E, H } = call.dims;
  const kIn = call.floats(N * S1 * E);
  const vIn = call.floats(N * S1 * E);
  // One packed buffer serves both projections, one after the other.
  const packed = call.floats(sequencePackFloats(N, S1, E, w.perHead ? H : 1));
  return () => {
    call.padRows(kIn, S1, S, w.biasK);
    call.padRows(vIn, S1, S, w.biasV);
    call.projectKeysAndValues(kIn, vIn, S1, w.packedK, w.packedV);
    if (padding) call.plan.zeroMaskedRows({ k: kIn.ptr, v: vIn.ptr, mask: padding.ptr, N, S, S1, E });
    const along = (out: Slot, x: Slot, proj: number, bias: number) =>
      projectSequence(call.plan, {
        out: out.ptr, outBatchBytes: call.P * E * 4, ldo: E,
        x: x.ptr, xBatchBytes: S1 * E * 4, ldx: E, cols: E,
        proj, ldp: w.seqLen, k: w.projK, S1, bias, N, packed: packed.ptr,
        perHead: w.perHead ? { H, projBytes: w.projK * w.seqLen * 4 } : undefined,
      });
    along(kProj, kIn, w.e, w.biasE);
    along(vProj, vIn, w.f, w.biasF);
  };
}

/**
 * The cheaper order for long sequences: the raw inputs, widened to X̃
 * (steps.ts, augmentTask), are projected along the sequence first, then
 * only the k projected rows are in-projected, by the augmented weights
 * [Wᵀ; b; bias_k]:  E·(X·Wᵀ + 1·bᵀ) = (E·X)·Wᵀ + (E·1)·bᵀ.
 */
export function projectInputsFirst(call: AttentionCall, S1: number, kProj: Slot, vProj: Slot, padding: Slot | null, w: LinformerParts): () => void {
  const { N, S, E, kdim, vdim } = call.dims;
  const inputs = call.inputs;
  const k = w.projK;
  const wk = kdim + 2;
  const wv = vdim + 2;
  const sameInput = inputs.value === inputs.key;
  const sameProjection = sameInput && !w.separateF;
  const xk = call.floats(N * S1 * wk);
  const xv = sameInput ? xk : call.floats(N * S1 * wv);
  const ek = call.floats(N * k * wk);
  const ev = sameProjection ? ek : call.floats(N * k * wv);
  const packed = call.floats(sequencePackFloats(N, S1, Math.max(wk, wv)));
  return () => {
    const plan = call.plan;
    const widen = (dst: Slot, t: TensorView, features: number) => {
      const rows = call.input(t, S, features);
      const { row, batch } = strides(rows);
      plan.augment({ dst: dst.ptr, src: rows.ptr, rowStride: row, batchStride: batch, features, S, S1, N, mask: padding?.ptr ?? 0 });
    };
    widen(xk, inputs.key, kdim);
    if (!sameInput) widen(xv, inputs.value, vdim);
    const along = (out: Slot, x: Slot, width: number, proj: number, second?: { outBytes: number; projBytes: number }) =>
      projectSequence(plan, {
        out: out.ptr, outBatchBytes: k * width * 4, ldo: width,
        x: x.ptr, xBatchBytes: S1 * width * 4, ldx: width, cols: width,
        proj, ldp: w.seqLen, k, S1, bias: 0, N, packed: packed.ptr, second,
      });
    if (sameProjection) along(ek, xk, wk, w.e);
    // One input, two projections: E·X̃ and F·X̃ in one step over X̃ packed once.
    else if (sameInput) along(ek, xk, wk, w.e, { outBytes: ev.ptr - ek.ptr, projBytes: w.f - w.e });
    else {
      along(ek, xk, wk, w.e);
      along(ev, xv, wv, w.f);
    }
    const inProjection = (out: Slot, x: Slot, width: number, weights: number, bias: number) => ({
      c: out.ptr, ldc: E, a: x.ptr, lda: width, b: weights, m: k, n: E, k: width, rowBias: bias,
    });
    const items = (width: number) => ({ count: N, c: call.P * E * 4, a: k * width * 4 });
    if (wk === wv) {
      // The key and value in-projections have one shape: one step, each value item these many bytes from its key item.
      const pair = { count: 2, c: vProj.ptr - kProj.ptr, a: ev.ptr - ek.ptr, b: w.packedAugV - w.packedAugK, bias: w.biasF - w.biasE };
      plan.gemm('in-projection', { ...inProjection(kProj, ek, wk, w.packedAugK, w.biasE), outer: pair, inner: items(wk) });
    } else {
      plan.gemm('in-projection', { ...inProjection(kProj, ek, wk, w.packedAugK, w.biasE), outer: items(wk) });
      plan.gemm('in-projection', { ...inProjection(vProj, ev, wv, w.packedAugV, w.biasF), outer: items(wv) });
    }
  };
}
