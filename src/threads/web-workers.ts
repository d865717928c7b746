// Module Web Workers, for the browser entries: whether this page may run
// them over shared memory, and the pool's view of one.
import type { WorkerLike } from './pool.js';

/** Why this page or runtime cannot run threads, or null. */
export function webThreadSupport(): string | null {
  if (typeof Worker === 'undefined') return 'this runtime has no Worker';
  if (typeof SharedArrayBuffer === 'undefined' || (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated !== true) {
    return 'page not cross-origin isolated: serve it with COOP/COEP headers (Cross-Origin-Opener-Policy: same-origin, Cross-Origin-Embedder-Policy: require-corp)';
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
  };
}

export function webCores(): number {
  return (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 1;
}
