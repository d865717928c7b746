import { gemm_f32, set_gemm_tile } from "../gemm/gemm_f32";
import { gemm_f32_4x8_simd } from "../gemm/gemm_f32_4x8_simd";
import { gemm_f32_6x8_simd } from "../gemm/gemm_f32_6x8_simd";
import { gemm_f32_scalar } from "../gemm/gemm_f32_scalar";
import { pack_b_f32_x8, packed_b_size } from "../packw/pack_b_f32_x8";
import {
  U, CANARY, buf, fillRandom, snapshot, unchanged, ld, seed,
  beginCheck, check, near, endCheck,
} from "./helpers";

// C = A·B + bias (+ rowBias) by the 4×8 SIMD kernel and by its scalar twin,
// both against the sum computed in f64 here.
//
// Tolerances, with mag = |bias_j| + Σ_p |a_ip·b_pj| + |rowBias_i| and
// γ = (K+2)·u, u = 2^-24 (every term passes through at most one product and
// K+1 additions, each rounded once):
//   scalar twin vs f64:   |c - ref| ≤ γ·mag
//   SIMD kernel vs f64:   |c - ref| ≤ γ·mag
//   SIMD vs scalar twin:  |c - c'|  ≤ 2γ·mag
// (K = 64 makes γ ≈ 4e-6: inside the "1e-5 relative" budget.) In the plain
// SIMD build both kernels round the same operations in the same order; the
// relaxed build may fuse multiply-adds, which only shrinks the error.
// gemm_f32_6x8_simd, and gemm_f32 on either tile, must give the 4×8
// kernel's bits exactly: every tile computes an element the same way.

function gemmCase(m: i32, n: i32, k: i32, lda: i32, ldc: i32, useRowBias: bool, useBias: bool, mis: i32): void {
  const ctx = "gemm m=" + m.toString() + " n=" + n.toString() + " k=" + k.toString() +
    " lda=" + lda.toString() + " ldc=" + ldc.toString() + " rowBias=" + (useRowBias ? "1" : "0") +
    " bias=" + (useBias ? "1" : "0") + " misalign=" + mis.toString();
  beginCheck();
  seed(<u32>(m * 7919 + n * 104729 + k * 31 + lda + ldc * 3 + mis + 1));

  const ldb = n + 3;
  const a = buf(m * lda, mis);
  fillRandom(a, m * lda);
  const b = buf(k * ldb, (mis + 4) & 15);
  fillRandom(b, k * ldb);
  const bias = useBias ? buf(n, (mis + 8) & 15) : 0;
  if (useBias) fillRandom(bias, n);
  const rowBias = useRowBias ? buf(m, (mis + 12) & 15) : 0;
  if (useRowBias) fillRandom(rowBias, m);

  const packed = buf(packed_b_size(k, n), (mis + 8) & 15);
  pack_b_f32_x8(packed, b, ldb, k, n, 0, bias);

  const a0 = snapshot(a, m * lda);
  const p0 = snapshot(packed, packed_b_size(k, n));
  const r0 = useRowBias ? snapshot(rowBias, m) : 0;

  const cs = buf(m * ldc, (mis + 12) & 15);
  const cr = buf(m * ldc, mis);
  check(gemm_f32_4x8_simd(cs, ldc, a, lda, packed, m, n, k, rowBias) == cs, "simd did not return c");
  check(gemm_f32_scalar(cr, ldc, a, lda, packed, m, n, k, rowBias) == cr, "scalar did not return c");
  const c6 = buf(m * ldc, (mis + 4) & 15);
  const cd4 = buf(m * ldc, mis);
  const cd6 = buf(m * ldc, mis);
  check(gemm_f32_6x8_simd(c6, ldc, a, lda, packed, m, n, k, rowBias) == c6, "6x8 did not return c");
  set_gemm_tile(4);
  check(gemm_f32(cd4, ldc, a, lda, packed, m, n, k, rowBias) == cd4, "gemm_f32 (4) did not return c");
  set_gemm_tile(6);
  check(gemm_f32(cd6, ldc, a, lda, packed, m, n, k, rowBias) == cd6, "gemm_f32 (6) did not return c");
  set_gemm_tile(4);

  const gamma: f64 = <f64>(k + 2) * U * 1.0001;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let ref: f64 = useBias ? <f64>ld(bias, j) : 0;
      let mag: f64 = Math.abs(ref);
      for (let p = 0; p < k; p++) {
        const t = <f64>ld(a, i * lda + p) * <f64>ld(b, p * ldb + j);
        ref += t;
        mag += Math.abs(t);
      }
      if (useRowBias) {
        ref += <f64>ld(rowBias, i);
        mag += Math.abs(<f64>ld(rowBias, i));
      }
      const vs = <f64>ld(cs, i * ldc + j);
      const vr = <f64>ld(cr, i * ldc + j);
      near(vr, ref, gamma * mag, "scalar vs f64 C", i, j);
      near(vs, ref, gamma * mag, "simd vs f64 C", i, j);
      near(vs, vr, 2 * gamma * mag, "simd vs scalar C", i, j);
      const bits = load<u32>(cs + (<usize>(i * ldc + j) << 2));
      check(load<u32>(c6 + (<usize>(i * ldc + j) << 2)) == bits, "6x8 differs from 4x8 at " + i.toString() + "," + j.toString());
      check(load<u32>(cd4 + (<usize>(i * ldc + j) << 2)) == bits, "gemm_f32 (4) differs from 4x8");
      check(load<u32>(cd6 + (<usize>(i * ldc + j) << 2)) == bits, "gemm_f32 (6) differs from 4x8");
    }
    // The stride gap between rows is not C's: it must keep its canary.
    for (let j = n; j < ldc; j++) {
      check(load<u32>(cs + (<usize>(i * ldc + j) << 2)) == CANARY, "simd wrote the ldc gap of row " + i.toString());
      check(load<u32>(cr + (<usize>(i * ldc + j) << 2)) == CANARY, "scalar wrote the ldc gap of row " + i.toString());
      check(load<u32>(c6 + (<usize>(i * ldc + j) << 2)) == CANARY, "6x8 wrote the ldc gap of row " + i.toString());
    }
  }
  check(unchanged(a, a0, m * lda), "A was modified");
  check(unchanged(packed, p0, packed_b_size(k, n)), "packed B was modified");
  if (useRowBias) check(unchanged(rowBias, r0, m), "rowBias was modified");
  endCheck(ctx);
}

