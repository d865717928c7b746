// Times the GEMM micro-kernel variants written by gen.mjs against the
// current kernel, in one process, on whichever node runs it:
//
//   node bench/gemm-variants/measure.mjs [--build plain|relaxed|both]
//        [--only 4x8,6x8] [--sizes 512x512x512,850x256x256] [--rounds 5]
//        [--passes 3] [--ms 20] [--clock cpu|wall] [--no-peak] [--json file]
//
// Every variant module (bench/.out/gemm-variants/<build>/<name>.wasm) is
// instantiated over one imported memory and fed the same A and packed B.
// First each is checked against "cur" (the repository's gemm_f32_4x8_simd)
// on edge shapes and on the timed shapes: the maximum abs and relative
// differences are printed, and a variant is dropped from the timing unless
// it is bit-identical in the plain build (every variant sums in cur's order)
// and within 1e-5 relative in the relaxed one. Then the variants run interleaved,
// round-robin (one sample of each per round, the starting variant rotated),
// `passes` times over all sizes, `rounds` rounds per size per pass. A sample
// is `reps` calls, reps chosen so that cur takes about `ms` milliseconds.
// Reported per variant and size: the median GFLOP/s over all samples, and the
// median of the per-round ratios (cur's time in that round / the variant's),
// with each pass's median ratio beside it to show whether it held.
// GFLOP/s counts 2·M·N·K over the process's CPU time (--clock cpu, the
// default), which leaves out the time spent waiting for a core on a shared
// machine; wall time is recorded in the JSON as well. The inputs are not
// rotated between calls (this compares tiles, not memory systems). Run it
// with --allow-natives-syntax to print each function's tier before timing.

import { readFileSync, mkdirSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import v8 from 'node:v8';
import os from 'node:os';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const outDir = path.join(root, 'bench/.out/gemm-variants');

// ---- arguments ----
const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : dflt;
};
const builds = (() => {
  const b = opt('build', 'both');
  return b === 'both' ? ['plain', 'relaxed'] : [b];
})();
const SIZES = opt('sizes', '512x512x512,850x256x256,4096x512x512,128x32x64,128x64x32')
  .split(',')
  .map((s) => s.split('x').map(Number))
  .map(([m, n, k]) => ({ m, n, k }));
const ROUNDS = Number(opt('rounds', 5));
const PASSES = Number(opt('passes', 3));
const TARGET_MS = Number(opt('ms', 20));
const only = opt('only', null)?.split(',');
const jsonOut = opt('json', null);
const peak = !argv.includes('--no-peak');
// 'cpu': the process's CPU time (user + system) over a sample, which leaves
// out the time the process waited for a core while other jobs ran; 'wall':
// performance.now(). Both are recorded; this one is reported.
const CLOCK = opt('clock', 'cpu');

const allNames = JSON.parse(readFileSync(path.join(outDir, 'variants.json'), 'utf8'));
const names = ['cur', ...allNames.filter((n) => n !== 'cur' && (!only || only.includes(n)))];

// ---- memory and inputs ----
const f32 = 4;
let rngState = 0x9e3779b9;
function rnd() {
  rngState ^= rngState << 13; rngState >>>= 0;
  rngState ^= rngState >>> 17;
  rngState ^= rngState << 5; rngState >>>= 0;
  return (rngState >>> 8) / 8388608 - 1;
}

function needBytes({ m, n, k, lda = k, ldc = n }) {
  const packed = Math.ceil(n / 8) * 8 * (k + 1);
  return (m * lda + k * n + n + m + packed + 2 * m * ldc) * f32 + 8 * 64;
}
const edgeShapes = [];
for (const k of [0, 1, 3, 5, 17]) for (let m = 1; m <= 17; m++) for (const n of [1, 7, 8, 9, 15, 16, 17, 24, 33]) edgeShapes.push({ m, n, k, rowBias: (m + n) % 2 === 1 });
for (const m of [125, 126, 127, 128, 129, 130, 250, 257, 260]) {
  edgeShapes.push({ m, n: 33, k: 9, lda: 11, ldc: 37, rowBias: true });
  edgeShapes.push({ m, n: 32, k: 16, rowBias: false });
}
edgeShapes.push({ m: 37, n: 41, k: 19, lda: 23, ldc: 45, rowBias: true });
const checkShapes = [...edgeShapes, ...SIZES.map((s) => ({ ...s, rowBias: false })), ...SIZES.map((s) => ({ ...s, rowBias: true }))];
const maxBytes = Math.max(...checkShapes.map(needBytes));
const BASE = 1 << 20; // above any module's static data
const memory = new WebAssembly.Memory({ initial: Math.ceil((BASE + maxBytes) / 65536) + 1 });

