// The shape of the module golden cases (tests/golden/README.md), for tests
// that run them somewhere other than this process: a browser page, a packed
// install, a worker.
import { loadGolden, type GoldenCall, type GoldenCase, type GoldenModule } from './golden.js';

export type { GoldenCall, GoldenCase, GoldenModule };

export const MODULE_GOLDEN_FILES = ['mha.json', 'linformer.json', 'safetensors.json'];

export function goldenCase(file: string, name: string): GoldenCase {
  const found = loadGolden<GoldenCase>(file).cases.find((c) => c.name === name);
  if (!found) throw new Error(`${file} has no case ${name}`);
  return found;
}
