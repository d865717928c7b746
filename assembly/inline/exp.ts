import { madd } from './simd';

// exp(x) on four lanes, for x ≤ 88 (softmax only feeds x ≤ 0); above 88
// the result is undefined (2^n overflows the exponent field).
//
// Method (Cody & Waite range reduction): write x = n·ln2 + r with
// n = round(x·log2 e) and |r| ≤ ln2/2, ln2 split into a high part exact in
// f32 and a low correction; e^r = 1 + r + r²·p(r) with p of degree 3, its
// coefficients fitted for least maximum relative error on [-ln2/2, ln2/2]
// (Lawson-weighted least squares, float64).
// n is rounded by adding a "magic" 1.5·2^23 + 127: the sum's low mantissa
// bits are then n + 127 as an integer, and shifting the sum's bits left by
// 23 puts exactly that into the exponent field, giving 2^n with no
// float-to-int conversion. Inputs are clamped below at X_LOW, where
// n + 127 = 0 and so 2^n = +0: every x ≤ X_LOW, -inf included, gives
// exactly 0; between X_LOW and -87.3 results are tiny (subnormal or 0) and
// within 2^-126 of e^x. NaN propagates through r.
//
// Error bound: the polynomial's own relative error is 1.05e-7 in exact
// arithmetic and 1.65e-7 evaluated in f32; with the reduction and scaling,
// measured over every f32 in [-87.3, 88] against f64 Math.exp: at most
// 1.82e-7 relative (2.26 ulp) in the SIMD build, 1.85e-7 (2.27 ulp) in the
// relaxed one (assembly/__tests__/exhaustive/). assembly/__tests__/exp.spec.ts
// holds it to 2.5e-7 on a dense sweep. Cephes' degree-7 polynomial
// would give 1 ulp at two more multiply-adds per vector; softmax does not
// need it (the package promises 1e-4 relative, docs/semantics.md).

const LOG2E: f32 = 1.44269504088896341;
const MAGIC: f32 = 12583039.0; // 1.5·2^23 + 127
const LN2_HI: f32 = 0.693359375; // few bits: n·LN2_HI is exact
const LN2_LO: f32 = -2.12194440e-4;
// p(r) = P0 + P1·r + P2·r² + P3·r³
const P0: f32 = 0.499992311000824;
const P1: f32 = 0.16667114198207855;
const P2: f32 = 0.041890114545822144;
const P3: f32 = 0.008312525227665901;
const X_LOW: f32 = -87.8; // round(X_LOW·log2 e) = -127

// The constants as four-lane vectors in memory. V8 rebuilds a v128
// constant inside a loop each time it is used (three instructions, eleven
// constants here: more than the arithmetic); a load from memory is one
// instruction, and V8 shares it between the loop's two vectors.
const K: usize = memory.data<f32>([
  X_LOW, X_LOW, X_LOW, X_LOW,
  LOG2E, LOG2E, LOG2E, LOG2E,
  MAGIC, MAGIC, MAGIC, MAGIC,
  -LN2_HI, -LN2_HI, -LN2_HI, -LN2_HI,
  -LN2_LO, -LN2_LO, -LN2_LO, -LN2_LO,
  P3, P3, P3, P3,
  P2, P2, P2, P2,
  P1, P1, P1, P1,
  P0, P0, P0, P0,
  1.0, 1.0, 1.0, 1.0,
], 16);

// @ts-ignore: decorator
@inline export function exp_f32x4(x: v128): v128 {
  // pmax (one x86 maxps) keeps a NaN x: it returns x unless x < X_LOW.
  const xc = f32x4.pmax(x, v128.load(K, 0));
  const magic = v128.load(K, 32);
  const magicN = madd(xc, v128.load(K, 16), magic);
  const pow2n = i32x4.shl(magicN, 23);
  const n = f32x4.sub(magicN, magic);
  let r = madd(n, v128.load(K, 48), xc);
  r = madd(n, v128.load(K, 64), r);
  let p = v128.load(K, 80);
  p = madd(p, r, v128.load(K, 96));
  p = madd(p, r, v128.load(K, 112));
  p = madd(p, r, v128.load(K, 128));
  const r2 = f32x4.mul(r, r);
  const er = f32x4.add(madd(p, r2, r), v128.load(K, 144));
  return f32x4.mul(er, pow2n);
}
