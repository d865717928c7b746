// The scalar twin of gemm_f32_4x8_simd: same arguments, same packed B, one
// multiply-add at a time. It is the reference the SIMD kernel is tested
// against and the fallback for nothing else.

/** See gemm_f32_4x8_simd; identical contract. */
export function gemm_f32_scalar(c: usize, ldc: i32, a: usize, lda: i32, packedB: usize, m: i32, n: i32, k: i32, rowBias: usize): usize {
  const panelBytes = (<usize>(k + 1)) << 5;
  for (let i = 0; i < m; i++) {
    const arow = a + ((<usize>i * <usize>lda) << 2);
    const crow = c + ((<usize>i * <usize>ldc) << 2);
    for (let j = 0; j < n; j++) {
      const panel = packedB + <usize>(j >> 3) * panelBytes + (<usize>(j & 7) << 2);
      let acc: f32 = load<f32>(panel);
      for (let p = 0; p < k; p++) {
        acc += load<f32>(arow + (<usize>p << 2)) * load<f32>(panel + ((<usize>(p + 1)) << 5));
      }
      if (rowBias != 0) acc += load<f32>(rowBias + (<usize>i << 2));
      store<f32>(crow + (<usize>j << 2), acc);
    }
  }
  return c;
}