const KS: i32[] = [0, 1, 3, 4, 5, 8, 9, 16, 17, 64];
const NS: i32[] = [1, 7, 8, 9, 15, 16, 17, 33];

describe("gemm_f32_4x8_simd, gemm_f32_6x8_simd, gemm_f32 and gemm_f32_scalar", () => {
  it("K 0, 1, 3, 4, 5, 8, 9, 16, 17, 64 × M 1..15 × N 1, 7, 8, 9, 15, 16, 17, 33 (tight strides, both biases; M = 6j + 2, 6j + 3 end in two 4×8 tiles on 6×8)", () => {
    for (let ki = 0; ki < KS.length; ki++) {
      for (let m = 1; m <= 15; m++) {
        for (let ni = 0; ni < NS.length; ni++) {
          gemmCase(m, NS[ni], KS[ki], KS[ki], NS[ni], true, true, 0);
        }
      }
    }
  });

  it("M past the MC = 128 (4×8) and 126 (6×8) row blocks: 125, 126, 127, 128, 129, 130, 260", () => {
    const ms: i32[] = [125, 126, 127, 128, 129, 130, 260];
    for (let mi = 0; mi < ms.length; mi++) {
      gemmCase(ms[mi], 9, 17, 17, 9, true, true, 0);
      gemmCase(ms[mi], 17, 5, 7, 20, true, false, 4);
      gemmCase(ms[mi], 16, 9, 9, 16, false, true, 0); // full panels, no rowBias: the fast path
      gemmCase(ms[mi], 33, 3, 4, 35, false, false, 0);
    }
  });

  it("strides larger than the width: lda > K, ldc > N (gaps left untouched)", () => {
    const ks: i32[] = [1, 4, 9, 17];
    const ms: i32[] = [1, 4, 5, 9];
    for (let ki = 0; ki < ks.length; ki++) {
      for (let mi = 0; mi < ms.length; mi++) {
        for (let ni = 0; ni < NS.length; ni++) {
          const k = ks[ki], n = NS[ni];
          gemmCase(ms[mi], n, k, k + 3, n + 5, true, true, 0);
          gemmCase(ms[mi], n, k, k + 8, n + 8, false, true, 0);
        }
      }
    }
  });

  it("rowBias on/off × bias in the packed panels on/off", () => {
    const ms: i32[] = [1, 3, 4, 7, 9];
    const ks: i32[] = [0, 1, 5, 16];
    for (let flags = 0; flags < 4; flags++) {
      for (let mi = 0; mi < ms.length; mi++) {
        for (let ki = 0; ki < ks.length; ki++) {
          for (let ni = 0; ni < NS.length; ni++) {
            gemmCase(ms[mi], NS[ni], ks[ki], ks[ki] + 1, NS[ni] + 2, (flags & 1) != 0, (flags & 2) != 0, 0);
          }
        }
      }
    }
  });

  it("empty products (M, N or K = 0) write nothing but C = bias", () => {
    gemmCase(0, 9, 5, 5, 9, true, true, 0);
    gemmCase(5, 9, 0, 0, 9, true, true, 0);
    gemmCase(5, 9, 0, 0, 9, false, false, 0);
    gemmCase(4, 0, 5, 5, 3, true, true, 0); // ldc gap only: must keep its canary
  });

  it("unaligned A, B, C and bias pointers (4, 8, 12 bytes past 16)", () => {
    const ms: i32[] = [1, 5, 8, 9];
    const ks: i32[] = [1, 4, 9];
    for (let mis = 4; mis < 16; mis += 4) {
      for (let mi = 0; mi < ms.length; mi++) {
        for (let ki = 0; ki < ks.length; ki++) {
          for (let ni = 0; ni < NS.length; ni++) {
            gemmCase(ms[mi], NS[ni], ks[ki], ks[ki] + 1, NS[ni] + 1, true, true, mis);
          }
        }
      }
    }
  });
});
