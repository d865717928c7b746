// Node.js entry (ESM and CommonJS): init() with no argument reads the wasm
// files that sit beside this file, or beside the bundle it was bundled into.
import { pathToFileURL } from 'node:url';
import { setPlatform } from './core/loader.js';
import { nodePlatform } from './node-platform.js';

// This file's URL. A bundler that turns this ES module into CommonJS (esbuild
// --format=cjs takes the "module" condition too) leaves import.meta empty;
// there the bundle's own __filename says where it is.
const here: string = import.meta.url ?? pathToFileURL(__filename).href;

setPlatform(
  nodePlatform({
    simd: new URL('./linformer.wasm', here),
    relaxed: new URL('./linformer-relaxed.wasm', here),
    simdThreads: new URL('./linformer-threads.wasm', here),
    relaxedThreads: new URL('./linformer-relaxed-threads.wasm', here),
  }),
);

export * from './index.js';
