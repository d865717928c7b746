// The shape of the module golden cases (tests/golden/README.md), for tests
// that run them somewhere other than this process: a browser page, a packed
// install, a worker.
import assert from 'node:assert/strict';
import { assertClose, loadGolden, type GoldenCall, type GoldenCase, type GoldenModule } from './golden.js';

export type { GoldenCall, GoldenCase, GoldenModule };

export const MODULE_GOLDEN_FILES = ['mha.json', 'linformer.json', 'safetensors.json'];

export function goldenCase(file: string, name: string): GoldenCase {
  const found = loadGolden<GoldenCase>(file).cases.find((c) => c.name === name);
  if (!found) throw new Error(`${file} has no case ${name}`);
  return found;
}

/** A tensor that came back as JSON from another process or a page. */
export interface JsonTensor {
  dims: number[];
  data: number[];
}

/** The outputs of one case's calls, as golden-runner.cjs returns them. */
export interface JsonCaseResult {
  name?: string;
  calls: { output: JsonTensor; weights: JsonTensor | null }[];
}

/** Checks results run elsewhere against the cases' PyTorch expectations (within the package's tolerance). */
export function checkJsonResults(cases: readonly GoldenCase[], results: readonly JsonCaseResult[]): void {
  assert.equal(results.length, cases.length, 'one result per case');
  cases.forEach((c, i) => {
    if (results[i].name !== undefined) assert.equal(results[i].name, c.name);
    c.calls.forEach((call, j) => {
      const { output, weights } = results[i].calls[j];
      const what = `${c.name} call ${j}`;
      assertClose(`${what} output`, { dims: output.dims, data: Float32Array.from(output.data) }, call.expected.output);
      if (call.expected.weights === null) assert.equal(weights, null, `${what}: weights should be null`);
      else {
        assert.ok(weights, `${what}: weights missing`);
        assertClose(`${what} weights`, { dims: weights.dims, data: Float32Array.from(weights.data) }, call.expected.weights);
      }
    });
  });
}
