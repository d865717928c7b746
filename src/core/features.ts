// Feature detection by validating a few real bytes, as onnxruntime-web does:
// each probe is a one-function module that uses the instruction in question.

// (func (param v128) (result v128) local.get 0 local.get 0 f32x4.add)
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 6, 1, 96, 1, 123, 1, 123, 3, 2, 1, 0,
  10, 11, 1, 9, 0, 32, 0, 32, 0, 253, 228, 1, 11,
]);

// (func (param v128) (result v128) local.get 0 (×3) f32x4.relaxed_madd)
const RELAXED_SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 6, 1, 96, 1, 123, 1, 123, 3, 2, 1, 0,
  10, 13, 1, 11, 0, 32, 0, 32, 0, 32, 0, 253, 133, 2, 11,
]);

function validates(bytes: Uint8Array<ArrayBuffer>): boolean {
  try {
    return typeof WebAssembly === 'object' && WebAssembly.validate(bytes);
  } catch {
    return false;
  }
}

/** Whether this engine runs WebAssembly fixed-width SIMD (required). */
export function hasSimd(): boolean {
  return validates(SIMD_PROBE);
}

/** Whether this engine runs relaxed SIMD (`f32x4.relaxed_madd`). */
export function hasRelaxedSimd(): boolean {
  return validates(RELAXED_SIMD_PROBE);
}