/** Places A, B, bias, rowBias, packed B and two Cs for a shape, 64-byte aligned. */
function layout({ m, n, k, lda = k, ldc = n }) {
  let p = BASE;
  const take = (floats) => {
    const at = p;
    p += Math.ceil((floats * f32) / 64) * 64;
    return at;
  };
  return {
    a: take(m * lda), b: take(k * n), bias: take(n), rowBias: take(m),
    packed: take(Math.ceil(n / 8) * 8 * (k + 1)), c0: take(m * ldc), c1: take(m * ldc),
  };
}
function fill(at, floats) {
  const v = new Float32Array(memory.buffer, at, floats);
  for (let i = 0; i < floats; i++) v[i] = rnd();
}

// ---- modules ----
function loadBuild(build) {
  const mods = {};
  for (const name of names) {
    const file = path.join(outDir, build, `${name}.wasm`);
    if (!existsSync(file)) throw new Error(`${file} missing: run node bench/gemm-variants/gen.mjs`);
    const bytes = readFileSync(file);
    if (!WebAssembly.validate(bytes) && build === 'relaxed') v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
    const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
    mods[name] = inst.exports;
  }
  return mods;
}

function prepare(mods, shape, withRowBias) {
  const { m, n, k, lda = k, ldc = n } = shape;
  const L = layout(shape);
  fill(L.a, m * lda); fill(L.b, k * n); fill(L.bias, n); fill(L.rowBias, m);
  mods.cur.pack_b_f32_x8(L.packed, L.b, n, k, n, 0, L.bias);
  return { ...L, m, n, k, lda, ldc, rb: withRowBias ? L.rowBias : 0 };
}

function check(mods, build) {
  const worst = Object.fromEntries(names.slice(1).map((nm) => [nm, { abs: 0, rel: 0, exact: true, shape: '' }]));
  for (const shape of checkShapes) {
    const P = prepare(mods, shape, shape.rowBias);
    const C0 = new Float32Array(memory.buffer, P.c0, P.m * P.ldc);
    const C1 = new Float32Array(memory.buffer, P.c1, P.m * P.ldc);
    C0.fill(NaN);
    mods.cur.gemm(P.c0, P.ldc, P.a, P.lda, P.packed, P.m, P.n, P.k, P.rb);
    for (const nm of names.slice(1)) {
      C1.fill(1234.5); // sentinel for the ldc gap
      const r = mods[nm].gemm(P.c1, P.ldc, P.a, P.lda, P.packed, P.m, P.n, P.k, P.rb);
      const w = worst[nm];
      if (r !== P.c1) { w.exact = false; w.abs = Infinity; w.shape = 'bad return'; }
      for (let i = 0; i < P.m; i++) {
        for (let j = 0; j < P.ldc; j++) {
          const x = C1[i * P.ldc + j];
          if (j >= P.n) {
            if (x !== 1234.5) { w.abs = Infinity; w.exact = false; w.shape = `wrote the ldc gap at ${shapeName(P)}`; }
            continue;
          }
          const y = C0[i * P.ldc + j];
          if (Object.is(x, y)) continue;
          w.exact = false;
          const d = Math.abs(x - y);
          const rel = d / Math.max(Math.abs(y), 1);
          if (!(d <= w.abs)) { w.abs = d; w.shape = shapeName(P); }
          if (!(rel <= w.rel)) w.rel = Number.isNaN(rel) ? Infinity : rel;
        }
      }
    }
  }
  const ok = {};
  for (const nm of names.slice(1)) {
    const w = worst[nm];
    // Every variant keeps the current kernel's order of operations per
    // element (bias, then k = 0 … K-1, then rowBias), so the plain build must
    // match it bit for bit; the relaxed build may fuse differently per engine.
    ok[nm] = build === 'plain' ? w.exact : w.rel <= 1e-5;
    const what = w.exact ? 'bit-identical' : `max abs ${w.abs.toExponential(2)}, max rel ${w.rel.toExponential(2)} (at ${w.shape})`;
    process.stderr.write(`  check ${build} ${nm.padEnd(6)} vs cur over ${checkShapes.length} shapes: ${what}${ok[nm] ? '' : '  FAIL: not timed'}\n`);
  }
  return { worst, ok };
}
const shapeName = (P) => `${P.m}x${P.n}x${P.k}${P.lda !== P.k ? ` lda${P.lda}` : ''}${P.ldc !== P.n ? ` ldc${P.ldc}` : ''}${P.rb ? ' rowBias' : ''}`;

// ---- timing ----
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
};

