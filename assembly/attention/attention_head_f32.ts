import { gemm_f32 } from '../gemm/gemm_f32';
import { divideRow } from '../inline/simd';
import { expminusmax_f32_simd } from '../softmax/expminusmax_f32_simd';

// One head of scaled dot-product attention, a block of query rows at a time:
//   out = softmax(q·kᵀ + masks) · v  =  (exp(s − max) · v) / Σ exp(s − max)
// q is already scaled by d^-1/2 (folded into the packed q weights). Only a
// `blockRows`×P block of scores exists at once, in `scratch`; the division by
// the row sums is applied to the L×d product, not the L×P probabilities.
// When weights are asked for, each block is normalised into them as it
// passes.

/** weightsMode: no weights wanted. */
export const WEIGHTS_NONE: i32 = 0;
/** weightsMode: store the probabilities (per-head weights). */
export const WEIGHTS_STORE: i32 = 1;
/** weightsMode: add probabilities × weightsScale (the average over heads). */
export const WEIGHTS_ACCUMULATE: i32 = 2;

/**
 * q: L×d at `q` (row stride ldq). kPacked: kᵀ (d×P) packed by pack_b_f32_x8
 * (transposed=1 over the P rows of k). vPacked: v (P×d) packed likewise
 * (transposed=0). out: L×d at `out` (row stride ldo). scratch:
 * blockRows·P floats; sums: blockRows floats. mask: additive L×P (row stride ldMask) or 0; maskRow:
 * P floats added to every row, or 0. weights: L×P (row stride ldw), used as
 * weightsMode says. Byte offsets; strides in floats. Returns `out`.
 */
export function attention_head_f32(
  out: usize, ldo: i32, q: usize, ldq: i32, l: i32, d: i32,
  kPacked: usize, vPacked: usize, p: i32,
  scratch: usize, sums: usize, blockRows: i32,
  mask: usize, ldMask: i32, maskRow: usize,
  weights: usize, ldw: i32, weightsScale: f32, weightsMode: i32,
): usize {
  for (let i0 = 0; i0 < l; i0 += blockRows) {
    const rows = min(blockRows, l - i0);
    gemm_f32(scratch, p, q + ((<usize>i0 * <usize>ldq) << 2), ldq, kPacked, rows, p, d, 0);
    expminusmax_f32_simd(scratch, p, rows, p, mask != 0 ? mask + ((<usize>i0 * <usize>ldMask) << 2) : 0, ldMask, maskRow, sums);
    if (weightsMode != WEIGHTS_NONE) {
      copyWeights(weights + ((<usize>i0 * <usize>ldw) << 2), ldw, scratch, sums, rows, p, weightsScale, weightsMode);
    }
    const o = out + ((<usize>i0 * <usize>ldo) << 2);
    gemm_f32(o, ldo, scratch, p, vPacked, rows, d, p, 0);
    divideRows(o, ldo, sums, rows, d);
  }
  return out;
}

/** out[r, 0..d) /= sums[r]. */
function divideRows(out: usize, ldo: i32, sums: usize, rows: i32, d: i32): void {
  for (let r = 0; r < rows; r++) {
    const row = out + ((<usize>r * <usize>ldo) << 2);
    divideRow(row, row, d, load<f32>(sums + (<usize>r << 2)));
  }
}

/** Normalised probabilities exp/sum into the weights: stored, or added × scale. */
function copyWeights(w: usize, ldw: i32, exps: usize, sums: usize, rows: i32, p: i32, scale: f32, mode: i32): void {
  const p4 = p & ~3;
  for (let r = 0; r < rows; r++) {
    const dst = w + ((<usize>r * <usize>ldw) << 2);
    const src = exps + ((<usize>r * <usize>p) << 2);
    const sum = load<f32>(sums + (<usize>r << 2));
    const vsum = f32x4.splat(sum);
    const vscale = f32x4.splat(scale);
    let j = 0;
    if (mode == WEIGHTS_STORE) {
      divideRow(dst, src, p, sum);
    } else {
      for (; j < p4; j += 4) {
        const off = <usize>j << 2;
        const prob = f32x4.div(v128.load(src + off), vsum);
        v128.store(dst + off, f32x4.add(v128.load(dst + off), f32x4.mul(prob, vscale)));
      }
      for (; j < p; j++) {
        const off = <usize>j << 2;
        store<f32>(dst + off, load<f32>(dst + off) + (load<f32>(src + off) / sum) * scale);
      }
    }
  }
}
