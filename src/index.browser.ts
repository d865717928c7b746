// Browser and edge-worker entry: init() with no argument fetches the wasm
// beside this bundle. It imports no Node module and never guesses the
// runtime; edge workers pass init(module) with a WebAssembly.Module.
import { setPlatform } from './core/loader.js';

setPlatform({
  defaultBuilds: () => ({
    simd: new URL('./linformer.wasm', import.meta.url),
    relaxed: new URL('./linformer-relaxed.wasm', import.meta.url),
  }),
  async fetchBytes(source) {
    const response = await fetch(source);
    if (!response.ok) throw new Error(`linformer-wasm: fetching ${String(source)} failed: HTTP ${response.status}`);
    return response.arrayBuffer();
  },
});

export * from './index.js';