async function warm(mods, timed) {
  // V8 starts wasm in its baseline tier and switches a function to optimised
  // code between calls, not during one: many short calls first, then a pause
  // for the background compile to land, then short calls again.
  const P = prepare(mods, { m: 24, n: 32, k: 32 }, false);
  for (let t = 0; t < 2; t++) {
    for (const nm of timed) for (let i = 0; i < 300; i++) mods[nm].gemm(P.c1, P.n, P.a, P.k, P.packed, P.m, P.n, P.k, 0);
    await sleep(200);
  }
}

/** Tier of each function, when node runs with --allow-natives-syntax (else null). */
function tiers(mods, timed) {
  let tf, lo;
  try {
    tf = new Function('f', 'return %IsTurboFanFunction(f)');
    lo = new Function('f', 'return %IsLiftoffFunction(f)');
  } catch {
    return null;
  }
  return timed.map((n) => `${n}:${tf(mods[n].gemm) ? 'TF' : lo(mods[n].gemm) ? 'Liftoff' : '?'}`).join(' ');
}

async function time(mods, timed, build) {
  await warm(mods, timed);
  const t = tiers(mods, timed);
  if (t) process.stderr.write(`  tiers before timing: ${t}\n`);
  const samples = {}; // size -> name -> [{ms, pass, round}]
  const prepared = SIZES.map((s) => prepare(mods, s, false));
  const reps = prepared.map((P) => {
    const f = mods.cur.gemm;
    f(P.c1, P.ldc, P.a, P.lda, P.packed, P.m, P.n, P.k, 0);
    const cpuMs = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
    const t0 = cpuMs();
    let r = 0;
    do { f(P.c1, P.ldc, P.a, P.lda, P.packed, P.m, P.n, P.k, 0); r++; } while (cpuMs() - t0 < 5);
    const one = (cpuMs() - t0) / r;
    return Math.max(1, Math.round(TARGET_MS / one));
  });
  for (let si = 0; si < SIZES.length; si++) samples[si] = Object.fromEntries(timed.map((n) => [n, []]));
  for (let pass = 0; pass < PASSES; pass++) {
    for (let si = 0; si < SIZES.length; si++) {
      const P = prepared[si];
      // inputs are shared by every variant; refill per size (the last size's C overlaps earlier buffers)
      fill(P.a, P.m * P.lda); fill(P.b, P.k * P.n); fill(P.bias, P.n);
      mods.cur.pack_b_f32_x8(P.packed, P.b, P.n, P.k, P.n, 0, P.bias);
      for (const nm of timed) mods[nm].gemm(P.c1, P.ldc, P.a, P.lda, P.packed, P.m, P.n, P.k, 0); // caches
      for (let round = 0; round < ROUNDS; round++) {
        for (let o = 0; o < timed.length; o++) {
          const nm = timed[(o + round + pass) % timed.length];
          const f = mods[nm].gemm;
          const u0 = process.cpuUsage();
          const t0 = performance.now();
          for (let r = 0; r < reps[si]; r++) f(P.c1, P.ldc, P.a, P.lda, P.packed, P.m, P.n, P.k, 0);
          const wall = performance.now() - t0;
          const u = process.cpuUsage(u0);
          const cpu = (u.user + u.system) / 1000;
          samples[si][nm].push({ ms: CLOCK === 'cpu' ? cpu : wall, cpu, wall, pass, round });
        }
      }
    }
  }
  const t2 = tiers(mods, timed);
  if (t2) process.stderr.write(`  tiers after timing: ${t2}\n`);
  const results = [];
  for (let si = 0; si < SIZES.length; si++) {
    const { m, n, k } = SIZES[si];
    const flop = 2 * m * n * k * reps[si];
    const cur = samples[si].cur;
    for (const nm of timed) {
      const s = samples[si][nm];
      const gf = s.map((x) => flop / (x.ms * 1e6));
      const gfWall = s.map((x) => flop / (x.wall * 1e6));
      const ratios = s.map((x, i) => cur[i].ms / x.ms);
      const perPass = Array.from({ length: PASSES }, (_, p) => median(ratios.filter((_, i) => s[i].pass === p)));
      results.push({
        build, size: `${m}x${n}x${k}`, variant: nm, reps: reps[si], samples: s.length,
        gflops: median(gf), gflopsMax: Math.max(...gf), gflopsWall: median(gfWall), gflopsWallMax: Math.max(...gfWall),
        cpuOverWall: median(s.map((x) => x.cpu / x.wall)), ratio: median(ratios), ratioPerPass: perPass,
        samplesGflops: gf.map((x) => Math.round(x * 10) / 10),
      });
    }
  }
  return results;
}

