// init() for the TypeScript tests, on the wasm build scripts/test.mjs asks
// for: LINFORMER_TEST_BUILD=simd keeps to the plain SIMD build on any
// engine; 'relaxed-simd' requires the relaxed build (the run fails if the
// engine picked the plain one); unset, init() chooses as it does for users.
import { backendInfo, init } from 'linformer-wasm';

export type Build = 'simd' | 'relaxed-simd';

export function requestedBuild(): Build | undefined {
  const b = process.env.LINFORMER_TEST_BUILD;
  if (b === undefined || b === '') return undefined;
  if (b !== 'simd' && b !== 'relaxed-simd') throw new Error(`LINFORMER_TEST_BUILD: expected 'simd' or 'relaxed-simd', got '${b}'`);
  return b;
}

export async function initForTests(): Promise<void> {
  const want = requestedBuild();
  await init(undefined, want === 'simd' ? { relaxedSimd: false } : {});
  const got = backendInfo().build;
  if (want !== undefined && got !== want) {
    throw new Error(`LINFORMER_TEST_BUILD=${want}, but init() chose the ${got} build on this engine`);
  }
}
