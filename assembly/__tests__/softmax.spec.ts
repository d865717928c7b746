import { softmax_f32_simd } from "../softmax/softmax_f32_simd";
import { softmax_f32_scalar } from "../softmax/softmax_f32_scalar";
import { expminusmax_f32_simd } from "../softmax/expminusmax_f32_simd";
import { expminusmax_f32_scalar } from "../softmax/expminusmax_f32_scalar";
import {
  U, TINY, buf, fillRandom, snapshot, unchanged, ld, st, bits, seed, rnd,
  beginCheck, check, near, endCheck, subcase,
} from "./helpers";

// Row softmax in place, by the SIMD kernel and its scalar twin, and
// expminusmax_f32_simd (the unnormalised half attention uses) and its
// scalar twin, each against f64 and the SIMD kernels against their twins. Masks: an optional L×P
// mask (row stride ldMask) and an optional mask row. The f64 reference works
// from the masked logits z = f32(f32(x + mask) + maskRow) (f32 by contract).
// A row with a NaN logit, or whose every logit is -inf, is NaN throughout
// after normalisation; `sums` receives Σ_j exp(z_j - max), NaN for such rows.
//
// Tolerances (u = 2^-24, ref = exact probability, d = |z_j - max z|):
//   scalar twin vs f64: |p - ref| ≤ 3u·ref + 1e-44       (f64 math, two f32 roundings)
//   SIMD kernel vs f64: |p - ref| ≤ u·(d + cols + 12)·ref + 2^-126
//       (f32 z - max: u·d; exp_f32x4: < 2.5e-7 ≈ 4.2u; f32 sum: ≤ cols·u;
//        division: u; below -87.3 exp is only within 2^-126 absolute)
//   SIMD vs scalar: the sum of the two.
//   expminusmax vs f64 exp(z - max): u·(d + 5)·ref + 2^-126; its scalar
//   twin: u·ref (one rounding); SIMD vs twin: the sum of the two.
//   Σp: |Σp - 1| ≤ (cols + 4)·u (scalar), 2·(cols + 12)·u (SIMD).
//   sums: u·sum (scalar), u·(max d + cols + 8)·sum (SIMD).
// Entries whose logit is -inf must be exactly +0 in all three.

const MASK_NONE: i32 = 0;
const MASK_MATRIX: i32 = 1;
const MASK_ROW: i32 = 2;
const MASK_BOTH: i32 = 3;

/** A guarded copy of `n` floats at `src`, `mis` bytes past 16. */
function dup(src: usize, n: i32, mis: i32): usize {
  const p = buf(n, mis);
  memory.copy(p, src, <usize>n << 2);
  return p;
}

/**
 * Runs the three kernels on copies of x (rows×cols, stride ldx) and checks
 * them; `mask`/`maskRow` are 0 for none. The caller ends the check (which
 * frees every buffer) when it has no more use for x and the masks.
 */
