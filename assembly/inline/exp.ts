import { madd } from './simd';

// exp(x) on four lanes, for x in [-inf, 88.3] (softmax only feeds x ≤ 0;
// larger x saturates at e^88.3).
//
// Method (Cody & Waite range reduction, as in Cephes `expf`): write
// x = n·ln2 + r with n = round(x·log2 e) and |r| ≤ ln2/2, ln2 split into a
// high part exact in f32 and a low correction; e^r is a degree-7 polynomial
// 1 + r + r²·p(r) with Cephes' minimax coefficients; 2^n is built in the
// exponent bits. Below -87.34 the result is flushed to +0 (e^-87.34 is the
// smallest normal), so exp(-inf) = 0 exactly; NaN propagates.
//
// Error bound: at most 2 ulp (relative error < 2.4e-7) over [-87.3, 88.3],
// checked against f64 Math.exp on a dense sweep by
// assembly/__tests__/exp.spec.ts.

const LOG2E: f32 = 1.44269504088896341;
const LN2_HI: f32 = 0.693359375;
const LN2_LO: f32 = -2.12194440e-4;
const X_MIN: f32 = -87.33654; // ln(2^-126)
const X_MAX: f32 = 88.3; // keeps n ≤ 127

// @ts-ignore: decorator
@inline export function exp_f32x4(x: v128): v128 {
  const xc = f32x4.min(f32x4.max(x, f32x4.splat(X_MIN - 0.5)), f32x4.splat(X_MAX));
  const n = f32x4.nearest(f32x4.mul(xc, f32x4.splat(LOG2E)));
  let r = madd(n, f32x4.splat(-LN2_HI), xc);
  r = madd(n, f32x4.splat(-LN2_LO), r);
  let p = f32x4.splat(1.9875691500e-4);
  p = madd(p, r, f32x4.splat(1.3981999507e-3));
  p = madd(p, r, f32x4.splat(8.3334519073e-3));
  p = madd(p, r, f32x4.splat(4.1665795894e-2));
  p = madd(p, r, f32x4.splat(1.6666665459e-1));
  p = madd(p, r, f32x4.splat(5.0000001201e-1));
  const r2 = f32x4.mul(r, r);
  const er = f32x4.add(madd(p, r2, r), f32x4.splat(1.0));
  // 2^n: n + 127 in the exponent field (n ∈ [-127, 127] after the clamp).
  const pow2n = i32x4.shl(i32x4.add(i32x4.trunc_sat_f32x4_s(n), i32x4.splat(127)), 23);
  const e = f32x4.mul(er, pow2n);
  return v128.bitselect(f32x4.splat(0), e, f32x4.lt(x, f32x4.splat(X_MIN)));
}
