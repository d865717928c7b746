// The module Web Worker of browsers: dist/linformer-worker.js, which the
// browser bundle starts with new Worker(new URL('./linformer-worker.js',
// import.meta.url), { type: 'module' }) and the inline bundle from a blob.
import { runWorker, type WorkerStart } from './worker-loop.js';

declare const self: {
  onmessage: ((e: { data: WorkerStart }) => void) | null;
  postMessage(message: unknown): void;
  close(): void;
};

self.onmessage = (e) => {
  self.onmessage = null;
  runWorker(e.data, { reply: (r) => self.postMessage(r), crash: () => self.close() });
};
