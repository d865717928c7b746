// Soak: many forward calls and create/dispose cycles over alternating shapes,
// with the package's wasm memory and the process's RSS sampled as it goes.
//
//   node scripts/soak.mjs [--calls N] [--cycles N] [--seed S] [--threads T]   (defaults 100 000, 10 000, 1, 1)
//
// Forward calls go to a fixed set of modules (both kinds, every Linformer
// sharing mode, a layerwise shareWith stack), each call with another shape,
// batch layout, masks and weights option. A cycle creates modules (with
// loaded weights or their own initialisation; now and then a shareWith stack
// disposed in a random order), calls them once and disposes them; after every
// cycle the wasm memory in use must be back where it was. Every 5% of the
// work, a sample: memoryUsage() and process.memoryUsage() after a GC.
//
// Verdict, flat after warm-up (the first 20% of the samples):
//   - wasm memory: the remaining samples of memoryUsage().wasmBytes and of
//     allocatedBytes lie within 5% of each other;
//   - RSS: it grows by less than 32 MiB from the end of the warm-up to the end;
//   - every cycle gives its wasm allocations back, and a fixed probe call
//     answers bit for bit as it did at the start.
// Exits 1 when a check fails. Needs dist/ (node scripts/build.mjs); the wasm
// build is init()'s choice, or the plain one with LINFORMER_TEST_BUILD=simd.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { integerOption } from './lib/options.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

