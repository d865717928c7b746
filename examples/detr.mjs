// The encoder self-attention of a Linear-DETR: a 25×34 backbone feature map
// flattened to 850 positions of 256 features, 8 heads, Linformer with k = 64,
// beside standard attention on the same weights. DETR adds positional
// embeddings to queries and keys, not to values. Timed on every core (up
// to 4 threads), then on one thread after stopThreads(): the same bits.
import { availableParallelism } from 'node:os';
import { init, backendInfo, LinearMultiheadAttention, MultiheadAttention, memoryUsage, ops, stopThreads } from 'linformer-wasm';

const H_MAP = 25, W_MAP = 34;
const L = H_MAP * W_MAP; // 850
const E = 256, HEADS = 8, K = 64;
const WARMUP_MS = 200;
const MEASURE_MS = 600;
const MIN_RUNS = 9;
/** Runs timed per figure, for the header. */
const runs = [];

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

/**
 * Median ms of fn: warmed up first for WARMUP_MS (the workers' code is
 * optimised by then, and the machine at speed), then timed for about
 * MEASURE_MS, at least MIN_RUNS runs.
 */
function time(fn) {
  for (const end = performance.now() + WARMUP_MS; performance.now() < end; ) fn();
  const ms = [];
  for (const end = performance.now() + MEASURE_MS; ms.length < MIN_RUNS || performance.now() < end; ) {
    const t = performance.now();
    fn();
    ms.push(performance.now() - t);
  }
  runs.push(ms.length);
  return median(ms);
}

const t0 = performance.now();
await init(undefined, { numThreads: Math.min(4, availableParallelism()) });
const initMs = performance.now() - t0;
const threads = backendInfo().threads;

const src = randn(L * E, 1);
const pos = randn(L * E, 2).map((x) => 0.1 * x);
const qk = { data: src.map((x, i) => x + pos[i]), dims: [L, 1, E] };
const value = { data: src, dims: [L, 1, E] };

const linformer = new LinearMultiheadAttention(E, HEADS, { seqLen: L, projK: K, paramSharing: 'layerwise', seed: 7 });
const standard = new MultiheadAttention(E, HEADS, { seed: 7 });
// The same in/out projections in both, so the two differ only in attention.
const shared = linformer.stateDict();
standard.loadStateDict(Object.fromEntries(Object.keys(standard.stateDict()).map((k) => [k, shared[k]])));

const M = 512;
const a = { data: randn(M * M, 3), dims: [M, M] };
const b = { data: randn(M * M, 4), dims: [M, M] };
const opts = { needWeights: false };
/** Median ms of Linformer, standard attention and ops.matmul (copies in and out included), and their outputs. */
function run() {
  const out = {};
  const ms = {
    linformer: time(() => (out.linformer = linformer.forward(qk, qk, value, opts).output)),
    standard: time(() => (out.standard = standard.forward(qk, qk, value, opts).output)),
    matmul: time(() => (out.matmul = ops.matmul(a, b))),
  };
  return { ms, out };
}
const many = run();
stopThreads();
const one = run();
const sameBits = Object.keys(one.out).every((k) => Buffer.compare(Buffer.from(one.out[k].data.buffer), Buffer.from(many.out[k].data.buffer)) === 0);

const fmt = (d) => `(${d.join(', ')})`;
const cols = (k, digits = 2) => `${many.ms[k].toFixed(digits).padStart(8)} ms ${one.ms[k].toFixed(digits).padStart(8)} ms`;
console.log(`linformer-wasm: DETR encoder self-attention, ${H_MAP}×${W_MAP} feature map → L = S = ${L}, E = ${E}, ${HEADS} heads`);
console.log(`wasm build: ${backendInfo().build}, init ${initMs.toFixed(1)} ms, medians of ${Math.min(...runs)}–${Math.max(...runs)} runs after ${WARMUP_MS} ms of warm-up`);
console.log(`                                   ${`${threads} thread${threads > 1 ? 's' : ''}`.padStart(9)}    1 thread`);
console.log(`  Linformer (k = ${K}, layerwise) ${cols('linformer')}   output ${fmt(many.out.linformer.dims)}`);
console.log(`  standard attention             ${cols('standard')}   output ${fmt(many.out.standard.dims)}`);
console.log(`  ops.matmul ${M}×${M}×${M}          ${cols('matmul')}   ${((2 * M ** 3) / many.ms.matmul / 1e6).toFixed(1)} GFLOP/s on ${threads}`);
console.log(`  Linformer is ${(many.ms.standard / many.ms.linformer).toFixed(2)}× faster than standard attention; ${threads} threads are ${(one.ms.linformer / many.ms.linformer).toFixed(2)}× faster than 1 at Linformer`);
console.log(`  the same bits on ${threads} threads and on 1: ${sameBits ? 'yes' : 'NO'}; wasm memory ${(memoryUsage().wasmBytes / 2 ** 20).toFixed(1)} MiB`);
if (threads === 1) console.log(`  (one thread only: ${backendInfo().threadsUnavailable ?? 'this machine has one core'})`);
linformer.dispose();
standard.dispose();
if (!sameBits) process.exitCode = 1;
