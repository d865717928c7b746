// Node.js entry (ESM and CommonJS): init() with no argument reads the wasm
// files that sit beside this file, or beside the bundle it was bundled into.
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { fetchFailure, setPlatform } from './core/loader.js';

// This file's URL. A bundler that turns this ES module into CommonJS (esbuild
// --format=cjs takes the "module" condition too) leaves import.meta empty;
// there the bundle's own __filename says where it is.
const here: string = import.meta.url ?? pathToFileURL(__filename).href;

const defaultBuilds = {
  simd: new URL('./linformer.wasm', here),
  relaxed: new URL('./linformer-relaxed.wasm', here),
};

setPlatform({
  defaultBuilds: () => defaultBuilds,
  async fetchBytes(source) {
    const url = source instanceof URL ? source : /^(file|https?|data):/i.test(source) ? new URL(source) : null;
    if (url === null || url.protocol === 'file:') return readWasmFile(url ?? source);
    const response = await fetch(url);
    if (!response.ok) throw fetchFailure(`linformer-wasm: fetching ${url} failed: HTTP ${response.status}`, `HTTP ${response.status}`);
    return response.arrayBuffer();
  },
});

async function readWasmFile(file: URL | string): Promise<Uint8Array> {
  try {
    return await readFile(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    const path = file instanceof URL ? fileURLToPath(file) : file;
    const isDefault = file instanceof URL && (file.href === defaultBuilds.simd.href || file.href === defaultBuilds.relaxed.href);
    if (!isDefault) throw fetchFailure(`linformer-wasm: ${path} does not exist`, 'file not found', e);
    // Bundling this entry into one file (a serverless function) moves
    // import.meta.url to the bundle, and the wasm files stay behind.
    throw fetchFailure(
      `linformer-wasm: ${path} does not exist. init() reads the wasm beside the code that imports it; ` +
        `if linformer-wasm was bundled into one file, copy linformer.wasm and linformer-relaxed.wasm ` +
        `from node_modules/linformer-wasm/dist/ into ${dirname(path)}, ` +
        `or import 'linformer-wasm/inline', which carries the wasm inside`,
      'file not found',
      e,
    );
  }
}

export * from './index.js';
