// init() for the TypeScript tests, on the wasm build scripts/test.mjs asks
// for: LINFORMER_TEST_BUILD=simd keeps to the plain SIMD build on any
// engine; 'relaxed-simd' requires the relaxed build (the run fails if the
// engine picked the plain one); unset, init() chooses as it does for users.
// LINFORMER_TEST_THREADS=n runs every call on n threads (the run fails if
// fewer start); unset, one thread, whatever the machine's default.
import { backendInfo, init } from 'linformer-wasm';

export type Build = 'simd' | 'relaxed-simd';

export function requestedBuild(): Build | undefined {
  const b = process.env.LINFORMER_TEST_BUILD;
  if (b === undefined || b === '') return undefined;
  if (b !== 'simd' && b !== 'relaxed-simd') throw new Error(`LINFORMER_TEST_BUILD: expected 'simd' or 'relaxed-simd', got '${b}'`);
  return b;
}

/** The thread count the run asks for: LINFORMER_TEST_THREADS, or 1. */
export function requestedThreads(): number {
  const t = process.env.LINFORMER_TEST_THREADS;
  if (t === undefined || t === '') return 1;
  if (!/^[1-9][0-9]*$/.test(t)) throw new Error(`LINFORMER_TEST_THREADS: expected a positive integer, got '${t}'`);
  return Number(t);
}

export async function initForTests(): Promise<void> {
  const want = requestedBuild();
  const numThreads = requestedThreads();
  await init(undefined, { numThreads, ...(want === 'simd' ? { relaxedSimd: false } : {}) });
  const info = backendInfo();
  if (want !== undefined && info.build !== want) {
    throw new Error(`LINFORMER_TEST_BUILD=${want}, but init() chose the ${info.build} build on this engine`);
  }
  if (info.threads !== numThreads) {
    throw new Error(`LINFORMER_TEST_THREADS=${numThreads}, but ${info.threads} run: ${info.threadsUnavailable}`);
  }
}
