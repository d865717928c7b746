// What the Node.js entries share (Node, Bun and Deno): reading wasm files
// or URLs, and worker_threads workers running the bundled worker script.
import { readFile } from 'node:fs/promises';
import * as os from 'node:os';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { fetchFailure, type Platform, type WasmBuilds } from './core/loader.js';
import type { WorkerLike } from './threads/pool.js';

/** The worker (threads/worker.node.ts) as one script, put here by scripts/build.mjs. */
declare const __LINFORMER_NODE_WORKER__: string;

/** The platform of a Node.js entry whose init() with no argument uses `defaultBuilds`. */
export function nodePlatform(defaultBuilds: WasmBuilds): Platform {
  const defaultFiles = new Set(Object.values(defaultBuilds).flatMap((b) => (b instanceof URL ? [b.href] : [])));
  return {
    defaultBuilds: () => defaultBuilds,
    async fetchBytes(source) {
      const url = source instanceof URL ? source : /^(file|https?|data):/i.test(source) ? new URL(source) : null;
      if (url === null || url.protocol === 'file:') return readWasmFile(url ?? source, defaultFiles);
      const response = await fetch(url);
      if (!response.ok) throw fetchFailure(`linformer-wasm: fetching ${url} failed: HTTP ${response.status}`, `HTTP ${response.status}`);
      return response.arrayBuffer();
    },
    threadSupport: () => (typeof SharedArrayBuffer === 'undefined' ? 'this runtime has no SharedArrayBuffer' : null),
    spawnWorker,
    cores: () => (typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length),
  };
}

/** A worker_threads worker running the bundled worker script. */
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

async function readWasmFile(file: URL | string, defaultFiles: ReadonlySet<string>): Promise<Uint8Array> {
  try {
    return await readFile(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    const path = file instanceof URL ? fileURLToPath(file) : file;
    const isDefault = file instanceof URL && defaultFiles.has(file.href);
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
