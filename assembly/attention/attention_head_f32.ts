import { gemm_f32_4x8_simd } from '../gemm/gemm_f32_4x8_simd';
import { softmax_f32_simd } from '../softmax/softmax_f32_simd';

// One head of scaled dot-product attention, a block of query rows at a time:
//   out = softmax(q·kᵀ + masks) · v
// q is already scaled by d^-1/2 (folded into the packed q weights). Only a
// `blockRows`×P block of scores exists at once, in `scratch`; when weights
// are asked for, each block is written or added into them as it passes.

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
 * blockRows·P floats. mask: additive L×P (row stride ldMask) or 0; maskRow:
 * P floats added to every row, or 0. weights: L×P (row stride ldw), used as
 * weightsMode says. Byte offsets; strides in floats. Returns `out`.
 */
export function attention_head_f32(
  out: usize, ldo: i32, q: usize, ldq: i32, l: i32, d: i32,
  kPacked: usize, vPacked: usize, p: i32,
  scratch: usize, blockRows: i32,
  mask: usize, ldMask: i32, maskRow: usize,
  weights: usize, ldw: i32, weightsScale: f32, weightsMode: i32,
): usize {
  for (let i0 = 0; i0 < l; i0 += blockRows) {
    const rows = min(blockRows, l - i0);
    gemm_f32_4x8_simd(scratch, p, q + ((<usize>i0 * <usize>ldq) << 2), ldq, kPacked, rows, p, d, 0);
    softmax_f32_simd(scratch, p, rows, p, mask != 0 ? mask + ((<usize>i0 * <usize>ldMask) << 2) : 0, ldMask, maskRow);
    if (weightsMode != WEIGHTS_NONE) {
      copyWeights(weights + ((<usize>i0 * <usize>ldw) << 2), ldw, scratch, rows, p, weightsScale, weightsMode);
    }
    gemm_f32_4x8_simd(out + ((<usize>i0 * <usize>ldo) << 2), ldo, scratch, p, vPacked, rows, d, p, 0);
  }
  return out;
}

function copyWeights(w: usize, ldw: i32, probs: usize, rows: i32, p: i32, scale: f32, mode: i32): void {
  const p4 = p & ~3;
  const vs = f32x4.splat(scale);
  for (let r = 0; r < rows; r++) {
    const dst = w + ((<usize>r * <usize>ldw) << 2);
    const src = probs + ((<usize>r * <usize>p) << 2);
    let j = 0;
    if (mode == WEIGHTS_STORE) {
      memory.copy(dst, src, <usize>p << 2);
      continue;
    }
    for (; j < p4; j += 4) {
      const off = <usize>j << 2;
      v128.store(dst + off, f32x4.add(v128.load(dst + off), f32x4.mul(v128.load(src + off), vs)));
    }
    for (; j < p; j++) {
      const off = <usize>j << 2;
      store<f32>(dst + off, load<f32>(dst + off) + load<f32>(src + off) * scale);
    }
  }
}
