// The --browser page script (bundled by bench/build.mjs; 'linformer-wasm' and
// 'onnxruntime-web' come from the page's import map, the 2-thread pages'
// instances of the package from /pkg/ directly): one group's attention
// jobs, timed as the Node worker times them (lib/attention.ts). Each
// engine's output goes back to the server, which answers with its file.
import { timeAttention } from '../lib/attention.js';
import { setPackageInstances, type Package } from '../lib/contenders.js';
import { setCpuClock } from '../lib/timing.js';
import type { BrowserPageJob, BrowserPageResult } from '../lib/protocol.js';

// The 2-thread pages run the package at 1 and 2 threads side by side: two
// instances of its browser build (one bundle, its wasm and worker beside it),
// each from its own URL, so each is a module with loader state of its own.
const browserBuild = new URL('/pkg/index.browser.js', location.href).href;
setPackageInstances((instance) => import(`${browserBuild}?instance=${encodeURIComponent(instance)}`) as Promise<Package>);

const page = globalThis as typeof globalThis & {
  runBench?: (job: BrowserPageJob) => Promise<BrowserPageResult>;
  /** Exposed by the harness (session.ts). */
  benchProgress?: (text: string) => void;
  /** Exposed by the harness: this page's renderer's CPU milliseconds, every thread (null where they cannot be read). */
  benchCpuMs?: () => Promise<number | null>;
};

// The settle waits after threaded engines' runs watch the renderer's CPU time, as Node's watch the process's.
if (page.benchCpuMs) setCpuClock({ how: 'renderer', read: () => page.benchCpuMs!() });

let lastProgress = 0;
function progress(text: string): void {
  // at most a few updates a second: the harness only shows the latest
  const now = performance.now();
  if (now - lastProgress < 100) return;
  lastProgress = now;
  void page.benchProgress?.(text);
}

async function save(name: string, output: Float32Array): Promise<string> {
  // a copy: an output over a shared memory cannot be a request body
  const r = await fetch(`/out/${name}`, { method: 'POST', body: new Float32Array(output) });
  if (!r.ok) throw new Error(`sending the output ${name}: HTTP ${r.status}`);
  return r.text();
}

page.runBench = async (job) => {
  const result: BrowserPageResult = { type: 'browser', group: job.group, crossOriginIsolated, userAgent: navigator.userAgent, attention: [] };
  // not isolated, there is no SharedArrayBuffer and no threads to measure: the harness fails the page
  if (!crossOriginIsolated) return result;
  for (const { shape, kind } of job.attention) {
    const run = await timeAttention({ group: job.group, shape, kind, timing: job.timing, progress: (t) => progress(`${shape.name} · ${kind} · ${t}`), save });
    result.attention.push(run.result);
  }
  return result;
};
