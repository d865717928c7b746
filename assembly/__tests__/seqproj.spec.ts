import { seqproj_f32 } from "../seqproj/seqproj_f32";
import { packed_b_size } from "../packw/pack_b_f32_x8";
import {
  U, CANARY, buf, fillRandom, snapshot, unchanged, ld, seed,
  beginCheck, check, near, endCheck,
} from "./helpers";

// Linformer's sequence projection out (k×cols) = E[:, :S] (k×S) · X (S×cols)
// + bias (one per output row), against a direct f64 triple loop. E is wider
// than S (lde > S: only its first S columns count). seqproj_f32 packs X into
// `scratch` (exactly packed_b_size(S, cols) floats: the guard words check it)
// and runs the SIMD GEMM, so the tolerance is the GEMM's:
//   |out - ref| ≤ (S + 2)·u·(Σ_s |e_is·x_sc| + |bias_i|),  u = 2^-24.

function seqprojCase(k: i32, s: i32, cols: i32, useBias: bool, mis: i32): void {
  const ctx = "seqproj k=" + k.toString() + " S=" + s.toString() + " cols=" + cols.toString() +
    " bias=" + (useBias ? "1" : "0") + " misalign=" + mis.toString();
  beginCheck();
  seed(<u32>(k * 7 + s * 131 + cols * 17 + mis + (useBias ? 1 : 0) + 23));
  const lde = s + 5, ldx = cols + 3, ldo = cols + 2;
  const e = buf(k * lde, mis);
  fillRandom(e, k * lde);
  const x = buf(s * ldx, (mis + 4) & 15);
  fillRandom(x, s * ldx);
  const bias = useBias ? buf(k, (mis + 8) & 15) : 0;
  if (useBias) fillRandom(bias, k);
  const e0 = snapshot(e, k * lde);
  const x0 = snapshot(x, s * ldx);
  const b0 = useBias ? snapshot(bias, k) : 0;
  const scratch = buf(packed_b_size(s, cols), (mis + 12) & 15);
  const out = buf(k * ldo, (mis + 8) & 15);

  check(seqproj_f32(out, ldo, e, lde, k, s, x, ldx, cols, bias, scratch) == out, "did not return out");

  for (let i = 0; i < k; i++) {
    for (let c = 0; c < cols; c++) {
      let ref: f64 = useBias ? <f64>ld(bias, i) : 0;
      let mag: f64 = Math.abs(ref);
      for (let p = 0; p < s; p++) {
        const t = <f64>ld(e, i * lde + p) * <f64>ld(x, p * ldx + c);
        ref += t;
        mag += Math.abs(t);
      }
      near(<f64>ld(out, i * ldo + c), ref, <f64>(s + 2) * U * 1.0001 * mag, "out", i, c);
    }
    for (let c = cols; c < ldo; c++) check(load<u32>(out + (<usize>(i * ldo + c) << 2)) == CANARY, "ldo gap written in row " + i.toString());
  }
  check(unchanged(e, e0, k * lde), "E was modified");
  check(unchanged(x, x0, s * ldx), "X was modified");
  if (useBias) check(unchanged(bias, b0, k), "bias was modified");
  endCheck(ctx);
}

describe("seqproj_f32", () => {
  it("k 1, 4, 7, 16 × S 1, 5, 17, 64 × cols 1, 8, 13, 33, with and without row bias", () => {
    const ks: i32[] = [1, 4, 7, 16];
    const ss: i32[] = [1, 5, 17, 64];
    const cs: i32[] = [1, 8, 13, 33];
    for (let a = 0; a < ks.length; a++) {
      for (let b = 0; b < ss.length; b++) {
        for (let c = 0; c < cs.length; c++) {
          seqprojCase(ks[a], ss[b], cs[c], true, 0);
          seqprojCase(ks[a], ss[b], cs[c], false, 0);
        }
      }
    }
  });

  it("k past the GEMM's 128-row block: 129, 256", () => {
    seqprojCase(129, 17, 9, true, 0);
    seqprojCase(256, 8, 16, true, 4);
  });

  it("unaligned E, X, bias, scratch and out (4, 8, 12 bytes past 16)", () => {
    for (let mis = 4; mis < 16; mis += 4) {
      seqprojCase(7, 17, 13, true, mis);
      seqprojCase(4, 5, 33, true, mis);
    }
  });
});
