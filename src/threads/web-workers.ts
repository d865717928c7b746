// Module Web Workers, for the browser entries: whether this page may run
// them over shared memory, and the pool's view of one.
import type { WorkerLike } from './pool.js';

/** Why this page or runtime cannot run threads, or null. */
export function webThreadSupport(): string | null {
  if (typeof Worker === 'undefined') return 'this runtime has no Worker';
  // Pages say whether they are isolated; runtimes that are not pages (Deno, Bun) leave it undefined.
  const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated;
  if (typeof SharedArrayBuffer === 'undefined' || isolated === false) {
    return 'page not cross-origin isolated: serve it with COOP/COEP headers (Cross-Origin-Opener-Policy: same-origin, Cross-Origin-Embedder-Policy: require-corp)';
  }
  // Outside a page, a worker that sleeps would keep the program from ending unless it can be unref'd (Bun's can, Deno's cannot).
  if (isolated === undefined && typeof (Worker.prototype as { unref?: unknown }).unref !== 'function') {
    return "this runtime's Web Workers would keep the program from ending: import 'linformer-wasm' instead, whose worker_threads workers do not";
  }
  return null;
}

/** `script` names the worker's file for messages: the error event of a missing one names nothing. */
export function webWorker(w: Worker, script: string): WorkerLike {
  return {
    postMessage: (m) => w.postMessage(m),
    terminate: () => w.terminate(),
    listen(onMessage, onError) {
      w.onmessage = (e) => onMessage(e.data);
      w.onerror = (e) => {
        e.preventDefault();
        // A script that is missing or refused (CSP) gives an event with no message.
        onError(e.message || `the worker script could not be loaded (${script})`);
      };
      w.onmessageerror = () => onError('a message to the worker could not be read');
    },
    unref: typeof (w as { unref?: unknown }).unref === 'function' ? () => (w as unknown as { unref(): void }).unref() : undefined,
  };
}

export function webCores(): number {
  return (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 1;
}
