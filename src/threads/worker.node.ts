// The worker of Node.js, Bun and Deno (worker_threads): it is bundled into
// a string that the Node entry starts with `eval: true`, so that a bundled
// or relocated package carries its worker with it.
import { parentPort } from 'node:worker_threads';
import { runWorker, type WorkerStart } from './worker-loop.js';

parentPort!.once('message', (start: WorkerStart) => {
  runWorker(start, {
    reply: (r) => parentPort!.postMessage(r),
    // process.exit in a worker ends that worker thread only.
    crash: () => process.exit(1),
  });
});
