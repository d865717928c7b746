// Which build this run compiled. as-pect.config.js gives 0 and
// as-pect.relaxed.config.js gives 1 through the "aspect_build" import, so
// `npm run test:kernels:relaxed` cannot silently test the plain build (or
// the other way round): the features come from as-pect.asconfig.json and
// as-pect.relaxed.asconfig.json respectively.

// @ts-ignore: decorator
@external("aspect_build", "relaxedExpected")
declare function relaxedExpected(): i32;

describe("build", () => {
  it("is compiled with SIMD", () => {
    expect<bool>(ASC_FEATURE_SIMD).toBe(true);
  });

  it("has relaxed SIMD exactly when the as-pect config asks for it", () => {
    log<string>(ASC_FEATURE_RELAXED_SIMD ? "relaxed-SIMD build (madd = f32x4.relaxed_madd)" : "plain SIMD build (madd = mul + add)");
    expect<i32>(ASC_FEATURE_RELAXED_SIMD ? 1 : 0).toBe(relaxedExpected());
  });
});
