// Self-check of the competitor engines, and a few timings.
//   npx esbuild --bundle --platform=node --format=esm --packages=external \
//     bench/engines/selfcheck.ts --outfile=bench/engines/.out/selfcheck.mjs && node bench/engines/.out/selfcheck.mjs
// Flags: --threads 2 (ORT threads, default 1), --quick (checks only, no timings),
//        --big [L] (one standard-attention run at L = S = 16384 or the given L, E = 256, H = 4).
import { performance } from 'node:perf_hooks';
import { createOrtAttention, createOrtMatmul } from './onnxruntime.js';
import { createTfjsMatmul } from './tfjs.js';
import { matmul64, referenceLinformer, referenceMHA } from '../../tests/helpers/reference.js';
import { randomStateDict, randu, Rng } from '../../tests/helpers/rng.js';
import type { StateDict } from '../graphs/attention-onnx.js';

const args = process.argv.slice(2);
const threads = (args.includes('--threads') ? Number(args[args.indexOf('--threads') + 1]) : 1) as 1 | 2;
const quick = args.includes('--quick');
const big = args.includes('--big');

/** x (L, 1, E) uniform in [-1, 1). */
function uniformInput(dims: number[], seed: number): Float32Array {
  return randu(new Rng(seed), dims, 1).data;
}

/** Self-attention on x (L, 1, E) by the float64 reference, as float32. */
function referenceSelfAttention(o: { kind: 'standard' | 'linformer'; embedDim: number; numHeads: number; L: number; seqLen?: number; projK?: number; share?: boolean; stateDict: StateDict }, x: Float32Array): Float32Array {
  const t = { data: x, dims: [o.L, 1, o.embedDim] };
  const cfg = { embedDim: o.embedDim, numHeads: o.numHeads, seqLen: o.seqLen ?? o.L, projK: o.projK, paramSharing: o.share ? ('kv' as const) : ('none' as const) };
  const ref = o.kind === 'linformer' ? referenceLinformer(cfg, o.stateDict, t, t, t) : referenceMHA(cfg, o.stateDict, t, t, t);
  return Float32Array.from(ref.output.data);
}

/** A state dict for self-attention with E = F when `share`. */
function stateDictFor(kind: 'standard' | 'linformer', E: number, o: { seqLen?: number; projK?: number; share?: boolean; seed: number }): StateDict {
  return randomStateDict(new Rng(o.seed), { embedDim: E, numHeads: 1, seqLen: o.seqLen, projK: o.projK, paramSharing: o.share ? 'kv' : 'none' }, kind === 'linformer');
}

