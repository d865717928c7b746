import {
  attention_head_f32, WEIGHTS_NONE, WEIGHTS_STORE, WEIGHTS_ACCUMULATE,
} from "../attention/attention_head_f32";
import { pack_b_f32_x8, packed_b_size } from "../packw/pack_b_f32_x8";
import {
  U, TINY, CANARY, buf, fillRandom, snapshot, unchanged, ld, st, seed, rnd,
  beginCheck, check, near, endCheck,
} from "./helpers";

// One attention head, a block of query rows at a time, against f64 here:
//   s = q·kᵀ (+ mask + maskRow),  p = softmax_rows(s),  out = p·v,
// weights stored (mode 1) or accumulated as prefill + scale·p (mode 2).
// A query row whose scores are all -inf (fully masked) is NaN in out and
// in the weights; the other rows of its block are unaffected.
//
// Tolerances, per query row i (u = 2^-24):
//   δs  = (d + 2)·u·max_j Σ_c |q_ic·k_jc| + 2u·max_j |z_ij|  (f32 scores, two mask adds)
//   ε   = 2·δs + u·(D + P + 12), D = max_j |z_ij - max z_i|  (softmax, as in softmax.spec.ts)
//   out:     |o - ref| ≤ 2·(ε + (P + 4)·u)·Σ_j p_ij·|v_jc| + 2^-126   (factor 2: slack for second-order terms)
//   weights: |w - ref| ≤ ε·p + 2^-126 (store); scale·(ε·p + 2^-126) + 2u·|ref| (accumulate)

function attentionCase(l: i32, p: i32, d: i32, blockRows: i32, mode: i32, maskKind: i32, mis: i32, closedRow: i32): void {
  const ctx = "attention L=" + l.toString() + " P=" + p.toString() + " d=" + d.toString() +
    " blockRows=" + blockRows.toString() + " weights=" + mode.toString() + " mask=" + maskKind.toString() +
    " misalign=" + mis.toString() + (closedRow >= 0 ? " closedRow=" + closedRow.toString() : "");
  beginCheck();
  seed(<u32>(l * 1009 + p * 101 + d * 11 + blockRows * 3 + mode + maskKind * 7 + mis + 17));

  const ldq = d + 3, ldk = d + 1, ldv = d + 2, ldo = d + 1, ldMask = p + 1, ldw = p + 2;
  const qs: f32 = <f32>(1.0 / Math.sqrt(<f64>d)) * 2; // scores of a few units: softmax not flat
  const q = buf(l * ldq, mis);
  fillRandom(q, l * ldq, qs);
  const k = buf(p * ldk, (mis + 4) & 15);
  fillRandom(k, p * ldk, 1);
  const v = buf(p * ldv, (mis + 8) & 15);
  fillRandom(v, p * ldv, 1);

  let mask: usize = 0, maskRow: usize = 0;
  if (maskKind & 1) {
    mask = buf(l * ldMask, (mis + 12) & 15);
    for (let i = 0; i < l * ldMask; i++) st(mask, i, rnd() < -0.75 ? -Infinity : rnd());
  }
  if (maskKind & 2) {
    maskRow = buf(p, mis);
    for (let j = 0; j < p; j++) st(maskRow, j, j % 5 == 3 ? -Infinity : 0);
  }
  if (closedRow >= 0) {
    for (let j = 0; j < p; j++) st(mask, closedRow * ldMask + j, -Infinity);
  }

  const kPacked = buf(packed_b_size(d, p), (mis + 4) & 15);
  pack_b_f32_x8(kPacked, k, ldk, d, p, 1, 0);
  const vPacked = buf(packed_b_size(p, d), (mis + 8) & 15);
  pack_b_f32_x8(vPacked, v, ldv, p, d, 0, 0);

  const q0 = snapshot(q, l * ldq);
  const kp0 = snapshot(kPacked, packed_b_size(d, p));
  const vp0 = snapshot(vPacked, packed_b_size(p, d));
  const m0 = mask != 0 ? snapshot(mask, l * ldMask) : 0;
  const mr0 = maskRow != 0 ? snapshot(maskRow, p) : 0;

  const scratch = buf(blockRows * p, (mis + 12) & 15);
  const sums = buf(blockRows, mis);
  const out = buf(l * ldo, (mis + 4) & 15);
  // Weights: canary everywhere (mode 0 must not touch them), a prefill in
  // the L×P part for mode 2.
  const weights = buf(l * ldw, (mis + 8) & 15);
  const scale: f32 = 0.25;
  if (mode == WEIGHTS_ACCUMULATE) {
    for (let i = 0; i < l; i++) for (let j = 0; j < p; j++) st(weights, i * ldw + j, (rnd() + 1) * 0.5);
  }
  const w0 = snapshot(weights, l * ldw);

  const ret = attention_head_f32(out, ldo, q, ldq, l, d, kPacked, vPacked, p, scratch, sums, blockRows,
    mask, ldMask, maskRow, weights, ldw, scale, mode);
  check(ret == out, "did not return out");

  const z = new StaticArray<f64>(p);
  const pr = new StaticArray<f64>(p);
  for (let i = 0; i < l; i++) {
    // Reference scores, maximum, probabilities.
    let maxQK: f64 = 0, maxZ: f64 = 0;
    let mx: f64 = -Infinity;
    for (let j = 0; j < p; j++) {
      let s: f64 = 0, a: f64 = 0;
      for (let c = 0; c < d; c++) {
        const t = <f64>ld(q, i * ldq + c) * <f64>ld(k, j * ldk + c);
        s += t;
        a += Math.abs(t);
      }
      if (mask != 0) s += <f64>ld(mask, i * ldMask + j);
      if (maskRow != 0) s += <f64>ld(maskRow, j);
      z[j] = s;
      maxQK = max<f64>(maxQK, a);
      if (isFinite(s)) maxZ = max<f64>(maxZ, Math.abs(s));
      mx = max<f64>(mx, s);
    }
    const rowNaN = mx == -Infinity;
    let sum: f64 = 0, dmax: f64 = 0;
    for (let j = 0; j < p; j++) {
      if (!rowNaN && isFinite(z[j])) dmax = max<f64>(dmax, mx - z[j]);
      sum += rowNaN ? 0 : Math.exp(z[j] - mx);
    }
    for (let j = 0; j < p; j++) pr[j] = rowNaN ? NaN : Math.exp(z[j] - mx) / sum;
    const ds = <f64>(d + 2) * U * maxQK + 2 * U * maxZ;
    const eps = 2 * ds + U * (dmax + <f64>p + 12);

    for (let c = 0; c < d; c++) {
      let ref: f64 = 0, mag: f64 = 0;
      for (let j = 0; j < p; j++) {
        const vv = <f64>ld(v, j * ldv + c);
        ref += pr[j] * vv;
        mag += pr[j] * Math.abs(vv);
      }
      near(<f64>ld(out, i * ldo + c), ref, 2 * (eps + <f64>(p + 4) * U) * mag + TINY, "out", i, c);
    }
    for (let c = d; c < ldo; c++) check(load<u32>(out + (<usize>(i * ldo + c) << 2)) == CANARY, "out: ldo gap written in row " + i.toString());

    for (let j = 0; j < p; j++) {
      const w = <f64>ld(weights, i * ldw + j);
      if (mode == WEIGHTS_STORE) {
        near(w, pr[j], eps * pr[j] + TINY, "weights (store)", i, j);
      } else if (mode == WEIGHTS_ACCUMULATE) {
        const want = <f64>ld(w0, i * ldw + j) + <f64>scale * pr[j];
        near(w, want, <f64>scale * (eps * pr[j] + TINY) + 2 * U * Math.abs(want), "weights (accumulate)", i, j);
      }
    }
  }
  if (mode == WEIGHTS_NONE) {
    check(unchanged(weights, w0, l * ldw), "weights written with weightsMode 0");
  } else {
    for (let i = 0; i < l; i++) {
      for (let j = p; j < ldw; j++) check(load<u32>(weights + (<usize>(i * ldw + j) << 2)) == CANARY, "weights: ldw gap written in row " + i.toString());
    }
  }
  check(unchanged(q, q0, l * ldq), "q was modified");
  check(unchanged(kPacked, kp0, packed_b_size(d, p)), "kPacked was modified");
  check(unchanged(vPacked, vp0, packed_b_size(p, d)), "vPacked was modified");
  if (mask != 0) check(unchanged(mask, m0, l * ldMask), "mask was modified");
  if (maskRow != 0) check(unchanged(maskRow, mr0, p), "maskRow was modified");
  endCheck(ctx);
}

