import { madd, storeLanes } from '../inline/simd';

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

// @ts-ignore: decorator
@inline function splatRow(p: usize): v128 {
  return v128.load32_splat(p);
}

/** One 4×8 tile: C[0..4, 0..nr) at c (row stride ldc floats). */
// @ts-ignore: decorator
@inline function tile_4x8(c: usize, ldc: i32, a: usize, lda: i32, panel: usize, k: i32, nr: i32, rowBias: usize): void {
  // One moving pointer; the other rows are fixed offsets from it, which
  // leaves V8 more registers than four pointers would.
  const sa = <usize>lda << 2;
  const sa2 = sa << 1;
  const sa3 = sa2 + sa;
  let ap = a;
  let c00 = v128.load(panel);
  let c01 = v128.load(panel, 16);
  let c10 = c00, c11 = c01, c20 = c00, c21 = c01, c30 = c00, c31 = c01;
  let bp = panel + 32;
  // The loop runs on the panel pointer alone: a separate counter costs V8
  // an extra register and an add per step, about 3% of plain SIMD's speed.
  const bEnd = bp + (<usize>k << 5);
  while (bp < bEnd) {
    const b0 = v128.load(bp);
    const b1 = v128.load(bp, 16);
    const v0 = splatRow(ap);
    c00 = madd(v0, b0, c00);
    c01 = madd(v0, b1, c01);
    const v1 = splatRow(ap + sa);
    c10 = madd(v1, b0, c10);
    c11 = madd(v1, b1, c11);
    const v2 = splatRow(ap + sa2);
    c20 = madd(v2, b0, c20);
    c21 = madd(v2, b1, c21);
    const v3 = splatRow(ap + sa3);
    c30 = madd(v3, b0, c30);
    c31 = madd(v3, b1, c31);
    ap += 4;
    bp += 32;
  }
  if (rowBias != 0) {
    const r0 = v128.load32_splat(rowBias);
    const r1 = v128.load32_splat(rowBias, 4);
    const r2 = v128.load32_splat(rowBias, 8);
    const r3 = v128.load32_splat(rowBias, 12);
    c00 = f32x4.add(c00, r0); c01 = f32x4.add(c01, r0);
    c10 = f32x4.add(c10, r1); c11 = f32x4.add(c11, r1);
    c20 = f32x4.add(c20, r2); c21 = f32x4.add(c21, r2);
    c30 = f32x4.add(c30, r3); c31 = f32x4.add(c31, r3);
  }
  const sc = <usize>ldc << 2;
  if (nr == 8) {
    v128.store(c, c00); v128.store(c, c01, 16); c += sc;
    v128.store(c, c10); v128.store(c, c11, 16); c += sc;
    v128.store(c, c20); v128.store(c, c21, 16); c += sc;
    v128.store(c, c30); v128.store(c, c31, 16);
  } else {
    storeTail(c, c00, c01, nr); c += sc;
    storeTail(c, c10, c11, nr); c += sc;
    storeTail(c, c20, c21, nr); c += sc;
    storeTail(c, c30, c31, nr);
  }
}

/** One 1×8 tile, for the rows below a multiple of 4. */
// @ts-ignore: decorator
@inline function tile_1x8(c: usize, a: usize, panel: usize, k: i32, nr: i32, rowBias: usize): void {
  let c0 = v128.load(panel);
  let c1 = v128.load(panel, 16);
  let bp = panel + 32;
  let ap = a;
  const bEnd = bp + (<usize>k << 5);
  while (bp < bEnd) {
    const v = splatRow(ap);
    c0 = madd(v, v128.load(bp), c0);
    c1 = madd(v, v128.load(bp, 16), c1);
    bp += 32;
    ap += 4;
  }
  if (rowBias != 0) {
    const r = v128.load32_splat(rowBias);
    c0 = f32x4.add(c0, r);
    c1 = f32x4.add(c1, r);
  }
  if (nr == 8) {
    v128.store(c, c0);
    v128.store(c, c1, 16);
  } else {
    storeTail(c, c0, c1, nr);
  }
}

// @ts-ignore: decorator
@inline function storeTail(c: usize, lo: v128, hi: v128, nr: i32): void {
  storeLanes(c, lo, min(nr, 4));
  if (nr > 4) storeLanes(c + 16, hi, nr - 4);
}

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
