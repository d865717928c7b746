import { pack_b_f32_x8 } from '../packw/pack_b_f32_x8';
import { gemm_f32 } from '../gemm/gemm_f32';

// Linformer's projection along the sequence: out = E[:, :S] · X + bias, a
// (k×S)·(S×cols) product whose bias is per output row (bias_e / bias_f has
// one entry per projected position). With cols = E it projects all heads at
// once; with cols = d and a per-head E it projects one head.

/**
 * out (k×cols, row stride ldo) = e (k×S, row stride lde; the first S columns
 * of E) · x (S×cols, row stride ldx) + bias (k floats, one per row; 0 for
 * none). `scratch` takes packed_b_size(S, cols) floats for x packed.
 * Byte offsets; strides in floats. Returns `out`.
 */
export function seqproj_f32(out: usize, ldo: i32, e: usize, lde: i32, k: i32, s: i32, x: usize, ldx: i32, cols: i32, bias: usize, scratch: usize): usize {
  pack_b_f32_x8(scratch, x, ldx, s, cols, 0, 0);
  return gemm_f32(out, ldo, e, lde, scratch, k, cols, s, bias);
}