function runSoftmax(ctx: string, x: usize, ldx: i32, rows: i32, cols: i32, mask: usize, ldMask: i32, maskRow: usize, mis: i32): void {
  subcase(ctx);
  const n = rows * ldx;
  const xs = dup(x, n, mis);
  const xr = dup(x, n, (mis + 8) & 15);
  const xe = dup(x, n, (mis + 4) & 15);
  const m0 = mask != 0 ? snapshot(mask, rows * ldMask) : 0;
  const mr0 = maskRow != 0 ? snapshot(maskRow, cols) : 0;
  const sumsS = buf(rows, mis);
  const sumsR = buf(rows, (mis + 4) & 15);
  const sumsE = buf(rows, (mis + 8) & 15);
  const xt = dup(x, n, (mis + 12) & 15);
  const sumsT = buf(rows, (mis + 12) & 15);

  check(softmax_f32_simd(xs, ldx, rows, cols, mask, ldMask, maskRow, sumsS) == xs, "simd did not return x");
  check(softmax_f32_scalar(xr, ldx, rows, cols, mask, ldMask, maskRow, sumsR) == xr, "scalar did not return x");
  check(expminusmax_f32_simd(xe, ldx, rows, cols, mask, ldMask, maskRow, sumsE) == xe, "expminusmax did not return x");
  check(expminusmax_f32_scalar(xt, ldx, rows, cols, mask, ldMask, maskRow, sumsT) == xt, "expminusmax scalar did not return x");

  for (let r = 0; r < rows; r++) {
    // Masked logits, as f32, and their maximum.
    let mx: f64 = -Infinity;
    let anyNaN = false;
    for (let j = 0; j < cols; j++) {
      const z = logit(x, ldx, mask, ldMask, maskRow, r, j);
      if (isNaN(z)) anyNaN = true;
      else mx = max<f64>(mx, <f64>z);
    }
    const rowNaN = anyNaN || mx == -Infinity;
    let sum: f64 = 0;
    for (let j = 0; j < cols; j++) sum += rowNaN ? 0 : Math.exp(<f64>logit(x, ldx, mask, ldMask, maskRow, r, j) - mx);
    let sumS: f64 = 0, sumR: f64 = 0;
    for (let j = 0; j < cols; j++) {
      const z = <f64>logit(x, ldx, mask, ldMask, maskRow, r, j);
      const ref: f64 = rowNaN ? NaN : Math.exp(z - mx) / sum;
      const ps = <f64>ld(xs, r * ldx + j);
      const pr = <f64>ld(xr, r * ldx + j);
      const tolR = 3 * U * ref + 1e-44;
      const dz = isFinite(z) ? Math.abs(z - mx) : 0; // ref is 0 where z = -inf
      const tolS = U * (dz + <f64>cols + 12) * ref + TINY;
      near(pr, ref, tolR, "scalar vs f64 p", r, j);
      near(ps, ref, tolS, "simd vs f64 p", r, j);
      near(ps, pr, tolS + tolR, "simd vs scalar p", r, j);
      // expminusmax alone: exp(z - max) before normalisation. Its row may
      // hold finite values beside a NaN (the sum is NaN); only rows the
      // reference calls NaN for max = -inf must be NaN throughout.
      const e = <f64>ld(xe, r * ldx + j);
      const et = <f64>ld(xt, r * ldx + j);
      if (!rowNaN) {
        const eref = Math.exp(z - mx);
        near(e, eref, U * (dz + 5) * eref + TINY, "expminusmax vs f64 exp(z - max)", r, j);
        near(et, eref, U * eref + 1e-44, "expminusmax scalar vs f64 exp(z - max)", r, j);
        near(e, et, U * (dz + 6) * eref + TINY, "expminusmax simd vs scalar", r, j);
      } else if (!anyNaN) {
        check(isNaN(e), "expminusmax: a fully masked row has a non-NaN entry at [" + r.toString() + "," + j.toString() + "]");
        check(isNaN(et), "expminusmax scalar: a fully masked row has a non-NaN entry at [" + r.toString() + "," + j.toString() + "]");
      } else if (isNaN(z)) {
        check(isNaN(e), "expminusmax: a NaN logit did not give NaN at [" + r.toString() + "," + j.toString() + "]");
      }
      if (!rowNaN && z == -Infinity) {
        check(bits(<f32>ps) == 0 && bits(<f32>pr) == 0 && bits(<f32>e) == 0, "a -inf logit did not give exactly +0 at [" + r.toString() + "," + j.toString() + "]");
      }
      sumS += ps;
      sumR += pr;
    }
    if (!rowNaN) {
      near(sumR, 1.0, <f64>(cols + 4) * U, "scalar Σp", r, -1);
      near(sumS, 1.0, 2.0 * <f64>(cols + 12) * U, "simd Σp", r, -1);
    }
    // `sums` gets Σ_j exp(z_j - max): NaN for a NaN row.
    const sref: f64 = rowNaN ? NaN : sum;
    near(<f64>ld(sumsR, r), sref, U * sum, "scalar sums", r, -1);
    near(<f64>ld(sumsS, r), sref, U * (maxD(x, ldx, mask, ldMask, maskRow, r, cols, mx) + <f64>cols + 8) * sum, "simd sums", r, -1);
    near(<f64>ld(sumsE, r), sref, U * (maxD(x, ldx, mask, ldMask, maskRow, r, cols, mx) + <f64>cols + 8) * sum, "expminusmax sums", r, -1);
    near(<f64>ld(sumsT, r), sref, U * sum, "expminusmax scalar sums", r, -1);
    // The stride gap is not the row's: it keeps its values.
    for (let j = cols; j < ldx; j++) {
      check(bits(ld(xs, r * ldx + j)) == bits(ld(x, r * ldx + j)), "simd wrote the ldx gap of row " + r.toString());
      check(bits(ld(xr, r * ldx + j)) == bits(ld(x, r * ldx + j)), "scalar wrote the ldx gap of row " + r.toString());
      check(bits(ld(xe, r * ldx + j)) == bits(ld(x, r * ldx + j)), "expminusmax wrote the ldx gap of row " + r.toString());
      check(bits(ld(xt, r * ldx + j)) == bits(ld(x, r * ldx + j)), "expminusmax scalar wrote the ldx gap of row " + r.toString());
    }
  }
  if (mask != 0) check(unchanged(mask, m0, rows * ldMask), "mask was modified");
  if (maskRow != 0) check(unchanged(maskRow, mr0, cols), "maskRow was modified");
}

