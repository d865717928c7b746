import { tile_1x8, tile_4x8 } from './tiles';

// C = A·B + bias (+ rowBias), with B packed by pack_b_f32_x8.
//
// The micro-kernel keeps a 4×8 tile of C in eight f32x4 accumulators; each
// step of K splats one element of each of the four A rows and multiplies it
// by the two vectors of the packed B row (XNNPACK's "splat" f32 GEMM for
// wasm SIMD). Rows left over below a multiple of 4 go through the 1×8
// kernel. A panel of B (8·(K+1) floats) is reused for MC rows of A before the
// next panel, which keeps it in L1 while those rows stream from L2.

const MR: i32 = 4;
const MC: i32 = 128;

/**
 * C (M×N, row stride ldc) = A (M×K, row stride lda) · B + bias, where B and
 * its bias were packed by pack_b_f32_x8 into `packedB`. When `rowBias` is not
 * 0, rowBias[i] is added to row i as well (the sequence projection's bias_e).
 * Pointers are byte offsets, strides and sizes are in floats; C must not
 * overlap A or B. Allocates nothing. Returns `c`.
 */
export function gemm_f32_4x8_simd(c: usize, ldc: i32, a: usize, lda: i32, packedB: usize, m: i32, n: i32, k: i32, rowBias: usize): usize {
  const panelBytes = (<usize>(k + 1)) << 5;
  const panels = (n + 7) >> 3;
  const sa = <usize>lda << 2;
  const sc = <usize>ldc << 2;
  for (let i0 = 0; i0 < m; i0 += MC) {
    const i1 = min(m, i0 + MC);
    const i4 = i0 + ((i1 - i0) & ~(MR - 1));
    for (let jp = 0; jp < panels; jp++) {
      const panel = packedB + <usize>jp * panelBytes;
      const nr = min(8, n - (jp << 3));
      const cj = c + (<usize>jp << 5);
      let i = i0;
      if (nr == 8 && rowBias == 0) {
        // The common case, with constant arguments that the optimiser folds
        // into a lean copy of the tile.
        for (; i < i4; i += MR) tile_4x8(cj + <usize>i * sc, ldc, a + <usize>i * sa, lda, panel, k, 8, 0);
      } else {
        for (; i < i4; i += MR) {
          tile_4x8(cj + <usize>i * sc, ldc, a + <usize>i * sa, lda, panel, k, nr, rowBias != 0 ? rowBias + (<usize>i << 2) : 0);
        }
      }
      for (; i < i1; i++) {
        tile_1x8(cj + <usize>i * sc, a + <usize>i * sa, panel, k, nr, rowBias != 0 ? rowBias + (<usize>i << 2) : 0);
      }
    }
  }
  return c;
}
