// Output checks: every engine's output against this package's.
import type { OutputCheck } from './protocol.js';

/**
 * Two float32 engines that each meet the package's tolerance against torch (1e-5 + 1e-4·|x|)
 * may differ by twice that; summation order adds a little at large sizes.
 */
export const ABS_TOLERANCE = 1e-4;
export const REL_TOLERANCE = 1e-3;

export function compareOutputs(got: Float32Array, reference: Float32Array): OutputCheck {
  if (got.length !== reference.length) return { maxAbsDiff: Infinity, relativeError: Infinity, agrees: false };
  let maxAbsDiff = 0;
  let diff2 = 0;
  let ref2 = 0;
  let agrees = true;
  for (let i = 0; i < got.length; i++) {
    const r = reference[i];
    const e = Math.abs(got[i] - r);
    // NaN anywhere fails the check (e > m is false for NaN)
    if (!(e <= maxAbsDiff)) maxAbsDiff = Number.isNaN(e) ? Infinity : e;
    if (!(e <= ABS_TOLERANCE + REL_TOLERANCE * Math.abs(r))) agrees = false;
    diff2 += e * e;
    ref2 += r * r;
  }
  return { maxAbsDiff, relativeError: Math.sqrt(diff2 / ref2), agrees };
}
