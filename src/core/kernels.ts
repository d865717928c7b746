// The wasm core's exports, typed. Pointers are byte offsets into the one
// linear memory; strides and sizes are in floats (assembly/README.md).

export interface Kernels {
  heap_base(): number;
  uses_relaxed_simd(): number;
  packed_b_size(k: number, n: number): number;
  pack_b_f32_x8(out: number, b: number, ldb: number, k: number, n: number, transposed: number, bias: number): number;
  /** The GEMM every caller uses: gemm_f32_4x8_simd or gemm_f32_6x8_simd, as set_gemm_tile chose. */
  gemm_f32(c: number, ldc: number, a: number, lda: number, packedB: number, m: number, n: number, k: number, rowBias: number): number;
  set_gemm_tile(rows: number): number;
  gemm_f32_4x8_simd(c: number, ldc: number, a: number, lda: number, packedB: number, m: number, n: number, k: number, rowBias: number): number;
  gemm_f32_6x8_simd(c: number, ldc: number, a: number, lda: number, packedB: number, m: number, n: number, k: number, rowBias: number): number;
  gemm_f32_scalar(c: number, ldc: number, a: number, lda: number, packedB: number, m: number, n: number, k: number, rowBias: number): number;
  expminusmax_f32_simd(x: number, ldx: number, rows: number, cols: number, mask: number, ldMask: number, maskRow: number, sums: number): number;
  expminusmax_f32_scalar(x: number, ldx: number, rows: number, cols: number, mask: number, ldMask: number, maskRow: number, sums: number): number;
  softmax_f32_simd(x: number, ldx: number, rows: number, cols: number, mask: number, ldMask: number, maskRow: number, sums: number): number;
  softmax_f32_scalar(x: number, ldx: number, rows: number, cols: number, mask: number, ldMask: number, maskRow: number, sums: number): number;
  seqproj_f32(out: number, ldo: number, e: number, lde: number, k: number, s: number, x: number, ldx: number, cols: number, bias: number, scratch: number): number;
  attention_head_f32(
    out: number, ldo: number, q: number, ldq: number, l: number, d: number,
    kPacked: number, vPacked: number, p: number,
    scratch: number, sums: number, blockRows: number,
    mask: number, ldMask: number, maskRow: number,
    weights: number, ldw: number, weightsScale: number, weightsMode: number,
  ): number;
}

/** attention_head_f32's weightsMode values. */
export const WeightsMode = { none: 0, store: 1, accumulate: 2 } as const;

/** Floats in the packed form of a K×N right-hand GEMM operand (pack_b_f32_x8). */
export function packedSize(k: number, n: number): number {
  return Math.ceil(n / 8) * 8 * (k + 1);
}
