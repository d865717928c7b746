// onnxruntime-web (wasm execution provider) engines for the benchmark.
//
// In Node, `import * as ort from 'onnxruntime-web'` resolves (package "exports",
// condition "node") to dist/ort.node.min.mjs, which runs the wasm backend and loads
// ort-wasm-simd-threaded.{mjs,wasm} from its own dist folder with fs — no
// wasmPaths or fetch needed. numThreads = 2 works in Node 20 (it spawns
// worker_threads over a shared memory). numThreads is global and is read once,
// when the wasm backend is first initialised: the first session created in a
// process fixes it, later values are ignored (run 1- and 2-thread figures in
// separate processes).
import * as ort from 'onnxruntime-web';
import { buildAttentionOnnx, buildMatmulOnnx, type AttentionGraphOptions } from '../graphs/attention-onnx.js';

/** The graph's options, plus ORT's thread count. */
export interface OrtAttentionOptions extends AttentionGraphOptions {
  threads: 1 | 2;
  /** See AttentionGraphOptions.linformerOrder; default 'spec'. */
  linformerOrder?: 'spec' | 'project-first';
  inputRank?: 2 | 3;
}

export interface OrtAttention {
  run(x: Float32Array): Promise<Float32Array>;
  dispose(): Promise<void>;
  /** the serialised model, for inspection. */
  model: Uint8Array;
}

let configuredThreads: number | undefined;

/** Sets ORT's global wasm flags; numThreads only takes effect before the first session. */
export function configureOrt(threads: 1 | 2): void {
  if (configuredThreads !== undefined && configuredThreads !== threads)
    throw new Error(`onnxruntime-web already initialised with ${configuredThreads} thread(s); ${threads} needs a new process`);
  configuredThreads = threads;
  ort.env.wasm.numThreads = threads;
  ort.env.wasm.proxy = false;
  ort.env.logLevel = 'error';
}

async function session(model: Uint8Array, threads: 1 | 2): Promise<ort.InferenceSession> {
  configureOrt(threads);
  return ort.InferenceSession.create(model, {
    executionProviders: ['wasm'],
    graphOptimizationLevel: 'all',
    enableCpuMemArena: true,
    enableMemPattern: true,
    executionMode: 'sequential',
  });
}

export async function createOrtAttention(opts: OrtAttentionOptions): Promise<OrtAttention> {
  const model = buildAttentionOnnx({ ...opts });
  const s = await session(model, opts.threads);
  const E = opts.embedDim;
  const dims = (opts.inputRank ?? 3) === 3 ? [opts.L, 1, E] : [opts.L, E];
  const n = opts.L * E;
  return {
    model,
    async run(x: Float32Array): Promise<Float32Array> {
      if (x.length !== n) throw new Error(`x has ${x.length} values, expected ${n}`);
      const out = await s.run({ x: new ort.Tensor('float32', x, dims) });
      return out.y.data as Float32Array;
    },
    async dispose() {
      await s.release();
    },
  };
}

export interface OrtMatmul {
  run(a: Float32Array): Promise<Float32Array>;
  dispose(): Promise<void>;
}

/** C (M,N) = A (M,K) · B (K,N); B is an initializer (random unless given). */
export async function createOrtMatmul(M: number, K: number, N: number, threads: 1 | 2 = 1, b?: Float32Array): Promise<OrtMatmul> {
  const B = b ?? Float32Array.from({ length: K * N }, () => Math.random() * 2 - 1);
  if (B.length !== K * N) throw new Error(`b has ${B.length} values, expected ${K * N}`);
  const s = await session(buildMatmulOnnx(M, K, N, B), threads);
  return {
    async run(a: Float32Array): Promise<Float32Array> {
      const out = await s.run({ a: new ort.Tensor('float32', a, [M, K]) });
      return out.c.data as Float32Array;
    },
    async dispose() {
      await s.release();
    },
  };
}
