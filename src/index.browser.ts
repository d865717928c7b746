// Browser and edge-worker entry: init() with no argument fetches the wasm
// beside this bundle. It imports no Node module and never guesses the
// runtime; edge workers pass init({ simd, relaxed }) with the
// WebAssembly.Modules their bundler imported.
import { setPlatform } from './core/loader.js';
import { fetchBytes } from './fetch-bytes.js';
import { webCores, webThreadSupport, webWorker } from './threads/web-workers.js';

setPlatform({
  defaultBuilds: () => ({
    simd: new URL('./linformer.wasm', import.meta.url),
    relaxed: new URL('./linformer-relaxed.wasm', import.meta.url),
    simdThreads: new URL('./linformer-threads.wasm', import.meta.url),
    relaxedThreads: new URL('./linformer-relaxed-threads.wasm', import.meta.url),
  }),
  fetchBytes,
  threadSupport: webThreadSupport,
  // Written out in full so that vite and webpack see the worker file and emit it.
  spawnWorker: () =>
    webWorker(
      new Worker(new URL('./linformer-worker.js', import.meta.url), { type: 'module' }),
      'linformer-worker.js, beside the bundle: serve it there (on a cross-origin isolated page, with the same COOP/COEP headers), or import linformer-wasm/inline',
    ),
  cores: webCores,
});

export * from './index.js';
