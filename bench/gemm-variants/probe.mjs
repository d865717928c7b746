// What choosing a GEMM kernel by timing at init would cost, on whichever
// node runs it. Each trial is a fresh process (V8 reuses compiled modules
// within a process) that compiles two variants, then alternates them on one
// small product, timing each call, for `--ms` milliseconds. With
// --allow-natives-syntax (passed to the children) it also records when each
// function reached optimised code.
//
//   node bench/gemm-variants/probe.mjs [--a cur] [--b 6x8] [--build relaxed]
//        [--trials 5] [--ms 150] [--shape 60x64x128]
//
// Reported per trial: compile time, when both functions were optimised, and
// the decision a rule without natives would take at several budgets: after
// t ms of alternating, the faster kernel by the minimum of its last 8 calls.

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const outDir = path.join(root, 'bench/.out/gemm-variants');
const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : dflt;
};
const A = opt('a', 'cur');
const B = opt('b', '6x8');
const build = opt('build', 'relaxed');
const MS = Number(opt('ms', 150));
const [M, N, K] = opt('shape', '60x64x128').split('x').map(Number);

if (argv.includes('--child')) {
  const t0 = performance.now();
  const memory = new WebAssembly.Memory({ initial: 64 });
  const load = (name) => {
    const bytes = readFileSync(path.join(outDir, build, `${name}.wasm`));
    if (!WebAssembly.validate(bytes)) v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
    return new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports;
  };
  const ea = load(A);
  const eb = load(B);
  const pack = (ea.pack_b_f32_x8 ?? load('cur').pack_b_f32_x8);
  const compileMs = performance.now() - t0;
  const base = 1 << 16;
  const a = base, b = a + M * K * 4, bias = b + K * N * 4, packed = bias + N * 4, c = packed + Math.ceil(N / 8) * 8 * (K + 1) * 4;
  const f = new Float32Array(memory.buffer);
  for (let i = a / 4; i < packed / 4; i++) f[i] = Math.random() * 2 - 1;
  pack(packed, b, N, K, N, 0, bias);
  let tier = () => null;
  try {
    const tf = new Function('f', 'return %IsTurboFanFunction(f)');
    tier = (fn) => (tf(fn) ? 1 : 0);
  } catch {}
  const ga = ea.gemm, gb = eb.gemm;
  const rec = [];
  const start = performance.now();
  while (performance.now() - start < MS) {
    let t = performance.now();
    ga(c, N, a, K, packed, M, N, K, 0);
    const ta = performance.now() - t;
    t = performance.now();
    gb(c, N, a, K, packed, M, N, K, 0);
    const tb = performance.now() - t;
    rec.push([Math.round((performance.now() - start) * 1000) / 1000, ta, tb, tier(ga), tier(gb)]);
  }
  process.stdout.write(JSON.stringify({ compileMs, rec }));
  process.exit(0);
}

const trials = Number(opt('trials', 5));
const flop = 2 * M * N * K;
const budgets = [10, 20, 40, 80, MS];
process.stdout.write(`${process.version} (V8 ${process.versions.v8}), ${build}: ${A} vs ${B} on ${M}x${N}x${K}, ${trials} fresh processes\n`);
for (let t = 0; t < trials; t++) {
  const r = spawnSync(process.execPath, ['--allow-natives-syntax', fileURLToPath(import.meta.url), '--child', ...argv], { encoding: 'utf8' });
  if (r.status !== 0) { process.stdout.write(r.stderr); process.exit(1); }
  const { compileMs, rec } = JSON.parse(r.stdout);
  const bothTF = rec.find((x) => x[3] === 1 && x[4] === 1);
  const decide = (ms) => {
    const upto = rec.filter((x) => x[0] <= ms);
    const last = upto.slice(-8);
    if (last.length < 2) return '—';
    const ma = Math.min(...last.map((x) => x[1])), mb = Math.min(...last.map((x) => x[2]));
    return `${ma <= mb ? A : B} ${(flop / ma / 1e6).toFixed(0)}/${(flop / mb / 1e6).toFixed(0)}`;
  };
  const afterTF = bothTF ? rec.filter((x) => x[0] >= bothTF[0]) : [];
  const gfA = afterTF.length ? flop / Math.min(...afterTF.map((x) => x[1])) / 1e6 : NaN;
  const gfB = afterTF.length ? flop / Math.min(...afterTF.map((x) => x[2])) / 1e6 : NaN;
  process.stdout.write(
    `  trial ${t}: compile ${compileMs.toFixed(1)} ms; both optimised after ${bothTF ? bothTF[0].toFixed(1) + ' ms, ' + rec.indexOf(bothTF) + ' pairs' : 'never'}` +
    `; best after that ${gfA.toFixed(1)} / ${gfB.toFixed(1)} GFLOP/s; decision (GFLOP/s ${A}/${B}) at ${budgets.map((b) => `${b} ms: ${decide(b)}`).join(', ')}\n`,
  );
}
