// How the browser and worker entries read init(url): with fetch, the only
// I/O those runtimes share.
import { fetchFailure } from './core/loader.js';

export async function fetchBytes(source: URL | string): Promise<ArrayBuffer> {
  const response = await fetch(source);
  if (!response.ok) {
    // A 404 here is almost always a bundle served without the wasm files beside it.
    const hint =
      response.status === 404
        ? ": serve linformer.wasm and linformer-relaxed.wasm (node_modules/linformer-wasm/dist/) at that URL, pass init() their URLs, or import 'linformer-wasm/inline', which carries them inside"
        : '';
    throw fetchFailure(`linformer-wasm: fetching ${String(source)} failed: HTTP ${response.status}${hint}`, `HTTP ${response.status}`);
  }
  return response.arrayBuffer();
}
