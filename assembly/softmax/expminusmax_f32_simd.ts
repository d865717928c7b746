import { exp_f32x4 } from '../inline/exp';
import { hmax, hsum } from '../inline/simd';

// The unnormalised half of softmax (XNNPACK's raddstoreexpminusmax): per row,
// fold in the additive masks, subtract the row maximum, store exp and return
// the row sum. Attention divides its P·V product by the sums instead of
// normalising the L×P probabilities, which saves a pass over the scores.
//
// The maximum keeps large logits from overflowing. A row whose entries are
// all -inf has max -inf, x - max is NaN and the row (and its sum) come out
// NaN, as torch's reference path gives. The maximum is taken with pmax (one
// x86 maxps; wasm's NaN-propagating max costs several instructions), which
// may skip a NaN entry — but that entry's exp is NaN, so is the row sum, and
// so is every value divided by it: a NaN anywhere still makes the row NaN.

/**
 * x[r, j] ← exp(x[r, j] + mask[r, j] + maskRow[j] − max_j(…)) for `rows`
 * rows of `cols` entries at `x` (row stride ldx), and sums[r] ← Σ_j x[r, j].
 * `mask` (row stride ldMask) and `maskRow` are additive masks, 0 for none.
 * Byte offsets; strides in floats. Returns `x`.
 */
export function expminusmax_f32_simd(x: usize, ldx: i32, rows: i32, cols: i32, mask: usize, ldMask: i32, maskRow: usize, sums: usize): usize {
  const c4 = cols & ~3;
  for (let r = 0; r < rows; r++) {
    const row = x + ((<usize>r * <usize>ldx) << 2);
    const m = mask != 0 ? mask + ((<usize>r * <usize>ldMask) << 2) : 0;
    // Pass 1: masks in (stored back only when there are any), and the maximum.
    let vmax = f32x4.splat(-Infinity);
    let mx: f32 = -Infinity;
    let j = 0;
    if (m == 0 && maskRow == 0) {
      for (; j < c4; j += 4) vmax = f32x4.pmax(vmax, v128.load(row + (<usize>j << 2)));
      mx = hmax(vmax);
      for (; j < cols; j++) mx = max<f32>(mx, load<f32>(row + (<usize>j << 2)));
    } else {
      for (; j < c4; j += 4) {
        const off = <usize>j << 2;
        let v = v128.load(row + off);
        if (m != 0) v = f32x4.add(v, v128.load(m + off));
        if (maskRow != 0) v = f32x4.add(v, v128.load(maskRow + off));
        v128.store(row + off, v);
        vmax = f32x4.pmax(vmax, v);
      }
      mx = hmax(vmax);
      for (; j < cols; j++) {
        const off = <usize>j << 2;
        let v = load<f32>(row + off);
        if (m != 0) v += load<f32>(m + off);
        if (maskRow != 0) v += load<f32>(maskRow + off);
        store<f32>(row + off, v);
        mx = max<f32>(mx, v);
      }
    }
    // Pass 2: exponentials and their sum (two accumulators hide add latency).
    const vm = f32x4.splat(mx);
    let s0 = f32x4.splat(0);
    let s1 = f32x4.splat(0);
    j = 0;
    const c8 = cols & ~7;
    for (; j < c8; j += 8) {
      const p = row + (<usize>j << 2);
      const e0 = exp_f32x4(f32x4.sub(v128.load(p), vm));
      const e1 = exp_f32x4(f32x4.sub(v128.load(p, 16), vm));
      v128.store(p, e0);
      v128.store(p, e1, 16);
      s0 = f32x4.add(s0, e0);
      s1 = f32x4.add(s1, e1);
    }
    for (; j < c4; j += 4) {
      const p = row + (<usize>j << 2);
      const e = exp_f32x4(f32x4.sub(v128.load(p), vm));
      v128.store(p, e);
      s0 = f32x4.add(s0, e);
    }
    let sum = hsum(f32x4.add(s0, s1));
    // The tail goes through the same SIMD exp, one lane used.
    for (; j < cols; j++) {
      const p = row + (<usize>j << 2);
      const e = f32x4.extract_lane(exp_f32x4(f32x4.splat(load<f32>(p) - mx)), 0);
      store<f32>(p, e);
      sum += e;
    }
    store<f32>(sums + (<usize>r << 2), sum);
  }
  return x;
}