// (L, P, d): L and P off the 4/8 blocks, P = 1, d below and above 8.
const LS: i32[] = [11, 9, 1, 16, 7, 13];
const PS: i32[] = [13, 20, 5, 1, 33, 8];
const DS: i32[] = [8, 6, 3, 4, 16, 9];

describe("attention_head_f32", () => {
  it("blockRows 1, 2, 3, 4, 5, 8 (also > L) and L × weights modes 0/1/2 × masks none / matrix / row / both", () => {
    for (let s = 0; s < LS.length; s++) {
      const l = LS[s];
      const blocks: i32[] = [1, 2, 3, 4, 5, 8, l];
      for (let bi = 0; bi < blocks.length; bi++) {
        for (let mode = 0; mode < 3; mode++) {
          for (let mk = 0; mk < 4; mk++) {
            attentionCase(l, PS[s], DS[s], blocks[bi], mode, mk, 0, -1);
          }
        }
      }
    }
  });

  it("a fully masked query row is NaN in out and weights; its block neighbours are not", () => {
    const blocks: i32[] = [1, 3, 4, 8];
    for (let bi = 0; bi < blocks.length; bi++) {
      for (let mode = 0; mode < 3; mode++) {
        attentionCase(9, 13, 6, blocks[bi], mode, 1, 0, 2);
        attentionCase(9, 13, 6, blocks[bi], mode, 3, 0, 8);
      }
    }
  });

  it("unaligned q, k, v, masks, scratch, out and weights (4, 8, 12 bytes past 16)", () => {
    for (let mis = 4; mis < 16; mis += 4) {
      attentionCase(11, 13, 8, 4, WEIGHTS_STORE, 3, mis, -1);
      attentionCase(9, 20, 6, 5, WEIGHTS_ACCUMULATE, 3, mis, -1);
      attentionCase(7, 33, 16, 7, WEIGHTS_NONE, 1, mis, -1);
    }
  });
});
