// Node.js entry (ESM and CommonJS): init() with no argument reads the wasm
// files that sit beside this bundle.
import { readFile } from 'node:fs/promises';
import { setPlatform } from './core/loader.js';

const here = import.meta.url;

setPlatform({
  defaultBuilds: () => ({
    simd: new URL('./linformer.wasm', here),
    relaxed: new URL('./linformer-relaxed.wasm', here),
  }),
  async fetchBytes(source) {
    const url = source instanceof URL ? source : /^(file|https?|data):/i.test(source) ? new URL(source) : null;
    if (url === null || url.protocol === 'file:') return readFile(url ?? source);
    const response = await fetch(url);
    if (!response.ok) throw new Error(`linformer-wasm: fetching ${url} failed: HTTP ${response.status}`);
    return response.arrayBuffer();
  },
});

export * from './index.js';
