import { exp_f32x4 } from "../inline/exp";
import { bits } from "./helpers";

// exp_f32x4 against f64 Math.exp. The error of a result y for input x is
// measured in ulps of the exact value t = e^x (ulp(t) = 2^(⌊log2 t⌋ - 23)),
// and relatively, |y - t| / t.
//
// Stated bound (assembly/inline/exp.ts): relative error below 2.5e-7
// ("about 2 ulp") over [-87.3, 88]. This spec sweeps ~1.4 M points: 2^20
// evenly spaced over the range, plus 2^16 consecutive f32 values around
// each of 0, ±ln2/2 (where the range reduction changes n), -87.3 and 88.
// The exhaustive figure (every f32 in the range, measured outside as-pect)
// is in assembly/README.md. The spec holds the kernel to the stated
// relative bound and logs what the sweep found, in ulps too: "about 2 ulp"
// is not a bound (a relative 2.5e-7 is 2.1 to 4.2 ulp depending on where
// in its binade e^x falls; 2.26 ulp was measured).
//
// Below -87.3 the results are subnormal or 0 (2^n is built in the exponent
// field; n + 127 = 0 gives +0): there the error is only bounded absolutely,
// by 2^-126, and every x ≤ X_LOW = -87.8, -inf included, gives exactly +0.

const STATED_REL: f64 = 2.5e-7;
const LO: f32 = -87.3;
const HI: f32 = 88;
const X_LOW: f32 = -87.8;
const TINY: f64 = 1.1754943508222875e-38; // 2^-126

let maxUlp: f64 = 0;
let maxUlpAt: f32 = 0;
let maxRel: f64 = 0;
let maxRelAt: f32 = 0;
let points: i32 = 0;

function measure(x: f32, y: f32): void {
  const t = Math.exp(<f64>x);
  const e = <i32>((reinterpret<u64>(t) >> 52) & 0x7ff) - 1023;
  const ulp = reinterpret<f64>(<u64>(e - 23 + 1023) << 52);
  const err = Math.abs(<f64>y - t);
  const u = isNaN(err) ? Infinity : err / ulp;
  const r = isNaN(err) ? Infinity : err / t;
  if (u > maxUlp) { maxUlp = u; maxUlpAt = x; }
  if (r > maxRel) { maxRel = r; maxRelAt = x; }
  points++;
}

function measure4(x0: f32, x1: f32, x2: f32, x3: f32): void {
  let v = f32x4.splat(x0);
  v = f32x4.replace_lane(v, 1, x1);
  v = f32x4.replace_lane(v, 2, x2);
  v = f32x4.replace_lane(v, 3, x3);
  const y = exp_f32x4(v);
  measure(x0, f32x4.extract_lane(y, 0));
  measure(x1, f32x4.extract_lane(y, 1));
  measure(x2, f32x4.extract_lane(y, 2));
  measure(x3, f32x4.extract_lane(y, 3));
}

/** `count` consecutive f32 values starting at `x` upwards, kept in [LO, HI]. */
function consecutive(x: f32, count: i32): void {
  let v = x;
  for (let i = 0; i < count; i += 4) {
    const a = clampIn(v), b = clampIn(nextUp(a)), c = clampIn(nextUp(b)), d = clampIn(nextUp(c));
    measure4(a, b, c, d);
    v = nextUp(d);
  }
}

function clampIn(x: f32): f32 {
  return min<f32>(max<f32>(x, LO), HI);
}

/** The next f32 above x (x finite). */
function nextUp(x: f32): f32 {
  const b = reinterpret<u32>(x);
  if (x == 0) return reinterpret<f32>(<u32>1);
  return reinterpret<f32>(x > 0 ? b + 1 : b - 1);
}

/** The next f32 below x (x finite). */
function nextDown(x: f32): f32 {
  const b = reinterpret<u32>(x);
  if (x == 0) return reinterpret<f32>(<u32>0x8000_0001);
  return reinterpret<f32>(x > 0 ? b - 1 : b + 1);
}

function exp1(x: f32): f32 {
  return f32x4.extract_lane(exp_f32x4(f32x4.splat(x)), 0);
}

