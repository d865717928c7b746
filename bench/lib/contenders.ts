// The attention engines under test, each wrapped as a TimedEngine: this
// package and onnxruntime-web (the plain-JS contender is in spot-check.ts,
// the SGEMM engines in gemm-contenders.ts). Nothing here needs Node: the
// --browser page runs it too. Heavy modules are imported on demand so a
// process loads only the engines it runs.
import type { AttentionKind, AttentionShape } from './shapes.js';
import type { StateDict } from '../graphs/attention-onnx.js';
import { errorText, repeatFor, settleProcess, type TimedEngine } from './timing.js';
import type { Build, EngineResult } from './protocol.js';
import { randn, randomStateDict, Rng } from '../../tests/helpers/rng.js';

export type Package = typeof import('linformer-wasm');

/** Seed of every module's weights, so each process builds the same ones. */
export const WEIGHT_SEED = 7;
/** Seed of the inputs; the first one is the input every engine's output is checked on. */
export const INPUT_SEED = 11;
/** Sequence length of the small warm-up problem. */
const PREWARM_L = 64;

/**
 * Where a page cannot read its CPU time, the wait after a run of a threaded
 * engine (timing.ts, settleProcess): onnxruntime-web's threads spin some
 * 30–35 ms after a run (measured in Node), this package's barrier half a
 * millisecond before its workers sleep.
 */
const ORT_SETTLE_FIXED_MS = 50;
const PACKAGE_SETTLE_FIXED_MS = 2;

/** The package as users import it ('linformer-wasm'), and the named instances of setPackageInstances. */
const loaded = new Map<string, Package>();
let instanceSource: ((instance: string) => Promise<Package>) | undefined;

/**
 * How to import an independent instance of the package (a process or page
 * that runs it at 1 and 2 threads side by side): in Node its self-contained
 * ES module build from a file URL, in the page its browser build, each with
 * the instance's name as query string, so each import is a module of its own.
 */
export function setPackageInstances(source: (instance: string) => Promise<Package>): void {
  instanceSource = source;
}

/**
 * Loads the package with the build and thread count of this process's
 * group: the plain SIMD build is forced off relaxed SIMD; the relaxed group
 * must get the relaxed build (the parent starts it with the flag Node 20
 * needs), and the threads asked for, or the job fails. Without `instance`
 * it is 'linformer-wasm' as users import it; with one, that instance (see
 * setPackageInstances), with loader state of its own.
 */
export async function loadPackage(build: Build, threads: 1 | 2 = 1, instance?: string): Promise<Package> {
  const key = instance ?? '';
  const had = loaded.get(key);
  if (had) {
    if ((had.backendInfo().threads ?? 1) !== threads) throw new Error(`linformer-wasm instance '${key}' already runs ${had.backendInfo().threads} thread(s), not ${threads}`);
    return had;
  }
  let lw: Package;
  if (instance === undefined) lw = await import('linformer-wasm');
  else if (instanceSource) lw = await instanceSource(instance);
  else throw new Error(`no way to load a second instance of linformer-wasm ('${instance}'): setPackageInstances was not called`);
  await lw.init(undefined, { relaxedSimd: build === 'relaxed', numThreads: threads });
  const info = lw.backendInfo();
  if ((build === 'relaxed') !== (info.build === 'relaxed-simd')) {
    throw new Error(`expected the ${build} build, got '${info.build}' (relaxed SIMD available: ${info.relaxedSimdAvailable})`);
  }
  if (info.threads !== threads) {
    // (a dist/ from before numThreads has no threads at all)
    throw new Error(`asked linformer-wasm${instance ? ` (instance ${instance})` : ''} for ${threads} thread(s), it runs ${info.threads ?? 1}: ${info.threadsUnavailable ?? 'its backendInfo() has no threads'}`);
  }
  for (const [other, o] of loaded) {
    if (o === lw || o.init === lw.init) throw new Error(`linformer-wasm instance '${key}' is the same module as '${other}'`);
  }
  loaded.set(key, lw);
  return lw;
}

export function packageLabel(lw: Package): string {
  const { build, threads } = lw.backendInfo();
  return `linformer-wasm ${build}${threads > 1 ? ` ${threads}T` : ''}`;
}

type AttentionModule = InstanceType<Package['LinearMultiheadAttention']> | InstanceType<Package['MultiheadAttention']>;

/** Small random in/out biases, which torch's initialisation leaves at zero, so the check covers them. */
function withBiases(mod: AttentionModule, E: number): void {
  const rng = new Rng(WEIGHT_SEED + 1);
  const sd = mod.stateDict();
  sd['in_proj_bias'] = randn(rng, [3 * E], 0.1);
  sd['out_proj.bias'] = randn(rng, [E], 0.1);
  mod.loadStateDict(sd);
}

export interface PackageAttention {
  engine: TimedEngine;
  module: AttentionModule;
  /** The module's weights as torch state_dict tensors, for the other engines. */
  stateDict: StateDict;
}

