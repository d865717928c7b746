import { pack_b_f32_x8, packed_b_size } from "../packw/pack_b_f32_x8";
import {
  buf, fillRandom, snapshot, unchanged, ld, st, bits, seed,
  beginCheck, check, endCheck,
} from "./helpers";

// pack_b_f32_x8 must lay B (K×N, or its N×K transpose) out as panels of 8
// columns, each [bias(8) | row 0 (8) | … | row K-1 (8)], with +0 (bit
// pattern 0) in every padding slot past column N — written, not assumed: the
// output starts filled with a NaN canary. Values are copied bit for bit
// (a -0 in B stays -0).

function packCase(k: i32, n: i32, transposed: bool, useBias: bool, mis: i32): void {
  const ctx = "pack_b k=" + k.toString() + " n=" + n.toString() + " transposed=" + (transposed ? "1" : "0") +
    " bias=" + (useBias ? "1" : "0") + " misalign=" + mis.toString();
  beginCheck();
  seed(<u32>(k * 131 + n * 17 + (transposed ? 7 : 0) + mis + 3));

  // Source with a stride wider than its rows.
  const ldb = transposed ? k + 5 : n + 5;
  const srcRows = transposed ? n : k;
  const b = buf(srcRows * ldb, mis);
  fillRandom(b, srcRows * ldb);
  if (srcRows * ldb > 0) st(b, 0, -0.0);
  const bias = useBias ? buf(n, (mis + 4) & 15) : 0;
  if (useBias) fillRandom(bias, n);
  const b0 = snapshot(b, srcRows * ldb);
  const bias0 = useBias ? snapshot(bias, n) : 0;

  const size = packed_b_size(k, n);
  check(size == ((n + 7) >> 3) * 8 * (k + 1), "packed_b_size(" + k.toString() + ", " + n.toString() + ") = " + size.toString());
  const out = buf(size, (mis + 8) & 15);
  check(pack_b_f32_x8(out, b, ldb, k, n, transposed ? 1 : 0, bias) == out, "did not return out");

  const panels = (n + 7) >> 3;
  for (let jp = 0; jp < panels; jp++) {
    const panel = jp * 8 * (k + 1);
    for (let t = 0; t < 8; t++) {
      const j = jp * 8 + t;
      // Head: bias, or +0.
      const head = bits(ld(out, panel + t));
      const wantHead: u32 = useBias && j < n ? bits(ld(bias, j)) : 0;
      check(head == wantHead, "head of panel " + jp.toString() + " lane " + t.toString());
      for (let p = 0; p < k; p++) {
        const got = bits(ld(out, panel + 8 * (p + 1) + t));
        let want: u32 = 0;
        if (j < n) want = bits(transposed ? ld(b, j * ldb + p) : ld(b, p * ldb + j));
        check(got == want, "B(" + p.toString() + ", " + j.toString() + ") in panel " + jp.toString() + (j >= n ? " (padding)" : ""));
      }
    }
  }
  check(unchanged(b, b0, srcRows * ldb), "B was modified");
  if (useBias) check(unchanged(bias, bias0, n), "bias was modified");
  endCheck(ctx);
}

const KS: i32[] = [0, 1, 3, 4, 5, 8, 9, 17];
const NS: i32[] = [1, 7, 8, 9, 15, 16, 17, 33];

describe("pack_b_f32_x8", () => {
  it("row-major B (K×N): K 0..17 × N 1..33, bias on/off, zero padding", () => {
    for (let ki = 0; ki < KS.length; ki++) {
      for (let ni = 0; ni < NS.length; ni++) {
        packCase(KS[ki], NS[ni], false, true, 0);
        packCase(KS[ki], NS[ni], false, false, 0);
      }
    }
  });

  it("transposed B (N×K, torch Linear weight): K 0..17 × N 1..33, bias on/off, zero padding", () => {
    for (let ki = 0; ki < KS.length; ki++) {
      for (let ni = 0; ni < NS.length; ni++) {
        packCase(KS[ki], NS[ni], true, true, 0);
        packCase(KS[ki], NS[ni], true, false, 0);
      }
    }
  });

  it("unaligned source, bias and output (4, 8, 12 bytes past 16)", () => {
    for (let mis = 4; mis < 16; mis += 4) {
      for (let ni = 0; ni < NS.length; ni++) {
        packCase(5, NS[ni], false, true, mis);
        packCase(5, NS[ni], true, true, mis);
      }
    }
  });

  it("packed_b_size counts whole panels of 8·(K+1) floats", () => {
    expect<i32>(packed_b_size(0, 1)).toBe(8);
    expect<i32>(packed_b_size(1, 8)).toBe(16);
    expect<i32>(packed_b_size(1, 9)).toBe(32);
    expect<i32>(packed_b_size(64, 33)).toBe(5 * 8 * 65);
  });
});