/**
 * The ceiling, with bench/peak/peak-wasm.ts's module (independent v128
 * registers, one mul per add, or relaxed_madd) but timed by CPU time like
 * the GEMMs: the best of 5 trials of about 50 ms, over 8 … 14 accumulators.
 */
async function measurePeakBoth(buildsWanted) {
  const { transformSync } = await import(pathToFileURL(path.join(root, 'node_modules/esbuild/lib/main.js')).href);
  const src = readFileSync(path.join(root, 'bench/peak/peak-wasm.ts'), 'utf8');
  const js = transformSync(src, { loader: 'ts', format: 'esm' }).code;
  const mod = await import('data:text/javascript;base64,' + Buffer.from(js).toString('base64'));
  const cpuMs = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
  const out = {};
  for (const b of buildsWanted) {
    const relaxed = b === 'relaxed';
    let best = 0;
    for (const accs of [8, 10, 12, 14]) {
      const inst = new WebAssembly.Instance(new WebAssembly.Module(mod.peakModuleBytes(accs, relaxed)));
      const run = inst.exports.run;
      for (let i = 0; i < 30; i++) run(1000, 1, 0);
      await sleep(50);
      const flopPerIter = mod.UNROLL * accs * (relaxed ? 8 : 4);
      let iters = 1000;
      for (;;) {
        const t0 = cpuMs();
        run(iters, 1, 0);
        const ms = cpuMs() - t0;
        if (ms > 10) { iters = Math.round((iters * 50) / ms); break; }
        iters *= 4;
      }
      for (let t = 0; t < 5; t++) {
        const t0 = cpuMs();
        run(iters, 1, 0);
        best = Math.max(best, (iters * flopPerIter) / ((cpuMs() - t0) * 1e6));
      }
    }
    out[b] = best;
  }
  return out;
}

// ---- main ----
const engine = `Node ${process.version} (V8 ${process.versions.v8})`;
process.stderr.write(`${engine}, ${os.cpus()[0]?.model ?? ''}; variants: ${names.join(' ')}\n`);
const all = [];
const checks = {};
for (const build of builds) {
  const mods = loadBuild(build);
  const { worst, ok } = check(mods, build);
  checks[build] = worst;
  const timed = names.filter((n) => n === 'cur' || ok[n]);
  all.push(...(await time(mods, timed, build)));
}
const peaks = peak ? await measurePeakBoth(builds) : {};

// ---- report ----
const lines = [];
lines.push(`### ${engine}`);
if (peak) lines.push(`wasm SIMD ceiling (bench/peak module, CPU time, best of 5): ${builds.map((b) => `${b} ${peaks[b]?.toFixed(1) ?? '—'} GFLOP/s`).join(', ')}`);
lines.push('');
for (const build of builds) {
  lines.push(`${build} build, ${CLOCK} time: GFLOP/s (ratio to cur: median over ${PASSES}×${ROUNDS} paired rounds; per pass in brackets)`);
  const cw = median(all.filter((x) => x.build === build).map((x) => x.cpuOverWall));
  lines.push(`(the process had a core for ${(100 * cw).toFixed(0)}% of the wall time of a sample, median)`);
  lines.push('');
  lines.push(`| variant | ${SIZES.map((s) => `${s.m}×${s.n}×${s.k}`).join(' | ')} |`);
  lines.push(`| --- | ${SIZES.map(() => '---').join(' | ')} |`);
  for (const nm of names) {
    const cells = SIZES.map((s) => {
      const r = all.find((x) => x.build === build && x.variant === nm && x.size === `${s.m}x${s.n}x${s.k}`);
      if (!r) return '—';
      return nm === 'cur' ? `${r.gflops.toFixed(1)}` : `${r.gflops.toFixed(1)} (${r.ratio.toFixed(3)} [${r.ratioPerPass.map((x) => x.toFixed(2)).join(' ')}])`;
    });
    lines.push(`| ${nm} | ${cells.join(' | ')} |`);
  }
  lines.push('');
}
process.stdout.write(lines.join('\n') + '\n');

const record = { engine, node: process.version, v8: process.versions.v8, cpu: os.cpus()[0]?.model, date: new Date().toISOString(), peaks, checks, results: all, rounds: ROUNDS, passes: PASSES, targetMs: TARGET_MS, clock: CLOCK, load: os.loadavg() };
const file = jsonOut ?? path.join(outDir, 'results', `node${process.versions.node.split('.')[0]}-${builds.join('+')}-${Date.now()}.json`);
mkdirSync(path.dirname(file), { recursive: true });
writeFileSync(file, JSON.stringify(record, null, 1));
process.stderr.write(`wrote ${path.relative(root, file)}\n`);
