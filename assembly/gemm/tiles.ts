import { madd, storeLanes } from '../inline/simd';

// The register tiles of the GEMM kernels, @inline: gemm_f32_4x8_simd runs
// 4×8 tiles, gemm_f32_6x8_simd 6×8 ones (gemm_f32_6x8_simd.ts) with these
// for the rows left over. Every tile computes each element of C the same
// way (bias, then A[i, k]·B[k, j] added in k order, then rowBias), so the
// kernels agree bit for bit whichever tiles a row went through.

// @ts-ignore: decorator
@inline function splatRow(p: usize): v128 {
  return v128.load32_splat(p);
}

/** One 4×8 tile: C[0..4, 0..nr) at c (row stride ldc floats). */
// @ts-ignore: decorator
@inline export function tile_4x8(c: usize, ldc: i32, a: usize, lda: i32, panel: usize, k: i32, nr: i32, rowBias: usize): void {
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
@inline export function tile_1x8(c: usize, a: usize, panel: usize, k: i32, nr: i32, rowBias: usize): void {
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
@inline export function storeTail(c: usize, lo: v128, hi: v128, nr: i32): void {
  storeLanes(c, lo, min(nr, 4));
  if (nr > 4) storeLanes(c + 16, hi, nr - 4);
}


/**
 * One 6×8 tile: twelve accumulators. Where the engine's register allocator
 * keeps them all in registers (V8's Turboshaft: Node ≥ 24, current
 * Chromium), twelve independent multiply-add chains hide the latency that
 * eight leave exposed; where it spills them (V8 ≤ 12.4) it is slower than 4×8.
 */
// @ts-ignore: decorator
@inline export function tile_6x8(c: usize, ldc: i32, a: usize, lda: i32, panel: usize, k: i32, nr: i32, rowBias: usize): void {
  const sa = <usize>lda << 2;
  const sa2 = sa << 1;
  const sa3 = sa2 + sa;
  const sa4 = sa2 << 1;
  const sa5 = sa4 + sa;
  let ap = a;
  let c00 = v128.load(panel);
  let c01 = v128.load(panel, 16);
  let c10 = c00, c11 = c01, c20 = c00, c21 = c01, c30 = c00, c31 = c01, c40 = c00, c41 = c01, c50 = c00, c51 = c01;
  let bp = panel + 32;
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
    const v4 = splatRow(ap + sa4);
    c40 = madd(v4, b0, c40);
    c41 = madd(v4, b1, c41);
    const v5 = splatRow(ap + sa5);
    c50 = madd(v5, b0, c50);
    c51 = madd(v5, b1, c51);
    ap += 4;
    bp += 32;
  }
  if (rowBias != 0) {
    const r0 = v128.load32_splat(rowBias);
    const r1 = v128.load32_splat(rowBias, 4);
    const r2 = v128.load32_splat(rowBias, 8);
    const r3 = v128.load32_splat(rowBias, 12);
    const r4 = v128.load32_splat(rowBias, 16);
    const r5 = v128.load32_splat(rowBias, 20);
    c00 = f32x4.add(c00, r0); c01 = f32x4.add(c01, r0);
    c10 = f32x4.add(c10, r1); c11 = f32x4.add(c11, r1);
    c20 = f32x4.add(c20, r2); c21 = f32x4.add(c21, r2);
    c30 = f32x4.add(c30, r3); c31 = f32x4.add(c31, r3);
    c40 = f32x4.add(c40, r4); c41 = f32x4.add(c41, r4);
    c50 = f32x4.add(c50, r5); c51 = f32x4.add(c51, r5);
  }
  const sc = <usize>ldc << 2;
  if (nr == 8) {
    v128.store(c, c00); v128.store(c, c01, 16); c += sc;
    v128.store(c, c10); v128.store(c, c11, 16); c += sc;
    v128.store(c, c20); v128.store(c, c21, 16); c += sc;
    v128.store(c, c30); v128.store(c, c31, 16); c += sc;
    v128.store(c, c40); v128.store(c, c41, 16); c += sc;
    v128.store(c, c50); v128.store(c, c51, 16);
  } else {
    storeTail(c, c00, c01, nr); c += sc;
    storeTail(c, c10, c11, nr); c += sc;
    storeTail(c, c20, c21, nr); c += sc;
    storeTail(c, c30, c31, nr); c += sc;
    storeTail(c, c40, c41, nr); c += sc;
    storeTail(c, c50, c51, nr);
  }
}
