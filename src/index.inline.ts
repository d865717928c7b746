// Browser entry with the wasm builds and the worker inlined (esbuild's binary loader): one
// file to serve, and init() with no argument fetches nothing.
import simd from '../build/linformer.wasm';
import relaxed from '../build/linformer-relaxed.wasm';
import simdThreads from '../build/linformer-threads.wasm';
import relaxedThreads from '../build/linformer-relaxed-threads.wasm';
import { setPlatform } from './core/loader.js';
import { fetchBytes } from './fetch-bytes.js';
import { webCores, webThreadSupport, webWorker } from './threads/web-workers.js';

/** dist/linformer-worker.js's source, put here by scripts/build.mjs. */
declare const __LINFORMER_WEB_WORKER__: string;

let workerUrl: string | null = null;

setPlatform({
  defaultBuilds: () => ({ simd, relaxed, simdThreads, relaxedThreads }),
  fetchBytes,
  threadSupport: webThreadSupport,
  spawnWorker() {
    // The worker travels inside this file too, started from a blob.
    workerUrl ??= URL.createObjectURL(new Blob([__LINFORMER_WEB_WORKER__], { type: 'text/javascript' }));
    return webWorker(new Worker(workerUrl, { type: 'module' }), 'the inlined worker, from a blob: URL (a Content-Security-Policy must allow worker-src blob:)');
  },
  cores: webCores,
});

export * from './index.js';
