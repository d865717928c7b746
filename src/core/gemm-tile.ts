import type { Heap } from './heap.js';
import { packedSize } from './kernels.js';

// Which GEMM register tile runs: 4×8 or 6×8 (assembly/gemm/). Both give the
// same bits; their speed depends on the engine's optimising compiler. With
// fused multiply-add (the relaxed build), V8's Turboshaft (Node ≥ 24,
// current Chromium) keeps 6×8's twelve accumulators in registers and runs
// it about 11% faster, while V8 ≤ 12.4 spills them and runs it about 20%
// slower. No feature test shows which compiler runs, so init() times both,
// alternately, on a small product, until each has run long enough to be
// optimised; the plain build keeps 4×8, which no engine measured ran slower.

/** The tiles, by their rows. */
export type GemmTile = '4x8' | '6x8';

/** Milliseconds spent timing at most: past V8's tier-up (5–25 ms seen) with room to spare. */
const BUDGET_MS = 40;
/** The probe: 60×128 times 128×64, about 1 MFLOP; 60 rows are whole tiles of both. */
const M = 60;
const K = 128;
const N = 64;
/** Products per timed sample (about 0.4 ms), so that a coarse clock (browsers: 0.1 ms) still resolves it. */
const CALLS = 16;
/** Samples at most: edge workers freeze the clock while code runs, so time alone would never run out. */
const MAX_ROUNDS = 200;

/**
 * Times gemm_f32_4x8_simd against gemm_f32_6x8_simd and returns the faster.
 * Runs inside a heap call; allocates three small buffers and frees them.
 */
export function measureGemmTile(heap: Heap, now: () => number = () => performance.now()): GemmTile {
  const a = heap.alloc(M * K * 4, 'GEMM tile probe');
  const b = heap.alloc(packedSize(K, N) * 4, 'GEMM tile probe');
  const c = heap.alloc(M * N * 4, 'GEMM tile probe');
  try {
    const f32 = heap.f32;
    for (let i = 0; i < M * K; i++) f32[(a >>> 2) + i] = ((i * 37) % 17) / 17 - 0.5;
    for (let i = 0; i < packedSize(K, N); i++) f32[(b >>> 2) + i] = ((i * 11) % 13) / 13 - 0.5;
    const kern = heap.kernels;
    const kernels = [kern.gemm_f32_4x8_simd, kern.gemm_f32_6x8_simd];
    const best = [Infinity, Infinity];
    const start = now();
    for (let round = 0; round < MAX_ROUNDS && now() - start < BUDGET_MS; round++) {
      if (round === 8 && now() === start) break; // a frozen clock: nothing to measure with
      const which = round & 1;
      const t0 = now();
      for (let i = 0; i < CALLS; i++) kernels[which](c, N, a, K, b, M, N, K, 0);
      const t = now() - t0;
      // The first half warms both up (baseline code, then optimised code).
      if (now() - start > BUDGET_MS / 2) best[which] = Math.min(best[which], t);
    }
    // No sample at all (a frozen clock) or a tie keeps the tile no engine ran slower.
    return best[1] < best[0] ? '6x8' : '4x8';
  } finally {
    heap.release(c);
    heap.release(b);
    heap.release(a);
  }
}
