// The core's exports: every kernel the TypeScript layer calls. Kernels
// allocate nothing; the caller (src/heap.ts) places every buffer in the one
// linear memory, which is imported so that it can be shared later.

export { packed_b_size, pack_b_f32_x8 } from './packw/pack_b_f32_x8';
export { gemm_f32, set_gemm_tile } from './gemm/gemm_f32';
export { gemm_f32_4x8_simd } from './gemm/gemm_f32_4x8_simd';
export { gemm_f32_6x8_simd } from './gemm/gemm_f32_6x8_simd';
export { gemm_f32_scalar } from './gemm/gemm_f32_scalar';
export { expminusmax_f32_simd } from './softmax/expminusmax_f32_simd';
export { expminusmax_f32_scalar } from './softmax/expminusmax_f32_scalar';
export { softmax_f32_simd } from './softmax/softmax_f32_simd';
export { softmax_f32_scalar } from './softmax/softmax_f32_scalar';
export { seqproj_f32 } from './seqproj/seqproj_f32';
export { attention_head_f32 } from './attention/attention_head_f32';

/** First byte past the module's static data: where the JS heap may start. */
export function heap_base(): usize {
  return __heap_base;
}

/** 1 in the relaxed-SIMD build, 0 in the plain SIMD build. */
export function uses_relaxed_simd(): i32 {
  return ASC_FEATURE_RELAXED_SIMD ? 1 : 0;
}
