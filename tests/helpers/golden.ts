// Reads the PyTorch golden files (tests/golden/*.json, written by
// tests/golden/generate.py) and compares results within the tolerance of docs/semantics.md.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';

export const goldenDir = fileURLToPath(new URL('../../../tests/golden/', import.meta.url));

export interface RawTensor {
  dims: number[];
  dtype: 'f32' | 'f64' | 'u8';
  data: string;
}

/** A module of a golden case (tests/golden/README.md). */
export interface GoldenModule {
  ctor: 'MultiheadAttention' | 'LinearMultiheadAttention';
  embedDim: number;
  numHeads: number;
  options: Record<string, unknown>;
  shareWith: number | null;
  stateDict?: Record<string, RawTensor>;
  stateDictFile?: string;
}

/** One forward call of a golden case and torch's answer. */
export interface GoldenCall {
  module: number;
  query: RawTensor;
  key: RawTensor;
  value: RawTensor;
  forwardOptions: { needWeights?: boolean; averageAttnWeights?: boolean; keyPaddingMask?: RawTensor; attnMask?: RawTensor };
  expected: { output: RawTensor; weights: RawTensor | null };
}

/** A golden case of mha.json, linformer.json or safetensors.json. */
export interface GoldenCase {
  name: string;
  modules: GoldenModule[];
  calls: GoldenCall[];
}

export type Decoded =
  | { dims: number[]; data: Float32Array }
  | { dims: number[]; data: Uint8Array }
  | { dims: number[]; data: Float64Array };

export function decode(t: RawTensor): Decoded {
  const bytes = Buffer.from(t.data, 'base64');
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  if (t.dtype === 'f32') return { dims: t.dims, data: new Float32Array(copy.buffer) };
  if (t.dtype === 'f64') return { dims: t.dims, data: new Float64Array(copy.buffer) };
  return { dims: t.dims, data: copy };
}

export function f32(t: RawTensor): { dims: number[]; data: Float32Array } {
  const d = decode(t);
  assert.ok(d.data instanceof Float32Array, `expected an f32 tensor, got ${t.dtype}`);
  return d as { dims: number[]; data: Float32Array };
}

export function loadGolden<T = any>(file: string): { torch: string; cases: T[] } {
  return JSON.parse(readFileSync(goldenDir + file, 'utf8'));
}

/** docs/semantics.md, Numerics: |got − torch| ≤ 1e-5 + 1e-4·|torch| everywhere; NaN exactly where torch has NaN. */
export function assertClose(
  what: string,
  got: { dims: readonly number[]; data: Float32Array },
  expected: RawTensor,
  atol = 1e-5,
  rtol = 1e-4,
): void {
  const e = decode(expected);
  assert.deepEqual([...got.dims], e.dims, `${what}: dims`);
  assert.equal(got.data.length, e.data.length, `${what}: length`);
  let worst = 0;
  let worstAt = -1;
  for (let i = 0; i < e.data.length; i++) {
    const x = got.data[i];
    const y = e.data[i];
    if (Number.isNaN(y)) {
      assert.ok(Number.isNaN(x), `${what}[${i}]: expected NaN, got ${x}`);
      continue;
    }
    assert.ok(!Number.isNaN(x), `${what}[${i}]: got NaN, expected ${y}`);
    const excess = Math.abs(x - y) - (atol + rtol * Math.abs(y));
    if (excess > worst) {
      worst = excess;
      worstAt = i;
    }
  }
  assert.ok(worstAt < 0, `${what}[${worstAt}]: got ${got.data[worstAt]}, torch ${e.data[worstAt]} (beyond ${atol} + ${rtol}·|torch|)`);
}