let failures = 0;
function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const e = Math.abs(a[i] - b[i]);
    if (!(e <= m)) m = Number.isNaN(e) ? Infinity : e;
  }
  return m;
}
function check(name: string, got: Float32Array, want: Float32Array, tol: number) {
  const e = maxAbsDiff(got, want);
  const ok = e < tol;
  if (!ok) failures++;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}: max abs diff ${e.toExponential(2)} (tol ${tol})`);
}
async function median(f: () => unknown, warm = 3, reps = 10): Promise<number> {
  for (let i = 0; i < warm; i++) await f();
  const t: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await f();
    t.push(performance.now() - t0);
  }
  t.sort((a, b) => a - b);
  return t[t.length >> 1];
}

// ---- correctness: attention, L = S = 64, E = 32, H = 4, k = 16
{
  const L = 64, E = 32, H = 4, K = 16;
  const x = uniformInput([L, 1, E], 7);
  const cases: { name: string; kind: 'standard' | 'linformer'; seqLen?: number; share?: boolean; order?: 'spec' | 'project-first' }[] = [
    { name: 'standard', kind: 'standard' },
    { name: 'linformer', kind: 'linformer', seqLen: L },
    { name: 'linformer F=E', kind: 'linformer', seqLen: L, share: true },
    { name: 'linformer seqLen=100 > S', kind: 'linformer', seqLen: 100 },
    { name: 'linformer project-first', kind: 'linformer', seqLen: 100, order: 'project-first' },
    { name: 'linformer project-first F=E', kind: 'linformer', seqLen: L, share: true, order: 'project-first' },
  ];
  for (const c of cases) {
    const sd = stateDictFor(c.kind, E, { seqLen: c.seqLen ?? L, projK: K, share: c.share, seed: 3 });
    const opts = { kind: c.kind, embedDim: E, numHeads: H, L, seqLen: c.seqLen, projK: K, stateDict: sd };
    const want = referenceSelfAttention({ ...opts, share: c.share }, x);
    const ort = await createOrtAttention({ ...opts, threads, linformerOrder: c.order });
    check(`ORT ${c.name}`, await ort.run(x), want, 1e-4);
    await ort.dispose();
  }
  // unbatched (L,E) input/output graph
  const sd = stateDictFor('linformer', E, { seqLen: L, projK: K, seed: 4 });
  const opts = { kind: 'linformer' as const, embedDim: E, numHeads: H, L, projK: K, stateDict: sd };
  const ort2 = await createOrtAttention({ ...opts, threads, inputRank: 2 });
  check('ORT linformer, (L,E) input', await ort2.run(x), referenceSelfAttention(opts, x), 1e-4);
  await ort2.dispose();
}

// ---- correctness: SGEMM 65×33×17
{
  const M = 65, K = 33, N = 17;
  const a = uniformInput([M, K], 11);
  const b = uniformInput([K, N], 12);
  const want = Float32Array.from(matmul64({ data: a, dims: [M, K] }, { data: b, dims: [K, N] }).data);
  const om = await createOrtMatmul(M, K, N, threads, b);
  check('ORT matmul 65x33x17', await om.run(a), want, 1e-4);
  await om.dispose();
  const tm = await createTfjsMatmul(M, K, N, b);
  check('tfjs matmul 65x33x17', tm.run(a), want, 1e-4);
  tm.dispose();
}

if (!quick) {
  console.log(`\nORT attention, ${threads} thread(s), median of 10 after 3 warm-up:`);
  const configs = [
    { name: 'short', L: 128, E: 256, H: 4, K: 32 },
    { name: 'detr', L: 850, E: 256, H: 8, K: 64 },
  ];
  for (const c of configs) {
    const x = uniformInput([c.L, 1, c.E], 5);
    for (const [kind, order] of [['standard', undefined], ['linformer', 'spec'], ['linformer', 'project-first']] as const) {
      const sd = stateDictFor(kind, c.E, { seqLen: c.L, projK: c.K, seed: 9 });
      const eng = await createOrtAttention({ kind, embedDim: c.E, numHeads: c.H, L: c.L, seqLen: c.L, projK: c.K, stateDict: sd, threads, linformerOrder: order });
      const ms = await median(() => eng.run(x));
      console.log(`  ${c.name.padEnd(5)} L=S=${c.L} E=${c.E} H=${c.H}${kind === 'linformer' ? ` k=${c.K}` : ''}  ${(kind + (order ? `/${order}` : '')).padEnd(23)} ${ms.toFixed(2)} ms`);
      await eng.dispose();
    }
  }

  const n = 512;
  const a = uniformInput([n, n], 1);
  const flop = 2 * n * n * n;
  const om = await createOrtMatmul(n, n, n, threads);
  const tOrt = await median(() => om.run(a), 3, 15);
  await om.dispose();
  const tm = await createTfjsMatmul(n, n, n);
  const tTf = await median(() => tm.run(a), 3, 15);
  tm.dispose();
  console.log(`\nSGEMM ${n}³ (median of 15): ORT ${threads}T ${tOrt.toFixed(2)} ms = ${(flop / tOrt / 1e6).toFixed(1)} GFLOP/s;` +
    ` tfjs 1T ${tTf.toFixed(2)} ms = ${(flop / tTf / 1e6).toFixed(1)} GFLOP/s`);
}

if (big) {
  const nextArg = Number(args[args.indexOf('--big') + 1]);
  const L = Number.isInteger(nextArg) && nextArg > 0 ? nextArg : 16384, E = 256, H = 4;
  console.log(`\nORT standard attention at L = S = ${L}, E = ${E}, H = ${H} (scores ${H}×${L}×${L} floats = ${(H * L * L * 4 / 2 ** 30).toFixed(2)} GiB):`);
  try {
    const sd = stateDictFor('standard', E, { seed: 2 });
    const eng = await createOrtAttention({ kind: 'standard', embedDim: E, numHeads: H, L, stateDict: sd, threads });
    const t0 = performance.now();
    const y = await eng.run(uniformInput([L, 1, E], 3));
    console.log(`  ran in ${(performance.now() - t0).toFixed(0)} ms, y[0] = ${y[0]}`);
    await eng.dispose();
  } catch (e) {
    console.log(`  error: ${e instanceof Error ? e.message : String(e)}`);
  }
}

console.log(failures ? `\n${failures} check(s) FAILED` : '\nall checks passed');
process.exit(failures ? 1 : 0);