export interface AttentionSetup {
  kind: AttentionKind;
  L: number;
  E: number;
  H: number;
  k: number;
  /** Linformer's E/F sharing; default 'none'. */
  sharing?: 'none' | 'layerwise' | 'kv' | 'per-head';
}

export function setupOf(shape: AttentionShape, kind: AttentionKind): AttentionSetup {
  return { kind, L: shape.L, E: shape.E, H: shape.H, k: shape.k };
}

/**
 * The package's module for `s`. `userWeightsOnly` keeps torch's initial
 * weights as they are (for timing a cold start as a user sees it).
 */
export function packageAttention(lw: Package, s: AttentionSetup, { userWeightsOnly = false, id = 'package' } = {}): PackageAttention {
  const { L, E, H, k } = s;
  const module: AttentionModule =
    s.kind === 'linformer'
      ? new lw.LinearMultiheadAttention(E, H, { seqLen: L, projK: k, paramSharing: s.sharing ?? 'none', seed: WEIGHT_SEED })
      : new lw.MultiheadAttention(E, H, { seed: WEIGHT_SEED });
  if (!userWeightsOnly) withBiases(module, E);
  const dims = [L, 1, E];
  const smallL = Math.min(L, PREWARM_L);
  const small = randn(new Rng(99), [smallL, 1, E]);
  const options = { needWeights: false };
  const threaded = lw.backendInfo().threads > 1;
  const engine: TimedEngine = {
    id,
    label: packageLabel(lw),
    run(x) {
      const t = { data: x, dims };
      return module.forward(t, t, t, options).output.data;
    },
    // a Linformer module takes a source shorter than its seqLen, so a small call exercises the same kernels
    prewarm: (ms) => repeatFor(ms, () => module.forward(small, small, small, options)),
    // its workers sleep in Atomics.wait, after half a millisecond's spin at the barrier
    settle: threaded ? () => settleProcess(PACKAGE_SETTLE_FIXED_MS) : undefined,
    dispose: () => module.dispose(),
    gemmTile: lw.backendInfo().gemmTile,
  };
  return {
    engine,
    module,
    // made on demand: copying the weights out is no part of a cold start
    get stateDict() {
      return module.stateDict();
    },
  };
}

export type OrtOrder = 'spec' | 'project-first';

export function ortId(threads: 1 | 2, order?: OrtOrder): string {
  return `ort${threads}${order ? `-${order}` : ''}`;
}

export function ortLabel(threads: 1 | 2, order?: OrtOrder): string {
  return `onnxruntime-web ${threads}T${order ? ` (${order})` : ''}`;
}

export async function ortAttention(s: AttentionSetup, stateDict: StateDict, threads: 1 | 2, order?: OrtOrder): Promise<TimedEngine> {
  const { createOrtAttention } = await import('../engines/onnxruntime.js');
  const { kind, L, E, H, k } = s;
  const session = await createOrtAttention({ kind, embedDim: E, numHeads: H, L, seqLen: L, projK: k, stateDict, threads, linformerOrder: order });
  return {
    id: ortId(threads, order),
    label: ortLabel(threads, order),
    run: (x) => session.run(x),
    async prewarm(ms) {
      const smallL = Math.min(L, PREWARM_L);
      const smallK = Math.min(k, smallL);
      const sd = randomStateDict(new Rng(5), { embedDim: E, numHeads: H, seqLen: smallL, projK: smallK }, kind === 'linformer');
      const small = await createOrtAttention({ kind, embedDim: E, numHeads: H, L: smallL, seqLen: smallL, projK: smallK, stateDict: sd, threads, linformerOrder: order });
      const x = randn(new Rng(98), [smallL * E]).data;
      await repeatFor(ms, () => small.run(x));
      await small.dispose();
    },
    // its idle threads spin for tens of milliseconds after a run
    settle: threads > 1 ? () => settleProcess(ORT_SETTLE_FIXED_MS) : undefined,
    dispose: () => session.dispose(),
  };
}

/** Creates an engine, or records why it cannot be created. */
export async function tryCreate(id: string, label: string, create: () => Promise<TimedEngine> | TimedEngine, failed: EngineResult[]): Promise<TimedEngine | null> {
  try {
    return await create();
  } catch (e) {
    failed.push({ id, label, error: errorText(e) });
    return null;
  }
}

const ORDERS: OrtOrder[] = ['spec', 'project-first'];

/** The onnxruntime-web engines of one attention setup (both Linformer graph orders). */
export async function ortEngines(s: AttentionSetup, stateDict: StateDict, threads: 1 | 2, failed: EngineResult[]): Promise<TimedEngine[]> {
  const engines: TimedEngine[] = [];
  const orders = s.kind === 'linformer' ? ORDERS : [undefined];
  for (const order of orders) {
    const e = await tryCreate(ortId(threads, order), ortLabel(threads, order), () => ortAttention(s, stateDict, threads, order), failed);
    if (e) engines.push(e);
  }
  return engines;
}
