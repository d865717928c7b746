// The SGEMM engines, each wrapped as a TimedEngine: the package's ops.matmul
// in the four ways a caller can hold its operands, TF.js, onnxruntime-web
// and the float64 reference's matmul (Node only).
import type { GemmShape } from './shapes.js';
import { repeatFor, type TimedEngine } from './timing.js';
import { randn, Rng } from '../../tests/helpers/rng.js';
import { ortId, ortLabel, packageLabel, type Package } from './contenders.js';

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
