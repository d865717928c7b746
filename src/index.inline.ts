// Browser entry with both wasm builds inlined (esbuild's binary loader): one
// file to serve, and init() with no argument fetches nothing.
import simd from '../build/linformer.wasm';
import relaxed from '../build/linformer-relaxed.wasm';
import { setPlatform } from './core/loader.js';
import { fetchBytes } from './fetch-bytes.js';

setPlatform({
  defaultBuilds: () => ({ simd, relaxed }),
  fetchBytes,
});

export * from './index.js';