// RSS needs a collected JS heap to mean anything: rerun with --expose-gc
if (typeof globalThis.gc !== 'function') {
  const r = spawnSync(process.execPath, [...process.execArgv, '--expose-gc', fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}

const args = process.argv.slice(2);
const option = (name, fallback) => integerOption(args, name, fallback);
const CALLS = option('calls', 100_000);
const CYCLES = option('cycles', 10_000);
const SEED = option('seed', 1);
// With T > 1 every call runs on the worker pool, which must not leak either.
const THREADS = Math.max(1, option('threads', 1));
const SAMPLES = 20;
const WARMUP = 0.2;
const WASM_SPREAD = 0.05;
const RSS_GROWTH_MIB = 32;

if (!existsSync(path.join(root, 'dist/index.node.js'))) {
  console.error('soak: dist/ is missing; run `node scripts/build.mjs` first');
  process.exit(2);
}
// the test data generator (tests/helpers/rng.ts), compiled when its build is missing or older
const rngSource = path.join(root, 'tests/helpers/rng.ts');
const rngBuilt = path.join(root, 'build/tests/helpers/rng.js');
if (!existsSync(rngBuilt) || statSync(rngBuilt).mtimeMs < statSync(rngSource).mtimeMs) {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  spawnSync(process.execPath, [tsc, '-p', 'tests/tsconfig.json'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
}
const { Rng, randn, randomStateDict, boolMask, floatMask } = await import(pathToFileURL(rngBuilt).href);
const lw = await import('linformer-wasm');
await lw.init(undefined, { numThreads: THREADS, ...(process.env.LINFORMER_TEST_BUILD === 'simd' ? { relaxedSimd: false } : {}) });
if (lw.backendInfo().threads !== THREADS) throw new Error(`--threads ${THREADS}: ${lw.backendInfo().threads} run (${lw.backendInfo().threadsUnavailable})`);
const { LinearMultiheadAttention, MultiheadAttention, memoryUsage } = lw;

const rng = new Rng(SEED);
const MiB = 2 ** 20;

// ---------------------------------------------------------------- the modules forward calls go to

/** Module configs: torch option names, plus whether weights are loaded (else the module's own). */
const MODULES = [
  { linformer: false, E: 64, H: 4, options: {}, load: true },
  { linformer: false, E: 48, H: 3, options: { batchFirst: true, kdim: 20, vdim: 36, addBiasKV: true, addZeroAttn: true }, load: true },
  { linformer: false, E: 12, H: 4, options: { bias: false }, load: false },
  { linformer: true, E: 64, H: 4, options: { seqLen: 160, projK: 32 }, load: true },
  { linformer: true, E: 48, H: 6, options: { seqLen: 160, projK: 16, paramSharing: 'kv', addZeroAttn: true }, load: true },
  { linformer: true, E: 32, H: 4, options: { seqLen: 160, projK: 24, paramSharing: 'per-head', batchFirst: true }, load: false },
];
/** Source lengths the calls take in turn (≤ seqLen − 1 for bias_k). */
const LENGTHS = [8, 33, 64, 17, 128, 1, 100, 150];

function cfgOf(m) {
  return { embedDim: m.E, numHeads: m.H, ...m.options };
}

function build(m, extra = {}) {
  const Ctor = m.linformer ? LinearMultiheadAttention : MultiheadAttention;
  const module = new Ctor(m.E, m.H, { ...m.options, ...extra, seed: rng.int(0, 1000) });
  if (m.load) module.loadStateDict(randomStateDict(rng, { ...cfgOf(m), sharesE: extra.shareWith !== undefined }, m.linformer));
  return module;
}

const held = MODULES.map((m) => ({ spec: m, module: build(m) }));
// a layerwise stack: an owner and two sharers, one of them a sharer of a sharer
const stackSpec = { linformer: true, E: 32, H: 2, options: { seqLen: 160, projK: 16, paramSharing: 'layerwise' }, load: true };
const owner = build(stackSpec);
const sharer1 = build({ ...stackSpec, options: { ...stackSpec.options, addBiasKV: true } }, { shareWith: owner });
const sharer2 = build(stackSpec, { shareWith: sharer1 });
held.push({ spec: stackSpec, module: owner }, { spec: { ...stackSpec, options: { ...stackSpec.options, addBiasKV: true } }, module: sharer1 }, { spec: stackSpec, module: sharer2 });

/** One forward call of module `h` with the i-th shape, layout and options. */
function forwardOnce(h, i, rngFor = rng) {
  const { spec, module } = h;
  const S = LENGTHS[i % LENGTHS.length];
  const L = LENGTHS[(i * 3 + 1) % LENGTHS.length];
  const unbatched = i % 7 === 3;
  const N = unbatched ? 1 : 1 + (i % 3);
  const batchFirst = spec.options.batchFirst === true;
  const shape = (rows, f) => (unbatched ? [rows, f] : batchFirst ? [N, rows, f] : [rows, N, f]);
  const E = spec.E;
  const query = randn(rngFor, shape(L, E));
  const key = randn(rngFor, shape(S, spec.options.kdim ?? E));
  const value = i % 5 === 0 && spec.options.kdim === spec.options.vdim ? key : randn(rngFor, shape(S, spec.options.vdim ?? E));
  const options = { needWeights: i % 4 !== 0, averageAttnWeights: i % 3 !== 0 };
  if (i % 6 === 1) options.keyPaddingMask = spec.linformer || i % 12 === 1 ? boolMask(rngFor, unbatched ? [S] : [N, S], 0.3) : floatMask(rngFor, unbatched ? [S] : [N, S], 0.3);
  if (i % 6 === 4) {
    const width = spec.linformer ? spec.options.projK : S;
    options.attnMask = boolMask(rngFor, [L, width], 0.2);
  }
  return module.forward(query, key, value, options);
}

// ---------------------------------------------------------------- create/dispose cycles

/** One cycle: modules made, called once, disposed (a stack in a random order). */
function cycle(i) {
  const kind = i % 4;
  if (kind === 3) {
    const base = { linformer: true, E: 16 + 8 * (i % 3), H: 2, options: { seqLen: 160, projK: 8 + (i % 5), paramSharing: 'layerwise' }, load: i % 2 === 0 };
    const stack = [build(base)];
    const size = 2 + (i % 2);
    while (stack.length < size) stack.push(build(base, { shareWith: stack[rng.int(0, stack.length - 1)] }));
    for (const m of stack) forwardOnce({ spec: base, module: m }, i);
    const order = stack.map((m) => [rng.uniform(), m]).sort((a, b) => a[0] - b[0]);
    for (const [, m] of order) m.dispose();
    return;
  }
  const spec = MODULES[i % MODULES.length];
  const made = { ...spec, E: spec.E, load: i % 2 === 0 };
  const m = build(made);
  forwardOnce({ spec: made, module: m }, i);
  m.dispose();
}

// ---------------------------------------------------------------- the run

function sample(label, calls, cycles, t0) {
  globalThis.gc();
  globalThis.gc();
  const w = memoryUsage();
  const p = process.memoryUsage();
  return { label, calls, cycles, wasmBytes: w.wasmBytes, allocatedBytes: w.allocatedBytes, scratchBytes: w.scratchBytes, rss: p.rss, heapUsed: p.heapUsed, external: p.external, seconds: (performance.now() - t0) / 1000 };
}

const probe = held[3];
const probeRng = () => new Rng(999);
const probeBefore = forwardOnce(probe, 5, probeRng()).output.data;

console.log(`soak: ${CALLS} forward calls and ${CYCLES} create/dispose cycles over ${held.length} modules and ${LENGTHS.length} lengths, ${lw.backendInfo().build} build, node ${process.version}`);
const t0 = performance.now();
const samples = [sample('start', 0, 0, t0)];
let calls = 0;
let cycles = 0;
let cycleLeaks = 0;
let firstLeak = null;
for (let s = 1; s <= SAMPLES; s++) {
  const [callsFrom, cyclesFrom] = [calls, cycles];
  const callsUntil = Math.round((CALLS * s) / SAMPLES);
  const cyclesUntil = Math.round((CYCLES * s) / SAMPLES);
  // calls and cycles interleaved evenly within each twentieth of the work
  const done = (n, from, until) => (until > from ? (n - from) / (until - from) : 1);
  while (calls < callsUntil || cycles < cyclesUntil) {
    if (calls < callsUntil && (cycles >= cyclesUntil || done(calls, callsFrom, callsUntil) <= done(cycles, cyclesFrom, cyclesUntil))) {
      forwardOnce(held[calls % held.length], calls);
      calls++;
    } else {
      const before = memoryUsage().allocatedBytes;
      cycle(cycles);
      const after = memoryUsage().allocatedBytes;
      if (after !== before) {
        cycleLeaks++;
        firstLeak ??= `cycle ${cycles}: allocatedBytes ${before} → ${after}`;
      }
      cycles++;
    }
  }
  samples.push(sample(`${(s * 100) / SAMPLES}%`, calls, cycles, t0));
}
const probeAfter = forwardOnce(probe, 5, probeRng()).output.data;
const probeSame = probeBefore.length === probeAfter.length && probeBefore.every((x, i) => Object.is(x, probeAfter[i]));

// ---------------------------------------------------------------- the table and the verdict

const mib = (b) => (b / MiB).toFixed(2);
const rows = [['progress', 'forward calls', 'cycles', 'wasm memory MiB', 'allocated MiB', 'scratch MiB', 'RSS MiB', 'JS heap MiB', 'external MiB', 'seconds']];
for (const x of samples) rows.push([x.label, String(x.calls), String(x.cycles), mib(x.wasmBytes), mib(x.allocatedBytes), mib(x.scratchBytes), mib(x.rss), mib(x.heapUsed), mib(x.external), x.seconds.toFixed(1)]);
const width = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
const line = (r) => `| ${r.map((c, i) => c.padStart(width[i])).join(' | ')} |`;
console.log([line(rows[0]), `| ${width.map((w) => '-'.repeat(w - 1) + ':').join(' | ')} |`, ...rows.slice(1).map(line)].join('\n'));

const steady = samples.slice(1 + Math.round(SAMPLES * WARMUP));
const spread = (key) => {
  const v = steady.map((x) => x[key]);
  return Math.max(...v) / Math.min(...v) - 1;
};
const wasmSpread = spread('wasmBytes');
const allocatedSpread = spread('allocatedBytes');
const rssGrowth = (steady[steady.length - 1].rss - steady[0].rss) / MiB;
const checks = [
  [`wasm memory flat after warm-up: spread ${(wasmSpread * 100).toFixed(2)}% ≤ ${WASM_SPREAD * 100}%`, wasmSpread <= WASM_SPREAD],
  [`wasm allocations flat after warm-up: spread ${(allocatedSpread * 100).toFixed(2)}% ≤ ${WASM_SPREAD * 100}%`, allocatedSpread <= WASM_SPREAD],
  [`RSS growth after warm-up ${rssGrowth.toFixed(1)} MiB < ${RSS_GROWTH_MIB} MiB`, rssGrowth < RSS_GROWTH_MIB],
  [`every cycle gave its wasm memory back (${cycleLeaks} of ${cycles} did not${firstLeak ? `; first: ${firstLeak}` : ''})`, cycleLeaks === 0],
  ['the probe call answers bit for bit as at the start', probeSame],
];
console.log('');
for (const [text, ok] of checks) console.log(`${ok ? '✓' : '✗'} ${text}`);
const flat = checks.every(([, ok]) => ok);
console.log(`\nsoak: ${flat ? 'flat' : 'NOT flat'} (${calls} calls, ${cycles} cycles in ${((performance.now() - t0) / 1000).toFixed(1)} s)`);
for (const h of held.reverse()) h.module.dispose();
process.exit(flat ? 0 : 1);
