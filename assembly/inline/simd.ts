// Small SIMD helpers shared by the kernels. The build decides, at compile
// time, whether `madd` is a relaxed fused multiply-add or a plain mul + add:
// one source, two binaries (see asconfig.json targets "simd" and "relaxed").

/** a·b + c, lane-wise. Fused (one rounding) where the engine chooses so in the relaxed build. */
// @ts-ignore: decorator
@inline export function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) {
    return f32x4.relaxed_madd(a, b, c);
  } else {
    return f32x4.add(f32x4.mul(a, b), c);
  }
}

/** Sum of the four lanes. */
// @ts-ignore: decorator
@inline export function hsum(v: v128): f32 {
  const s = f32x4.add(v, v128.shuffle<f32>(v, v, 2, 3, 0, 1));
  return f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1);
}

/** Maximum of the four lanes; NaN if any lane is NaN. */
// @ts-ignore: decorator
@inline export function hmax(v: v128): f32 {
  const s = f32x4.max(v, v128.shuffle<f32>(v, v, 2, 3, 0, 1));
  return max<f32>(f32x4.extract_lane(s, 0), f32x4.extract_lane(s, 1));
}

/** Stores the first `n` (1 to 4) lanes of `v` at `ptr`. */
// @ts-ignore: decorator
@inline export function storeLanes(ptr: usize, v: v128, n: i32): void {
  if (n >= 4) {
    v128.store(ptr, v);
    return;
  }
  store<f32>(ptr, f32x4.extract_lane(v, 0));
  if (n > 1) store<f32>(ptr, f32x4.extract_lane(v, 1), 4);
  if (n > 2) store<f32>(ptr, f32x4.extract_lane(v, 2), 8);
}

/** dst[j] = src[j] / divisor for j < n (dst may be src). */
// @ts-ignore: decorator
@inline export function divideRow(dst: usize, src: usize, n: i32, divisor: f32): void {
  const vd = f32x4.splat(divisor);
  const n4 = n & ~3;
  let j = 0;
  for (; j < n4; j += 4) {
    const off = <usize>j << 2;
    v128.store(dst + off, f32x4.div(v128.load(src + off), vd));
  }
  for (; j < n; j++) {
    const off = <usize>j << 2;
    store<f32>(dst + off, load<f32>(src + off) / divisor);
  }
}
