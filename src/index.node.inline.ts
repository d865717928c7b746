// Node.js entry with the wasm builds inlined ('linformer-wasm/inline' under
// the node condition): nothing to read, and threads through worker_threads.
import simd from '../build/linformer.wasm';
import relaxed from '../build/linformer-relaxed.wasm';
import simdThreads from '../build/linformer-threads.wasm';
import relaxedThreads from '../build/linformer-relaxed-threads.wasm';
import { setPlatform } from './core/loader.js';
import { nodePlatform } from './node-platform.js';

setPlatform(nodePlatform({ simd, relaxed, simdThreads, relaxedThreads }));

export * from './index.js';
