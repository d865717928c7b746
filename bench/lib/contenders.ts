// The engines under test, each wrapped as a TimedEngine: this package,
// onnxruntime-web, TF.js and, as the plain-JS contender, the float64
// reference of tests/helpers/reference.ts. Heavy modules are imported on
// demand so a process loads only the engines it runs.
import type { AttentionKind, AttentionShape, GemmShape } from './shapes.js';
import type { StateDict } from '../graphs/attention-onnx.js';
import { repeatFor, type TimedEngine } from './timing.js';
import { randn, randomStateDict, Rng } from '../../tests/helpers/rng.js';

type Package = typeof import('linformer-wasm');

/** Seed of every module's weights, so each process builds the same ones. */
export const WEIGHT_SEED = 7;
/** Sequence length of the small warm-up problem. */
const PREWARM_L = 64;

let pkg: Package | undefined;

/**
 * Loads the package with the build of this process's group: the plain SIMD
 * build is forced off relaxed SIMD; the relaxed group must get the relaxed
 * build (the parent starts it with the flag Node 20 needs).
 */
export async function loadPackage(group: 'simd' | 'relaxed'): Promise<Package> {
  if (pkg) return pkg;
  const lw = await import('linformer-wasm');
  await lw.init(undefined, { relaxedSimd: group === 'relaxed' });
  const build = lw.backendInfo().build;
  if ((group === 'relaxed') !== (build === 'relaxed-simd')) {
    throw new Error(`expected the ${group} build, got '${build}' (relaxed SIMD available: ${lw.backendInfo().relaxedSimdAvailable})`);
  }
  return (pkg = lw);
}

export function packageLabel(lw: Package): string {
  return `linformer-wasm ${lw.backendInfo().build}`;
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
export function packageAttention(lw: Package, s: AttentionSetup, { userWeightsOnly = false } = {}): PackageAttention {
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
  const engine: TimedEngine = {
    id: 'package',
    label: packageLabel(lw),
    run(x) {
      const t = { data: x, dims };
      return module.forward(t, t, t, options).output.data;
    },
    // a Linformer module takes a source shorter than its seqLen, so a small call exercises the same kernels
    prewarm: (ms) => repeatFor(ms, () => module.forward(small, small, small, options)),
    dispose: () => module.dispose(),
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
    dispose: () => session.dispose(),
  };
}

/** The float64 reference, timed: the plain-JS contender. */
export async function jsAttention(s: AttentionSetup, stateDict: StateDict): Promise<TimedEngine> {
  const { referenceAttention } = await import('./spot-check.js');
  return { id: 'js', label: 'plain JS', run: (x) => referenceAttention(s, stateDict, x) };
}

// ---------------------------------------------------------------- SGEMM

/** B of a GEMM shape: the same in every process. */
export function gemmB(g: GemmShape): Float32Array {
  return randn(new Rng(1000 + g.M + g.K + g.N), [g.K * g.N]).data;
}

/** How a caller holds B (packed per call or once) and C (a new array or `out`). */
export interface MatmulWay {
  prepacked: boolean;
  out: boolean;
}

/**
 * ops.matmul in the four ways a caller can hold its operands: B passed on
 * every call (packed each time) or packed once by ops.prepack, as TF.js and
 * ORT hold theirs; C a new array each call, or written into one `out` tensor
 * (torch.matmul's out=), which saves the new array's page faults.
 */
export function packageMatmul(lw: Package, g: GemmShape, b: Float32Array, way: MatmulWay): TimedEngine {
  const rhs = way.prepacked ? lw.ops.prepack({ data: b, dims: [g.K, g.N] }) : { data: b, dims: [g.K, g.N] };
  const out = way.out ? { data: new Float32Array(g.M * g.N), dims: [g.M, g.N] } : undefined;
  const dims = [g.M, g.K];
  const sa = randn(new Rng(3), [64, 64]);
  const sb = randn(new Rng(4), [64, 64]);
  return {
    id: packageMatmulId(way),
    label: packageMatmulLabel(lw, way),
    run: (a) => lw.ops.matmul({ data: a, dims }, rhs, { out }).data,
    prewarm: (ms) => repeatFor(ms, () => lw.ops.matmul(sa, sb)),
    dispose: () => {
      if (rhs instanceof lw.ops.PackedMatrix) rhs.dispose();
    },
  };
}

export function packageMatmulLabel(lw: Package, way: MatmulWay): string {
  return [packageLabel(lw), way.prepacked ? 'B prepacked' : '', way.out ? 'out' : ''].filter(Boolean).join(', ');
}

/** 'package', 'package-prepacked', 'package-out', 'package-prepacked-out'. */
export function packageMatmulId(way: MatmulWay): string {
  return ['package', way.prepacked ? 'prepacked' : '', way.out ? 'out' : ''].filter(Boolean).join('-');
}

export async function tfjsMatmul(g: GemmShape, b: Float32Array): Promise<TimedEngine> {
  const { createTfjsMatmul } = await import('../engines/tfjs.js');
  const mm = await createTfjsMatmul(g.M, g.K, g.N, b);
  return {
    id: 'tfjs',
    label: 'TF.js wasm (XNNPACK)',
    run: (a) => mm.run(a),
    async prewarm(ms) {
      const small = await createTfjsMatmul(64, 64, 64);
      const a = randn(new Rng(5), [64 * 64]).data;
      await repeatFor(ms, () => small.run(a));
      small.dispose();
    },
    dispose: () => mm.dispose(),
  };
}

export async function ortMatmul(g: GemmShape, b: Float32Array, threads: 1 | 2): Promise<TimedEngine> {
  const { createOrtMatmul } = await import('../engines/onnxruntime.js');
  const mm = await createOrtMatmul(g.M, g.K, g.N, threads, b);
  return {
    id: ortId(threads),
    label: ortLabel(threads),
    run: (a) => mm.run(a),
    async prewarm(ms) {
      const small = await createOrtMatmul(64, 64, 64, threads);
      const a = randn(new Rng(5), [64 * 64]).data;
      await repeatFor(ms, () => small.run(a));
      await small.dispose();
    },
    dispose: () => mm.dispose(),
  };
}

/** The float64 reference's matmul, timed: the plain-JS contender. */
export async function jsMatmulEngine(g: GemmShape, b: Float32Array): Promise<TimedEngine> {
  const { matmul64 } = await import('../../tests/helpers/reference.js');
  const rhs = { data: b, dims: [g.K, g.N] };
  return { id: 'js', label: 'plain JS', run: (a) => Float32Array.from(matmul64({ data: a, dims: [g.M, g.K] }, rhs).data) };
}
