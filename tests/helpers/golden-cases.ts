// The shape of the module golden cases (tests/golden/README.md), for tests
// that run them somewhere other than this process: a browser page, a packed
// install, a worker.
import { loadGolden, type RawTensor } from './golden.js';

export interface ModuleSpec {
  ctor: 'MultiheadAttention' | 'LinearMultiheadAttention';
  embedDim: number;
  numHeads: number;
  options: Record<string, unknown>;
  shareWith: number | null;
  stateDict?: Record<string, RawTensor>;
  stateDictFile?: string;
}

export interface GoldenCall {
  module: number;
  query: RawTensor;
  key: RawTensor;
  value: RawTensor;
  forwardOptions: {
    needWeights?: boolean;
    averageAttnWeights?: boolean;
    keyPaddingMask?: RawTensor;
    attnMask?: RawTensor;
  };
  expected: { output: RawTensor; weights: RawTensor | null };
}

export interface ModuleCase {
  name: string;
  modules: ModuleSpec[];
  calls: GoldenCall[];
}

export const MODULE_GOLDEN_FILES = ['mha.json', 'linformer.json', 'safetensors.json'];

export function goldenCase(file: string, name: string): ModuleCase {
  const found = loadGolden<ModuleCase>(file).cases.find((c) => c.name === name);
  if (!found) throw new Error(`${file} has no case ${name}`);
  return found;
}
