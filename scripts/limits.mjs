// The largest L = S each mode takes at E = 512 (8 heads, N = 1) before its
// buffers pass wasm32's 4 GiB: `node scripts/limits.mjs`. It measures the
// package itself, without computing anything: the fault switch of
// src/core/heap.ts makes the memory grow that a fitting call would need
// fail, while a call that cannot fit fails its size check first.
import { init, LinearMultiheadAttention, MultiheadAttention } from '../dist/index.node.js';

const FAULTS = Symbol.for('linformer-wasm.failAllocation');
const E = 512;
const H = 8;

await init();

/** 'fits' when the call got as far as growing the memory, 'too large' when its size check refused it. */
function tryCall(module, L, options) {
  const x = { dims: [L, 1, E], data: new Float32Array(L * E) };
  // Event 1 is the scratch allocation, event 2 the memory grow it needs.
  globalThis[FAULTS] = { at: 2 };
  try {
    module.forward(x, x, x, options);
    return 'fits';
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    if (/injected allocation failure/.test(e.message)) return 'fits';
    if (/4 GiB/.test(e.message)) return 'too large';
    throw e;
  } finally {
    delete globalThis[FAULTS];
  }
}

function largest(make, options) {
  let lo = 1;
  let hi = 1 << 21;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    const module = make(mid);
    try {
      if (tryCall(module, mid, options) === 'fits') lo = mid;
      else hi = mid;
    } finally {
      module.dispose();
    }
  }
  return lo;
}

const weights = [
  ['needWeights: false', { needWeights: false }],
  ['averaged weights', { needWeights: true }],
  ['per-head weights', { needWeights: true, averageAttnWeights: false }],
];
const modes = [
  ['standard', () => new MultiheadAttention(E, H, { seed: 1 })],
  ['Linformer, k = 128', (L) => new LinearMultiheadAttention(E, H, { seqLen: L, projK: 128, paramSharing: 'layerwise', seed: 1 })],
  ['Linformer, k = 256', (L) => new LinearMultiheadAttention(E, H, { seqLen: L, projK: 256, paramSharing: 'layerwise', seed: 1 })],
];

console.log(`| attention (E = ${E}, ${H} heads, N = 1) | ${weights.map(([w]) => w).join(' | ')} |`);
console.log(`| --- | ${weights.map(() => '---').join(' | ')} |`);
for (const [name, make] of modes) {
  const cells = weights.map(([, options]) => largest(make, options).toLocaleString('en-US'));
  console.log(`| ${name} | ${cells.join(' | ')} |`);
}
