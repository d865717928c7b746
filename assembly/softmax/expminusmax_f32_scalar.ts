// The scalar twin of expminusmax_f32_simd: same contract, with f64 exp and
// accumulation, so it is also the accuracy reference.

/** See expminusmax_f32_simd; identical contract. */
export function expminusmax_f32_scalar(x: usize, ldx: i32, rows: i32, cols: i32, mask: usize, ldMask: i32, maskRow: usize, sums: usize): usize {
  for (let r = 0; r < rows; r++) {
    const row = x + ((<usize>r * <usize>ldx) << 2);
    const m = mask != 0 ? mask + ((<usize>r * <usize>ldMask) << 2) : 0;
    let mx: f64 = -Infinity;
    for (let j = 0; j < cols; j++) {
      const off = <usize>j << 2;
      let v = load<f32>(row + off);
      if (m != 0) v += load<f32>(m + off);
      if (maskRow != 0) v += load<f32>(maskRow + off);
      store<f32>(row + off, v);
      mx = isNaN(v) || isNaN(mx) ? NaN : max<f64>(mx, <f64>v);
    }
    let sum: f64 = 0;
    for (let j = 0; j < cols; j++) {
      const off = <usize>j << 2;
      const e = Math.exp(<f64>load<f32>(row + off) - mx);
      store<f32>(row + off, <f32>e);
      sum += e;
    }
    store<f32>(sums + (<usize>r << 2), <f32>sum);
  }
  return x;
}
