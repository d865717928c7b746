import { exp_f32x4 } from '../inline/exp';
import { hmax, hsum } from '../inline/simd';

// Row softmax in place, with up to two additive masks folded in first:
//   x[r, j] ← softmax_j( x[r, j] + mask[r, j] + maskRow[j] )
// The row maximum is subtracted before exp (large logits do not overflow);
// a row whose every entry is -inf has max -inf, so x - max is NaN and the
// whole row comes out NaN, as torch's reference path gives. NaN anywhere in a
// row makes the row NaN, as in torch.

/**
 * Softmax over `cols` entries of each of `rows` rows at `x` (row stride ldx).
 * `mask` (row stride ldMask) and `maskRow` (one row, added to every row) are
 * additive masks, each 0 for none. Byte offsets; strides in floats.
 * Returns `x`.
 */
export function softmax_f32_simd(x: usize, ldx: i32, rows: i32, cols: i32, mask: usize, ldMask: i32, maskRow: usize): usize {
  const c4 = cols & ~3;
  for (let r = 0; r < rows; r++) {
    const row = x + ((<usize>r * <usize>ldx) << 2);
    const m = mask != 0 ? mask + ((<usize>r * <usize>ldMask) << 2) : 0;
    // Pass 1: add the masks, find the maximum.
    let vmax = f32x4.splat(-Infinity);
    let j = 0;
    for (; j < c4; j += 4) {
      const off = <usize>j << 2;
      let v = v128.load(row + off);
      if (m != 0) v = f32x4.add(v, v128.load(m + off));
      if (maskRow != 0) v = f32x4.add(v, v128.load(maskRow + off));
      v128.store(row + off, v);
      vmax = f32x4.max(vmax, v);
    }
    let mx = hmax(vmax);
    for (; j < cols; j++) {
      const off = <usize>j << 2;
      let v = load<f32>(row + off);
      if (m != 0) v += load<f32>(m + off);
      if (maskRow != 0) v += load<f32>(maskRow + off);
      store<f32>(row + off, v);
      mx = max<f32>(mx, v);
    }
    // Pass 2: exponentials and their sum.
    const vm = f32x4.splat(mx);
    let vsum = f32x4.splat(0);
    for (j = 0; j < c4; j += 4) {
      const off = <usize>j << 2;
      const e = exp_f32x4(f32x4.sub(v128.load(row + off), vm));
      v128.store(row + off, e);
      vsum = f32x4.add(vsum, e);
    }
    let sum = hsum(vsum);
    if (j < cols) {
      // The tail goes through the same SIMD exp, one lane used.
      for (; j < cols; j++) {
        const off = <usize>j << 2;
        const e = f32x4.extract_lane(exp_f32x4(f32x4.splat(load<f32>(row + off) - mx)), 0);
        store<f32>(row + off, e);
        sum += e;
      }
    }
    // Pass 3: normalise.
    const vs = f32x4.splat(sum);
    for (j = 0; j < c4; j += 4) {
      const off = <usize>j << 2;
      v128.store(row + off, f32x4.div(v128.load(row + off), vs));
    }
    for (; j < cols; j++) {
      const off = <usize>j << 2;
      store<f32>(row + off, load<f32>(row + off) / sum);
    }
  }
  return x;
}
