// A measuring process: takes one job from the harness over IPC, runs it and
// sends the figures back. See lib/protocol.ts for why each job gets a fresh
// process.
import { writeFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import type {
  AttentionResult,
  ColdResult,
  EngineResult,
  GemmResult,
  Job,
  JobResult,
  PeakFigures,
  ProfileResult,
  ReferenceResult,
  SweepResult,
  Table3Result,
  TimingPolicy,
  WorkerMessage,
} from './lib/protocol.js';
import { buildOf, PROFILE_MAX_PASSES } from './lib/protocol.js';
import { compareOutputs } from './lib/compare.js';
import { jsAttention, pickRows, referenceAttention, sampleRows, SPOT_ROWS } from './lib/spot-check.js';
import { measureEngines, rotatingInputs, type TimedEngine } from './lib/timing.js';
import { timeAttention } from './lib/attention.js';
import type { PassProfile } from './lib/stages.js';
import { randn, randomStateDict, Rng } from '../tests/helpers/rng.js';
import { INPUT_SEED, loadPackage, ortAttention, ortEngines, ortId, ortLabel, packageAttention, setPackageInstances, setupOf, tryCreate, type AttentionSetup, type Package } from './lib/contenders.js';
import { gemmB, jsMatmulEngine, ortMatmul, packageMatmul, packageMatmulId, packageMatmulLabel, tfjsMatmul } from './lib/gemm-contenders.js';

// A second instance of the package in this process (the 2-thread groups run
// it at 1 and 2 threads side by side): its self-contained ES module build,
// which shares nothing with dist/index.node.js and its CommonJS core, from a
// file URL with the instance's name as query string, a module of its own.
setPackageInstances((instance) => {
  const packageDir = path.dirname(createRequire(import.meta.url).resolve('linformer-wasm/package.json'));
  const moduleBuild = pathToFileURL(path.join(packageDir, 'dist', 'index.node.module.js')).href;
  return import(`${moduleBuild}?instance=${encodeURIComponent(instance)}`) as Promise<Package>;
});

/** n N(0, 1) samples from the seeded test generator. */
function normals(n: number, seed: number): Float32Array {
  return randn(new Rng(seed), [n]).data;
}

function send(msg: WorkerMessage): Promise<void> {
  return new Promise((resolve) => process.send!(msg, () => resolve()));
}

let lastProgress = 0;
function progress(text: string): void {
  // at most a few updates a second: the parent only shows the latest
  const now = performance.now();
  if (now - lastProgress < 100) return;
  lastProgress = now;
  process.send!({ type: 'progress', text } satisfies WorkerMessage);
}

function saveOutput(dir: string, name: string, data: Float32Array): string {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}.f32`);
  writeFileSync(file, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  return file;
}

async function attentionJob(job: Extract<Job, { type: 'attention' }>): Promise<AttentionResult> {
  const { group, shape } = job;
  const { result, setup, stateDict, inputs, packageOutput } = await timeAttention({
    ...job,
    progress,
    save: (name, out) => saveOutput(job.outDir, name, out),
    // the float64 reference, timed beside the plain build where it is quick enough
    more: async (s, sd) => (group === 'simd' && shape.ref ? [jsAttention(s, sd)] : []),
  });
  if (group === 'simd' && !shape.ref && packageOutput) {
    // too big for the full reference: check a few rows in float64 instead
    progress(`plain JS: checking ${SPOT_ROWS} rows`);
    const rows = sampleRows(shape.L, SPOT_ROWS);
    const want = referenceAttention(setup, stateDict, inputs[0], rows);
    result.engines.push({ id: 'js', label: `plain JS (${rows.length} rows)`, check: compareOutputs(want, pickRows(packageOutput, shape.E, rows)) });
  }
  return result;
}

/** --browser: the float64 reference of the first input the pages time, on the package module's weights. */
async function referenceJob(job: Extract<Job, { type: 'reference' }>): Promise<ReferenceResult> {
  const { shape, kind } = job;
  const s = setupOf(shape, kind);
  const p = packageAttention(await loadPackage('simd'), s);
  const rows = shape.ref ? undefined : sampleRows(shape.L, SPOT_ROWS);
  progress(rows ? `plain JS: ${rows.length} rows` : 'plain JS');
  const want = referenceAttention(s, p.stateDict, rotatingInputs(shape.L * shape.E, INPUT_SEED)[0], rows);
  p.module.dispose();
  return { type: 'reference', config: shape.name, kind, outputFile: saveOutput(job.outDir, `${shape.name}.${kind}.reference`, want), rows };
}

async function gemmJob(job: Extract<Job, { type: 'gemm' }>): Promise<GemmResult> {
  const result: GemmResult = { type: 'gemm', group: job.group, shapes: [] };
  let lw: Awaited<ReturnType<typeof loadPackage>> | undefined;
  if (job.group !== 'ort2') {
    lw = await loadPackage(buildOf(job.group));
    result.build = lw.backendInfo().build;
  }
  for (const g of job.shapes) {
    const b = gemmB(g);
    const failed: EngineResult[] = [];
    const engines: TimedEngine[] = [];
    const add = async (id: string, label: string, create: () => Promise<TimedEngine> | TimedEngine) => {
      const e = await tryCreate(id, label, create, failed);
      if (e) engines.push(e);
    };
    if (lw) {
      for (const prepacked of [false, true]) {
        for (const out of [false, true]) {
          const way = { prepacked, out };
          await add(packageMatmulId(way), packageMatmulLabel(lw, way), () => packageMatmul(lw!, g, b, way));
        }
      }
      await add('tfjs', 'TF.js', () => tfjsMatmul(g, b));
      await add(ortId(1), ortLabel(1), () => ortMatmul(g, b, 1));
      if (job.group === 'simd' && g.ref) await add('js', 'plain JS', () => jsMatmulEngine(g, b));
    } else {
      await add(ortId(2), ortLabel(2), () => ortMatmul(g, b, 2));
    }
    const outputs = new Map<string, string>();
    const measured = await measureEngines(engines, rotatingInputs(g.M * g.K, INPUT_SEED), {
      policy: job.timing,
      progress: (t) => progress(`${g.name}: ${t}`),
      onOutput: (e, out) => outputs.set(e.id, saveOutput(job.outDir, `${g.name}.gemm.${job.group}.${e.id}`, out)),
    });
    for (const r of measured) r.outputFile = outputs.get(r.id);
    result.shapes.push({ name: g.name, engines: [...measured, ...failed] });
    for (const e of engines) await e.dispose?.();
  }
  return result;
}

async function peakJob(job: Extract<Job, { type: 'peak' }>): Promise<PeakFigures> {
  const { measurePeak, measurePeakTogether } = await import('./peak/peak-wasm.js');
  progress('wasm SIMD peak: f32x4 mul + add');
  const result: PeakFigures = { type: 'peak', group: job.group, plain: await measurePeak(false, job.msPerTrial, job.trials) };
  const cores = availableParallelism();
  if (job.group === 'simd' && cores > 1) {
    progress(`wasm SIMD peak: f32x4 mul + add on ${cores} threads at once`);
    result.together = { threads: cores, gflops: await measurePeakTogether(false, result.plain, cores, job.msPerTrial, job.trials) };
  }
  if (job.group === 'relaxed') {
    progress('wasm SIMD peak: f32x4.relaxed_madd');
    result.relaxed = await measurePeak(true, job.msPerTrial, job.trials);
  }
  return result;
}

async function sweepJob(job: Extract<Job, { type: 'sweep' }>): Promise<SweepResult> {
  const lw = await loadPackage('simd');
  const { sweep, kind } = job;
  const result: SweepResult = { type: 'sweep', kind, build: lw.backendInfo().build, points: [] };
  const Ls = sweep.Ls.filter((L) => kind === 'linformer' || L <= sweep.standardMax);
  for (const L of Ls) {
    const s: AttentionSetup = { kind, L, E: sweep.E, H: sweep.H, k: Math.min(sweep.k, L) };
    const p = packageAttention(lw, s);
    const failed: EngineResult[] = [];
    const engines = [p.engine, ...(await ortEngines(s, p.stateDict, 1, failed))];
    const measured = await measureEngines(engines, rotatingInputs(L * s.E, INPUT_SEED), { policy: job.timing, progress: (t) => progress(`L = ${L}: ${t}`) });
    result.points.push({ L, engines: [...measured, ...failed] });
    for (const e of engines) await e.dispose?.();
  }
  return result;
}

/** Everything from loading the code to the first output, in a process that has done nothing else. */
async function coldJob(job: Extract<Job, { type: 'cold' }>): Promise<ColdResult> {
  const { shape, kind } = job;
  const s = setupOf(shape, kind);
  const x = normals(shape.L * shape.E, INPUT_SEED);
  if (job.engine === 'package') {
    const t0 = performance.now();
    const lw = await import('linformer-wasm');
    const t1 = performance.now();
    await lw.init(undefined, { relaxedSimd: job.group === 'relaxed' });
    const t2 = performance.now();
    const { engine } = packageAttention(lw, s, { userWeightsOnly: true });
    const t3 = performance.now();
    engine.run(x);
    const t4 = performance.now();
    return {
      type: 'cold', engine: 'package', group: job.group, kind, build: lw.backendInfo().build,
      importMs: t1 - t0, initMs: t2 - t1, createMs: t3 - t2, firstForwardMs: t4 - t3, totalMs: t4 - t0,
    };
  }
  // the model bytes are made before the clock starts: a user loads a finished .onnx file
  const { buildAttentionOnnx } = await import('./graphs/attention-onnx.js');
  const stateDict = randomStateDict(new Rng(1), { embedDim: s.E, numHeads: s.H, seqLen: s.L, projK: s.k }, kind === 'linformer');
  const model = buildAttentionOnnx({ kind, embedDim: s.E, numHeads: s.H, L: s.L, seqLen: s.L, projK: s.k, stateDict });
  const t0 = performance.now();
  const ort = await import('onnxruntime-web');
  const t1 = performance.now();
  ort.env.wasm.numThreads = 1;
  ort.env.logLevel = 'error';
  const session = await ort.InferenceSession.create(model, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
  const t2 = performance.now();
  await session.run({ x: new ort.Tensor('float32', x, [s.L, 1, s.E]) });
  const t3 = performance.now();
  return {
    type: 'cold', engine: 'ort', group: job.group, kind,
    importMs: t1 - t0, initMs: t2 - t1, createMs: 0, firstForwardMs: t3 - t2, totalMs: t3 - t0,
  };
}

async function table3Job(job: Extract<Job, { type: 'table3' }>): Promise<Table3Result> {
  const lw = await loadPackage(job.group);
  const { spec } = job;
  const result: Table3Result = { type: 'table3', build: lw.backendInfo().build, E: spec.E, H: spec.H, sharing: spec.sharing, standard: [], linformer: [] };
  const timeOne = async (s: AttentionSetup, what: string) => {
    const p = packageAttention(lw, s);
    const [r] = await measureEngines([p.engine], [normals(s.L * s.E, INPUT_SEED)], { policy: job.timing, progress: (t) => progress(`${what}: ${t}`) });
    p.module.dispose();
    if (r.error || r.medianMs === undefined) throw new Error(`${what}: ${r.error ?? 'no runs'}`);
    return { medianMs: r.medianMs, runs: r.timesMs!.length };
  };
  for (const n of spec.ns) {
    const base = { L: n, E: spec.E, H: spec.H, sharing: spec.sharing };
    result.standard.push({ n, ...(await timeOne({ ...base, kind: 'standard', k: 0 }, `n = ${n}, standard`)) });
    for (const k of spec.ks.filter((k) => k < n)) {
      result.linformer.push({ n, k, ...(await timeOne({ ...base, kind: 'linformer', k }, `n = ${n}, Linformer k = ${k}`)) });
    }
  }
  return result;
}

/** Timed several times: the median of each stage as the package reports it, and onnxruntime-web's counterparts. */
async function profileJob(job: Extract<Job, { type: 'profile' }>): Promise<ProfileResult> {
  const { ProfileHook, medianPass } = await import('./lib/stages.js');
  const lw = await loadPackage(job.group, job.threads);
  const { shape, kind } = job;
  const s = setupOf(shape, kind);
  const p = packageAttention(lw, s);
  const x = normals(shape.L * shape.E, INPUT_SEED);
  const hook = new ProfileHook();
  hook.install();
  progress('linformer-wasm: warm-up');
  await p.engine.prewarm?.(150);
  const w0 = performance.now();
  p.engine.run(x);
  // passes of seconds each: a few are enough
  const runs = performance.now() - w0 > 2000 ? Math.min(3, job.runs) : job.runs;
  hook.take();
  const passes: PassProfile[] = [];
  // Short passes: as many as fill the budget, so that a stall of one thread in a few of them moves no median.
  for (const t0 = performance.now(); passes.length < PROFILE_MAX_PASSES && (passes.length < runs || performance.now() - t0 < job.budgetMs); ) {
    progress(`linformer-wasm: run ${passes.length + 1}`);
    p.engine.run(x);
    passes.push(hook.take());
  }
  const info = lw.backendInfo();
  const result: ProfileResult = { type: 'profile', config: shape.name, kind, build: info.build, threads: info.threads, passes: passes.length, ...medianPass(passes) };
  if (job.withOrt) {
    const policy: TimingPolicy = { budgetMs: 1000, minRuns: job.runs, maxRuns: 50, warmupMs: 100, prewarmMs: 100 };
    const timeOrt = async (what: string, create: () => Promise<TimedEngine>, input: Float32Array) => {
      const e = await create();
      const [r] = await measureEngines([e], [input], { policy, progress: (t) => progress(`${what}: ${t}`) });
      await e.dispose?.();
      if (r.medianMs === undefined) throw new Error(`${what}: ${r.error}`);
      return r.medianMs;
    };
    const { L, E, k } = shape;
    const matmul = (M: number, K: number, N: number) => ({ name: `${M}x${K}x${N}`, M, K, N, ref: false });
    let totalMs: number;
    try {
      totalMs = await timeOrt('onnxruntime-web graph', () => ortAttention(s, p.stateDict, 1, kind === 'linformer' ? 'spec' : undefined), x);
    } catch {
      // e.g. standard attention at L = 16384 (integer overflow): nothing to compare with
      p.module.dispose();
      return result;
    }
    const projection = await timeOrt('onnxruntime-web projection GEMM', () => ortMatmul(matmul(L, E, E), normals(E * E, 1), 1), x);
    let sequenceProjectionMs = 0;
    if (kind === 'linformer') {
      // kᵀ (E,L)·Eᵀ (L,k) and F (k,L)·v (L,E): the same FLOPs as (E,L)·(L,k) twice
      sequenceProjectionMs = 2 * (await timeOrt('onnxruntime-web sequence projection GEMM', () => ortMatmul(matmul(E, L, k), normals(L * k, 2), 1), normals(E * L, 3)));
    }
    result.ort = {
      totalMs,
      inProjectionMs: 3 * projection,
      sequenceProjectionMs,
      outProjectionMs: projection,
      restMs: totalMs - 4 * projection - sequenceProjectionMs,
    };
  }
  p.module.dispose();
  return result;
}

async function runJob(job: Job): Promise<JobResult> {
  switch (job.type) {
    case 'profile':
      return profileJob(job);
    case 'attention':
      return attentionJob(job);
    case 'gemm':
      return gemmJob(job);
    case 'peak':
      return peakJob(job);
    case 'sweep':
      return sweepJob(job);
    case 'cold':
      return coldJob(job);
    case 'table3':
      return table3Job(job);
    case 'reference':
      return referenceJob(job);
  }
}

process.once('message', async (job: Job) => {
  try {
    await send({ type: 'result', result: await runJob(job) });
    process.exit(0);
  } catch (e) {
    await send({ type: 'failed', message: e instanceof Error ? (e.stack ?? e.message) : String(e) });
    process.exit(1);
  }
});
