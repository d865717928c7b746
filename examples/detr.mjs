// The encoder self-attention of a Linear-DETR: a 25×34 backbone feature map
// flattened to 850 positions of 256 features, 8 heads, Linformer with k = 64,
// beside standard attention on the same weights. DETR adds positional
// embeddings to queries and keys, not to values.
import { init, backendInfo, LinearMultiheadAttention, MultiheadAttention, memoryUsage, ops } from 'linformer-wasm';

const H_MAP = 25, W_MAP = 34;
const L = H_MAP * W_MAP; // 850
const E = 256, HEADS = 8, K = 64;
const RUNS = 9;

function randn(n, seed) {
  let s = seed >>> 0;
  const u = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) + 0.5) / 4294967296;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
  return out;
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

function time(fn) {
  fn(); // warm-up
  const ms = [];
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    fn();
    ms.push(performance.now() - t);
  }
  return median(ms);
}

const t0 = performance.now();
await init();
const initMs = performance.now() - t0;

const src = randn(L * E, 1);
const pos = randn(L * E, 2).map((x) => 0.1 * x);
const qk = { data: src.map((x, i) => x + pos[i]), dims: [L, 1, E] };
const value = { data: src, dims: [L, 1, E] };

const linformer = new LinearMultiheadAttention(E, HEADS, { seqLen: L, projK: K, paramSharing: 'layerwise', seed: 7 });
const standard = new MultiheadAttention(E, HEADS, { seed: 7 });
// The same in/out projections in both, so the two differ only in attention.
const shared = linformer.stateDict();
standard.loadStateDict(Object.fromEntries(Object.keys(standard.stateDict()).map((k) => [k, shared[k]])));

const opts = { needWeights: false };
let out;
const linMs = time(() => (out = linformer.forward(qk, qk, value, opts).output));
const linShape = out.dims;
const stdMs = time(() => (out = standard.forward(qk, qk, value, opts).output));
const stdShape = out.dims;

const fmt = (d) => `(${d.join(', ')})`;
console.log(`linformer-wasm: DETR encoder self-attention, ${H_MAP}×${W_MAP} feature map → L = S = ${L}, E = ${E}, ${HEADS} heads`);
console.log(`wasm build: ${backendInfo().build}, init ${initMs.toFixed(1)} ms, single thread, median of ${RUNS} runs`);
console.log(`  Linformer (k = ${K}, layerwise)   ${linMs.toFixed(2).padStart(8)} ms   output ${fmt(linShape)}`);
console.log(`  standard attention               ${stdMs.toFixed(2).padStart(8)} ms   output ${fmt(stdShape)}`);
console.log(`  Linformer is ${(stdMs / linMs).toFixed(2)}× faster; wasm memory ${(memoryUsage().wasmBytes / 2 ** 20).toFixed(1)} MiB`);

// The GEMM underneath, through ops.matmul (copies in and out included).
const M = 512;
const a = { data: randn(M * M, 3), dims: [M, M] };
const b = { data: randn(M * M, 4), dims: [M, M] };
const mmMs = time(() => ops.matmul(a, b));
console.log(`  ops.matmul ${M}×${M}×${M}          ${mmMs.toFixed(2).padStart(8)} ms   ${((2 * M ** 3) / mmMs / 1e6).toFixed(1)} GFLOP/s`);
linformer.dispose();
standard.dispose();
