// Browser and edge-worker entry: init() with no argument fetches the wasm
// beside this bundle. It imports no Node module and never guesses the
// runtime; edge workers pass init({ simd, relaxed }) with the
// WebAssembly.Modules their bundler imported.
import { setPlatform } from './core/loader.js';
import { fetchBytes } from './fetch-bytes.js';

setPlatform({
  defaultBuilds: () => ({
    simd: new URL('./linformer.wasm', import.meta.url),
    relaxed: new URL('./linformer-relaxed.wasm', import.meta.url),
  }),
  fetchBytes,
});

export * from './index.js';
