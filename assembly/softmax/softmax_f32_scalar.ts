import { expminusmax_f32_scalar } from './expminusmax_f32_scalar';

// The scalar twin of softmax_f32_simd: expminusmax_f32_scalar (f64 exp and
// accumulation), then each row divided by its sum, so it is also the
// accuracy reference. It leaves the row sums in `sums`, as the SIMD kernel
// does.

/** See softmax_f32_simd; identical contract. */
export function softmax_f32_scalar(x: usize, ldx: i32, rows: i32, cols: i32, mask: usize, ldMask: i32, maskRow: usize, sums: usize): usize {
  expminusmax_f32_scalar(x, ldx, rows, cols, mask, ldMask, maskRow, sums);
  for (let r = 0; r < rows; r++) {
    const row = x + ((<usize>r * <usize>ldx) << 2);
    const sum = load<f32>(sums + (<usize>r << 2));
    for (let j = 0; j < cols; j++) {
      const off = <usize>j << 2;
      store<f32>(row + off, load<f32>(row + off) / sum);
    }
  }
  return x;
}
