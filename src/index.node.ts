// Node.js entry (ESM and CommonJS): init() with no argument reads the wasm
// files that sit beside this file, or beside the bundle it was bundled into.
import { readFile } from 'node:fs/promises';
import * as os from 'node:os';
import { dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { fetchFailure, setPlatform } from './core/loader.js';
import type { WorkerLike } from './threads/pool.js';

/** The worker (threads/worker.node.ts) as one script, put here by scripts/build.mjs. */
declare const __LINFORMER_NODE_WORKER__: string;

// This file's URL. A bundler that turns this ES module into CommonJS (esbuild
// --format=cjs takes the "module" condition too) leaves import.meta empty;
// there the bundle's own __filename says where it is.
const here: string = import.meta.url ?? pathToFileURL(__filename).href;

const defaultBuilds = {
  simd: new URL('./linformer.wasm', here),
  relaxed: new URL('./linformer-relaxed.wasm', here),
  simdThreads: new URL('./linformer-threads.wasm', here),
  relaxedThreads: new URL('./linformer-relaxed-threads.wasm', here),
};
const DEFAULT_FILES = new Set(Object.values(defaultBuilds).map((u) => u.href));

setPlatform({
  defaultBuilds: () => defaultBuilds,
  async fetchBytes(source) {
    const url = source instanceof URL ? source : /^(file|https?|data):/i.test(source) ? new URL(source) : null;
    if (url === null || url.protocol === 'file:') return readWasmFile(url ?? source);
    const response = await fetch(url);
    if (!response.ok) throw fetchFailure(`linformer-wasm: fetching ${url} failed: HTTP ${response.status}`, `HTTP ${response.status}`);
    return response.arrayBuffer();
  },
  threadSupport: () => (typeof SharedArrayBuffer === 'undefined' ? 'this runtime has no SharedArrayBuffer' : null),
  spawnWorker,
  cores: () => (typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length),
});

/** A worker_threads worker running the bundled worker script (Node, Bun, Deno). */
function spawnWorker(): WorkerLike {
  const w = new Worker(__LINFORMER_NODE_WORKER__, { eval: true });
  return {
    postMessage: (m) => w.postMessage(m),
    terminate: () => void w.terminate(),
    listen(onMessage, onError) {
      w.on('message', onMessage);
      w.on('error', (e) => onError(e.message));
      w.on('exit', (code) => onError(`it exited with code ${code}`));
    },
    unref: () => w.unref(),
  };
}

async function readWasmFile(file: URL | string): Promise<Uint8Array> {
  try {
    return await readFile(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    const path = file instanceof URL ? fileURLToPath(file) : file;
    const isDefault = file instanceof URL && DEFAULT_FILES.has(file.href);
    if (!isDefault) throw fetchFailure(`linformer-wasm: ${path} does not exist`, 'file not found', e);
    // Bundling this entry into one file (a serverless function) moves
    // import.meta.url to the bundle, and the wasm files stay behind.
    throw fetchFailure(
      `linformer-wasm: ${path} does not exist. init() reads the wasm beside the code that imports it; ` +
        `if linformer-wasm was bundled into one file, copy the four linformer*.wasm files ` +
        `from node_modules/linformer-wasm/dist/ into ${dirname(path)}, ` +
        `or import 'linformer-wasm/inline', which carries the wasm inside`,
      'file not found',
      e,
    );
  }
}

export * from './index.js';
