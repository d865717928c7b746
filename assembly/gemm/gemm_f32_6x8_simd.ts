import { tile_1x8, tile_4x8, tile_6x8 } from './tiles';

// gemm_f32_4x8_simd's contract and packed B, over 6×8 tiles: the rows left
// over below a multiple of 6 go through one 4×8 tile and 1×8 ones, except
// that 2 or 3 left over after a 6×8 tile turn that tile into two 4×8 ones
// (8 rows as 6+1+1 would run a quarter of them at a quarter speed). Its
// output is bit-identical to gemm_f32_4x8_simd's (tiles.ts); which of the
// two is faster depends on the engine's register allocator, so gemm_f32
// (gemm_f32.ts) runs the one init() measured faster.

const MR: i32 = 6;
// A multiple of MR near gemm_f32_4x8_simd's 128.
const MC: i32 = 126;

/**
 * C (M×N, row stride ldc) = A (M×K, row stride lda) · B + bias (+ rowBias),
 * B packed by pack_b_f32_x8, exactly as gemm_f32_4x8_simd. Byte offsets;
 * strides and sizes in floats; C must not overlap A or B. Returns `c`.
 */
export function gemm_f32_6x8_simd(c: usize, ldc: i32, a: usize, lda: i32, packedB: usize, m: i32, n: i32, k: i32, rowBias: usize): usize {
  const panelBytes = (<usize>(k + 1)) << 5;
  const panels = (n + 7) >> 3;
  const sa = <usize>lda << 2;
  const sc = <usize>ldc << 2;
  for (let i0 = 0; i0 < m; i0 += MC) {
    const i1 = min(m, i0 + MC);
    let i6 = i0 + ((i1 - i0) / MR) * MR;
    const left = i1 - i6;
    if ((left == 2 || left == 3) && i6 > i0) i6 -= MR;
    for (let jp = 0; jp < panels; jp++) {
      const panel = packedB + <usize>jp * panelBytes;
      const nr = min(8, n - (jp << 3));
      const cj = c + (<usize>jp << 5);
      let i = i0;
      if (nr == 8 && rowBias == 0) {
        // The common case, with constant arguments the optimiser folds in.
        for (; i < i6; i += MR) tile_6x8(cj + <usize>i * sc, ldc, a + <usize>i * sa, lda, panel, k, 8, 0);
      } else {
        for (; i < i6; i += MR) {
          tile_6x8(cj + <usize>i * sc, ldc, a + <usize>i * sa, lda, panel, k, nr, rowBias != 0 ? rowBias + (<usize>i << 2) : 0);
        }
      }
      while (i1 - i >= 4) {
        tile_4x8(cj + <usize>i * sc, ldc, a + <usize>i * sa, lda, panel, k, nr, rowBias != 0 ? rowBias + (<usize>i << 2) : 0);
        i += 4;
      }
      for (; i < i1; i++) {
        tile_1x8(cj + <usize>i * sc, a + <usize>i * sa, panel, k, nr, rowBias != 0 ? rowBias + (<usize>i << 2) : 0);
      }
    }
  }
  return c;
}
