// TensorFlow.js wasm backend (XNNPACK) SGEMM engine, single-threaded.
//
// In Node, '@tensorflow/tfjs-backend-wasm' resolves to its CommonJS node bundle,
// whose emscripten loader reads the .wasm with fs when given a plain file-system
// path: setWasmPaths('<abs dir of dist>/') works (a directory prefix ending in '/';
// no file: URL, no fetch). In Node WASM_HAS_MULTITHREAD_SUPPORT is false, so the
// non-threaded tfjs-backend-wasm-simd.wasm is chosen: single thread.
import * as tf from '@tensorflow/tfjs-core';
import * as tfwasm from '@tensorflow/tfjs-backend-wasm';
import { createRequire } from 'node:module';
import path from 'node:path';

let ready: Promise<void> | undefined;

export function initTfjsWasm(): Promise<void> {
  ready ??= (async () => {
    const require = createRequire(import.meta.url);
    const dir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm'));
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    tfwasm.setWasmPaths(dir + path.sep);
    if (!(await tf.setBackend('wasm'))) throw new Error('tfjs: wasm backend failed to initialise');
    await tf.ready();
    if (!tf.env().getBool('WASM_HAS_SIMD_SUPPORT')) throw new Error('tfjs: wasm SIMD not detected');
  })();
  return ready;
}

export interface TfjsMatmul {
  run(a: Float32Array): Float32Array;
  dispose(): void;
}

/** C (M,N) = A (M,K) · B (K,N); B is a kept tensor. run() includes the upload of A and dataSync of C. */
export async function createTfjsMatmul(M: number, K: number, N: number, b?: Float32Array): Promise<TfjsMatmul> {
  await initTfjsWasm();
  const B = b ?? Float32Array.from({ length: K * N }, () => Math.random() * 2 - 1);
  if (B.length !== K * N) throw new Error(`b has ${B.length} values, expected ${K * N}`);
  const bt = tf.keep(tf.tensor2d(B, [K, N]));
  return {
    run(a: Float32Array): Float32Array {
      const at = tf.tensor2d(a, [M, K]);
      const ct = tf.matMul(at, bt);
      const out = ct.dataSync() as Float32Array;
      at.dispose();
      ct.dispose();
      return out;
    },
    dispose() {
      bt.dispose();
    },
  };
}
