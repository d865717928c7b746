// Exhaustive accuracy sweep of exp_f32x4 (not a spec: exp-exhaustive.mjs
// compiles and runs it; as-pect only picks up *.spec.ts). Every f32 bit
// pattern in a range goes through the kernel, four lanes at a time, and is
// compared with f64 Math.exp: the error in ulps of the exact value
// (ulp(t) = 2^(⌊log2 t⌋ - 23)) and relative.

import { exp_f32x4 } from "../../inline/exp";

let maxUlp: f64 = 0;
let maxUlpX: f32 = 0;
let maxRel: f64 = 0;
let maxRelX: f32 = 0;
let count: f64 = 0;

// @ts-ignore: decorator
@inline function measure(x: f32, y: f32): void {
  const t = Math.exp(<f64>x);
  const e = <i32>((reinterpret<u64>(t) >> 52) & 0x7ff) - 1023;
  const ulp = reinterpret<f64>(<u64>(e - 23 + 1023) << 52);
  const err = Math.abs(<f64>y - t);
  const u = isNaN(err) ? Infinity : err / ulp;
  const r = isNaN(err) ? Infinity : err / t;
  if (u > maxUlp) { maxUlp = u; maxUlpX = x; }
  if (r > maxRel) { maxRel = r; maxRelX = x; }
}

/** Sweeps the f32 bit patterns lo..hi (inclusive; same sign, so monotone in |x|). */
export function sweep(lo: u32, hi: u32): void {
  let b = lo;
  while (b <= hi) {
    const x0 = reinterpret<f32>(b);
    const x1 = reinterpret<f32>(min(b + 1, hi));
    const x2 = reinterpret<f32>(min(b + 2, hi));
    const x3 = reinterpret<f32>(min(b + 3, hi));
    let v = f32x4.splat(x0);
    v = f32x4.replace_lane(v, 1, x1);
    v = f32x4.replace_lane(v, 2, x2);
    v = f32x4.replace_lane(v, 3, x3);
    const y = exp_f32x4(v);
    measure(x0, f32x4.extract_lane(y, 0));
    measure(x1, f32x4.extract_lane(y, 1));
    measure(x2, f32x4.extract_lane(y, 2));
    measure(x3, f32x4.extract_lane(y, 3));
    count += <f64>min<u32>(4, hi - b + 1);
    if (hi - b < 4) break;
    b += 4;
  }
}

export function reset(): void { maxUlp = 0; maxRel = 0; count = 0; maxUlpX = 0; maxRelX = 0; }
export function getMaxUlp(): f64 { return maxUlp; }
export function getMaxUlpX(): f32 { return maxUlpX; }
export function getMaxRel(): f64 { return maxRel; }
export function getMaxRelX(): f32 { return maxRelX; }
export function getCount(): f64 { return count; }