/** max_j |z_j - max| over the finite logits of row r. */
function maxD(x: usize, ldx: i32, mask: usize, ldMask: i32, maskRow: usize, r: i32, cols: i32, mx: f64): f64 {
  let d: f64 = 0;
  for (let j = 0; j < cols; j++) {
    const z = <f64>logit(x, ldx, mask, ldMask, maskRow, r, j);
    if (isFinite(z)) d = max<f64>(d, Math.abs(z - mx));
  }
  return d;
}

function logit(x: usize, ldx: i32, mask: usize, ldMask: i32, maskRow: usize, r: i32, j: i32): f32 {
  let v = ld(x, r * ldx + j);
  if (mask != 0) v += ld(mask, r * ldMask + j);
  if (maskRow != 0) v += ld(maskRow, j);
  return v;
}

/** A mask value: mostly small, sometimes -inf (1 in 6). */
function maskValue(): f32 {
  const u = rnd();
  return u < -0.667 ? -Infinity : u * 2;
}

function caseName(what: string, rows: i32, cols: i32, ldx: i32, kind: i32, mis: i32): string {
  return "softmax " + what + " rows=" + rows.toString() + " cols=" + cols.toString() + " ldx=" + ldx.toString() +
    " mask=" + (kind == MASK_NONE ? "none" : kind == MASK_MATRIX ? "matrix" : kind == MASK_ROW ? "row" : "both") +
    " misalign=" + mis.toString();
}

/** Random logits × scale with masks of the given kind. */
function randomCase(rows: i32, cols: i32, ldx: i32, kind: i32, scale: f32, mis: i32): void {
  beginCheck();
  seed(<u32>(rows * 31 + cols * 977 + ldx * 7 + kind * 13 + <i32>scale + mis + 5));
  const x = buf(rows * ldx);
  fillRandom(x, rows * ldx, scale);
  const ldMask = cols + 3;
  let mask: usize = 0, maskRow: usize = 0;
  if (kind & MASK_MATRIX) {
    mask = buf(rows * ldMask, (mis + 4) & 15);
    for (let i = 0; i < rows * ldMask; i++) st(mask, i, maskValue());
  }
  if (kind & MASK_ROW) {
    maskRow = buf(cols, (mis + 12) & 15);
    for (let j = 0; j < cols; j++) st(maskRow, j, maskValue());
  }
  const ctx = caseName("random×" + scale.toString(), rows, cols, ldx, kind, mis);
  runSoftmax(ctx, x, ldx, rows, cols, mask, ldMask, maskRow, mis);
  endCheck(ctx);
}

const COLS: i32[] = [1, 2, 3, 4, 5, 7, 8, 9, 13, 33, 100];

