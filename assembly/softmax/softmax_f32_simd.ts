import { divideRow } from '../inline/simd';
import { expminusmax_f32_simd } from './expminusmax_f32_simd';

// Row softmax in place: expminusmax_f32_simd, then each row divided by its
// sum. See expminusmax_f32_simd for the masks, large logits, -inf and NaN.

/**
 * x[r, j] ← softmax_j(x[r, j] + mask[r, j] + maskRow[j]) over `cols` entries
 * of each of `rows` rows at `x` (row stride ldx). `mask` (row stride ldMask)
 * and `maskRow` (added to every row) are additive masks, each 0 for none.
 * `sums` takes `rows` floats of scratch. Byte offsets; strides in floats.
 * Returns `x`.
 */
export function softmax_f32_simd(x: usize, ldx: i32, rows: i32, cols: i32, mask: usize, ldMask: i32, maskRow: usize, sums: usize): usize {
  expminusmax_f32_simd(x, ldx, rows, cols, mask, ldMask, maskRow, sums);
  for (let r = 0; r < rows; r++) {
    const row = x + ((<usize>r * <usize>ldx) << 2);
    divideRow(row, row, cols, load<f32>(sums + (<usize>r << 2)));
  }
  return x;
}