describe("exp_f32x4", () => {
  it("dense sweep over [-87.3, 88] within the stated 2.5e-7 relative (≈ 2 ulp)", () => {
    maxUlp = 0; maxRel = 0; points = 0;
    const n = 1 << 20;
    const h: f64 = (<f64>HI - <f64>LO) / <f64>(n - 1);
    for (let i = 0; i < n; i += 4) {
      measure4(
        clampIn(<f32>(<f64>LO + h * <f64>i)),
        clampIn(<f32>(<f64>LO + h * <f64>(i + 1))),
        clampIn(<f32>(<f64>LO + h * <f64>(i + 2))),
        clampIn(<f32>(<f64>LO + h * <f64>(i + 3))),
      );
    }
    const w = 1 << 15;
    // Around 0 (tiny |x|: e^x rounds to 1 or its neighbours).
    let x: f32 = 0;
    for (let i = 0; i < w; i++) x = nextDown(x);
    consecutive(x, 2 * w);
    // Around ±ln2/2, where n = round(x·log2 e) steps.
    const half: f32 = 0.34657359;
    x = half;
    for (let i = 0; i < w; i++) x = nextDown(x);
    consecutive(x, 2 * w);
    x = -half;
    for (let i = 0; i < w; i++) x = nextDown(x);
    consecutive(x, 2 * w);
    // The ends of the range.
    consecutive(LO, 2 * w);
    x = HI;
    for (let i = 0; i < 2 * w; i++) x = nextDown(x);
    consecutive(x, 2 * w);

    log<string>("exp_f32x4 sweep (" + (ASC_FEATURE_RELAXED_SIMD ? "relaxed" : "simd") + " build): " + points.toString() +
      " points, max " + maxUlp.toString() + " ulp at x = " + maxUlpAt.toString() +
      ", max relative " + maxRel.toString() + " at x = " + maxRelAt.toString());
    expect<f64>(maxRel).toBeLessThanOrEqual(STATED_REL, "relative error above the stated bound");
  });

  it("exp(0) = exp(-0) = 1 exactly", () => {
    expect<u32>(bits(exp1(0))).toBe(bits(1), "exp(0)");
    expect<u32>(bits(exp1(-0.0))).toBe(bits(1), "exp(-0)");
  });

  it("-inf and every x ≤ -87.8 give +0 exactly", () => {
    const xs: f32[] = [-Infinity, -3.4028235e38, -1e30, -1e4, -1000, -100, -88.7, -88, X_LOW];
    for (let i = 0; i < xs.length; i++) {
      expect<u32>(bits(exp1(xs[i]))).toBe(0, "exp(" + xs[i].toString() + ")");
    }
  });

  it("between -87.8 and -87.3: y ≥ 0 and |y - e^x| ≤ 2^-126", () => {
    let x: f32 = X_LOW;
    let bad: f32 = 0;
    let ok = true;
    while (x < LO) {
      const y = exp1(x);
      if (!(y >= 0 && Math.abs(<f64>y - Math.exp(<f64>x)) <= TINY)) { ok = false; bad = x; }
      x = nextUp(x);
    }
    expect<bool>(ok).toBe(true, "exp(" + bad.toString() + ")");
  });

  it("NaN gives NaN, lane by lane, without touching the other lanes", () => {
    let v = f32x4.splat(NaN);
    v = f32x4.replace_lane(v, 1, 0);
    v = f32x4.replace_lane(v, 2, -Infinity);
    v = f32x4.replace_lane(v, 3, reinterpret<f32>(<u32>0xffc0_0000)); // -NaN
    const y = exp_f32x4(v);
    expect<bool>(isNaN(f32x4.extract_lane(y, 0))).toBe(true, "exp(NaN)");
    expect<u32>(bits(f32x4.extract_lane(y, 1))).toBe(bits(1), "exp(0) beside a NaN");
    expect<u32>(bits(f32x4.extract_lane(y, 2))).toBe(0, "exp(-inf) beside a NaN");
    expect<bool>(isNaN(f32x4.extract_lane(y, 3))).toBe(true, "exp(-NaN)");
  });

  it("is monotone non-decreasing on a sweep", () => {
    let prev: f32 = 0;
    let ok = true;
    let at: f32 = 0;
    for (let i = 0; i <= 100000; i++) {
      const x = <f32>(<f64>LO + (<f64>HI - <f64>LO) * <f64>i / 100000.0);
      const y = exp1(x);
      if (y < prev) { ok = false; at = x; }
      prev = y;
    }
    expect<bool>(ok).toBe(true, "exp decreases at x = " + at.toString());
  });
});