describe("softmax_f32_simd and softmax_f32_scalar", () => {
  it("random logits, cols 1, 2, 3, 4, 5, 7, 8, 9, 13, 33, 100 × mask none / matrix / row / both", () => {
    for (let ci = 0; ci < COLS.length; ci++) {
      for (let kind = 0; kind < 4; kind++) {
        randomCase(5, COLS[ci], COLS[ci], kind, 8, 0);
        randomCase(3, COLS[ci], COLS[ci] + 3, kind, 30, 0);
      }
    }
  });

  it("unaligned x and masks (4, 8, 12 bytes past 16)", () => {
    for (let mis = 4; mis < 16; mis += 4) {
      for (let ci = 0; ci < COLS.length; ci++) {
        randomCase(4, COLS[ci], COLS[ci] + 1, MASK_BOTH, 8, mis);
      }
    }
  });

  it("large logits (±100, ±1e4, ±88.5): the max is subtracted before exp", () => {
    const vals: f32[] = [100, -100, 1e4, -1e4, 88.5, 89, -88.5, 1e4 - 1, 1e4 - 3, -1e4 + 2];
    for (let ci = 0; ci < COLS.length; ci++) {
      const cols = COLS[ci];
      const rows = 5;
      beginCheck();
      const x = buf(rows * cols);
      for (let j = 0; j < cols; j++) {
        st(x, j, vals[j % vals.length]);                        // mixed ±100, ±1e4
        st(x, cols + j, 1e4);                                   // all equal and huge: uniform
        st(x, 2 * cols + j, -1e4 + <f32>(j % 4));               // all hugely negative
        st(x, 3 * cols + j, 100 - <f32>(j % 3) * 0.5);          // close to 100
        st(x, 4 * cols + j, j % 2 == 0 ? 89 : -89);             // past exp's range if not shifted
      }
      runSoftmax(caseName("large", rows, cols, cols, MASK_NONE, 0), x, cols, rows, cols, 0, 0, 0, 0);
      // The uniform row is uniform and the very negative row is not all 0.
      const y = buf(rows * cols);
      memory.copy(y, x, <usize>(rows * cols) << 2);
      softmax_f32_simd(y, cols, rows, cols, 0, 0, 0, buf(rows));
      for (let j = 0; j < cols; j++) {
        near(<f64>ld(y, cols + j), 1.0 / <f64>cols, 4 * U / <f64>cols * <f64>(cols + 4), "uniform row", 1, j);
        check(isFinite(ld(y, 2 * cols + j)) && ld(y, 2 * cols + j) > 0, "negative row has a zero or non-finite entry");
      }
      endCheck(caseName("large", rows, cols, cols, MASK_NONE, 0));
    }
  });

  it("-inf in either mask gives exact zeros; one unmasked entry gives exactly 1", () => {
    for (let ci = 0; ci < COLS.length; ci++) {
      const cols = COLS[ci];
      const rows = 4;
      beginCheck();
      seed(<u32>cols + 100);
      const x = buf(rows * cols);
      fillRandom(x, rows * cols, 5);
      const mask = buf(rows * cols);
      const maskRow = buf(cols);
      for (let i = 0; i < rows * cols; i++) st(mask, i, (i % 3) == 1 ? -Infinity : 0);
      for (let j = 0; j < cols; j++) st(maskRow, j, (j % 4) == 2 ? -Infinity : 0);
      // Row 3: only column cols-1 left open by the matrix mask.
      for (let j = 0; j < cols; j++) st(mask, 3 * cols + j, j == cols - 1 ? 0 : -Infinity);
      if (cols % 4 == 3) st(maskRow, cols - 1, 0);
      runSoftmax(caseName("-inf masks", rows, cols, cols, MASK_BOTH, 0), x, cols, rows, cols, mask, cols, maskRow, 0);
      const y = buf(rows * cols);
      const z = buf(rows * cols);
      memory.copy(y, x, <usize>(rows * cols) << 2);
      memory.copy(z, x, <usize>(rows * cols) << 2);
      softmax_f32_simd(y, cols, rows, cols, mask, cols, maskRow, buf(rows));
      softmax_f32_scalar(z, cols, rows, cols, mask, cols, maskRow, buf(rows));
      check(ld(y, 3 * cols + cols - 1) == 1 && ld(z, 3 * cols + cols - 1) == 1, "the single open entry is not exactly 1");
      endCheck(caseName("-inf masks", rows, cols, cols, MASK_BOTH, 0));
    }
  });

  it("a fully masked row is NaN (matrix mask, mask row, -inf logits); other rows are not", () => {
    for (let ci = 0; ci < COLS.length; ci++) {
      const cols = COLS[ci];
      const rows = 3;
      seed(<u32>cols + 200);
      beginCheck();
      // Matrix mask closes row 1.
      const x1 = buf(rows * cols);
      fillRandom(x1, rows * cols, 4);
      const mask = buf(rows * cols);
      for (let i = 0; i < rows * cols; i++) st(mask, i, i / cols == 1 ? -Infinity : 0);
      runSoftmax(caseName("row 1 closed by matrix mask", rows, cols, cols, MASK_MATRIX, 0), x1, cols, rows, cols, mask, cols, 0, 0);
      // The mask row closes every row.
      const x2 = buf(rows * cols);
      fillRandom(x2, rows * cols, 4);
      const maskRow = buf(cols);
      for (let j = 0; j < cols; j++) st(maskRow, j, -Infinity);
      runSoftmax(caseName("all closed by mask row", rows, cols, cols, MASK_ROW, 0), x2, cols, rows, cols, 0, 0, maskRow, 0);
      // Logits that are -inf themselves (row 2).
      const x3 = buf(rows * cols);
      fillRandom(x3, rows * cols, 4);
      for (let j = 0; j < cols; j++) st(x3, 2 * cols + j, -Infinity);
      runSoftmax(caseName("row 2 of -inf logits", rows, cols, cols, MASK_NONE, 0), x3, cols, rows, cols, 0, 0, 0, 0);
      // Directly: exactly the closed row is NaN.
      subcase("direct, cols=" + cols.toString());
      const y = buf(rows * cols);
      memory.copy(y, x1, <usize>(rows * cols) << 2);
      softmax_f32_simd(y, cols, rows, cols, mask, cols, 0, buf(rows));
      for (let j = 0; j < cols; j++) {
        check(isNaN(ld(y, cols + j)), "closed row 1 not NaN");
        check(!isNaN(ld(y, j)) && !isNaN(ld(y, 2 * cols + j)), "an open row is NaN");
      }
      endCheck("softmax fully masked rows, cols=" + cols.toString());
    }
  });

  it("a NaN logit or mask entry makes its row NaN, in the vector body and in the tail", () => {
    const colsList: i32[] = [1, 3, 4, 5, 7, 8, 9, 13];
    for (let ci = 0; ci < colsList.length; ci++) {
      const cols = colsList[ci];
      for (let at = 0; at < cols; at++) {
        const rows = 3;
        seed(<u32>(cols * 50 + at + 300));
        beginCheck();
        // NaN in the logits of row 0.
        const x1 = buf(rows * cols);
        fillRandom(x1, rows * cols, 4);
        st(x1, at, NaN);
        runSoftmax(caseName("NaN logit at [0," + at.toString() + "]", rows, cols, cols, MASK_NONE, 0), x1, cols, rows, cols, 0, 0, 0, 0);
        // NaN in the matrix mask of row 2.
        const x2 = buf(rows * cols);
        fillRandom(x2, rows * cols, 4);
        const mask = buf(rows * cols);
        fillRandom(mask, rows * cols, 1);
        st(mask, 2 * cols + at, NaN);
        runSoftmax(caseName("NaN mask at [2," + at.toString() + "]", rows, cols, cols, MASK_MATRIX, 0), x2, cols, rows, cols, mask, cols, 0, 0);
        // Directly: exactly row 0 is NaN.
        subcase("direct");
        const y = buf(rows * cols);
        memory.copy(y, x1, <usize>(rows * cols) << 2);
        softmax_f32_simd(y, cols, rows, cols, 0, 0, 0, buf(rows));
        for (let j = 0; j < cols; j++) {
          check(isNaN(ld(y, j)), "row 0 entry " + j.toString() + " not NaN");
          check(!isNaN(ld(y, cols + j)), "row 1 NaN");
        }
        endCheck("softmax NaN at " + at.toString() + ", cols=" + cols.toString());
      }
    }
  });
});
