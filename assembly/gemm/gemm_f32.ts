import { gemm_f32_4x8_simd } from './gemm_f32_4x8_simd';
import { gemm_f32_6x8_simd } from './gemm_f32_6x8_simd';

// The GEMM every caller uses (the TypeScript layer, seqproj_f32,
// attention_head_f32): one of the two register tiles, both bit-identical.
// Which one is faster depends on the engine's compiler, which no feature
// test reveals, so init() times both and sets the choice here
// (src/core/gemm-tile.ts). Each instance keeps its own.

/** 4 or 6: the rows of gemm_f32's register tile. */
let tileRows: i32 = 4;

/** Chooses gemm_f32's tile: 4 (gemm_f32_4x8_simd) or 6 (gemm_f32_6x8_simd). Returns the rows now in use. */
export function set_gemm_tile(rows: i32): i32 {
  tileRows = rows == 6 ? 6 : 4;
  return tileRows;
}

/** gemm_f32_4x8_simd's contract, on the tile set_gemm_tile chose. Returns `c`. */
export function gemm_f32(c: usize, ldc: i32, a: usize, lda: i32, packedB: usize, m: i32, n: i32, k: i32, rowBias: usize): usize {
  return tileRows == 6 ? gemm_f32_6x8_simd(c, ldc, a, lda, packedB, m, n, k, rowBias) : gemm_f32_4x8_simd(c, ldc, a, lda, packedB, m, n, k, rowBias);
}
