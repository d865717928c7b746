// Packs the right-hand matrix B (K×N) of a GEMM into panels of NR = 8
// columns, the layout gemm_f32 streams. Panel j holds columns 8j … 8j+7:
//
//   [ bias[8j … 8j+7] | B[0, 8j … 8j+7] | B[1, …] | … | B[K-1, …] ]
//
// that is 8·(K+1) floats, with zeros past column N. Weights are packed once,
// when they are loaded; activations (keys, values) are packed per call into
// scratch, which costs O(K·N) against the GEMM's O(M·K·N).

/** Floats taken by the packed form of a K×N matrix. */
export function packed_b_size(k: i32, n: i32): i32 {
  return ((n + 7) >> 3) * 8 * (k + 1);
}

/**
 * Packs B into `out` (packed_b_size(k, n) floats). Element (p, j) of B is read
 * at `b + (p·ldb + j)·4` when `transposed` is 0 (B row-major, K×N), and at
 * `b + (j·ldb + p)·4` when it is 1 (B given as its transpose, N×K, as torch's
 * Linear weight is). `bias` (N floats) goes into the panel heads, or zeros
 * when it is 0. All pointers are byte offsets, strides are in floats.
 * Returns `out`.
 */
export function pack_b_f32_x8(out: usize, b: usize, ldb: i32, k: i32, n: i32, transposed: i32, bias: usize): usize {
  const panels = (n + 7) >> 3;
  let dst = out;
  for (let jp = 0; jp < panels; jp++) {
    const j0 = jp << 3;
    const nr = min(8, n - j0);
    // Panel head: bias or zeros.
    for (let t = 0; t < 8; t++) {
      store<f32>(dst + (<usize>t << 2), bias != 0 && t < nr ? load<f32>(bias + (<usize>(j0 + t) << 2)) : 0);
    }
    dst += 32;
    if (transposed) {
      // B(p, j) = src[j][p]: gather 8 rows of the transpose.
      for (let p = 0; p < k; p++) {
        for (let t = 0; t < 8; t++) {
          store<f32>(dst + (<usize>t << 2), t < nr ? load<f32>(b + ((<usize>(j0 + t) * ldb + p) << 2)) : 0);
        }
        dst += 32;
      }
    } else if (nr == 8) {
      for (let p = 0; p < k; p++) {
        const src = b + ((<usize>p * ldb + j0) << 2);
        v128.store(dst, v128.load(src));
        v128.store(dst, v128.load(src, 16), 16);
        dst += 32;
      }
    } else {
      for (let p = 0; p < k; p++) {
        const src = b + ((<usize>p * ldb + j0) << 2);
        for (let t = 0; t < 8; t++) {
          store<f32>(dst + (<usize>t << 2), t < nr ? load<f32>(src + (<usize>t << 2)) : 0);
        }
        dst += 32;
      }
    }
  }
  return out;
}
