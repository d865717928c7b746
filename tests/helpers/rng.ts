// The project's one seeded generator for test data, used by the tests, the
// fuzzers, the soak and the benchmark harness alike, and torch-shaped random
// parameters drawn from torch's distributions. It is independent of the
// package's own generator (src/nn/init.ts) on purpose: the tests feed the
// package data and weights it did not make.

export interface F32Tensor {
  data: Float32Array;
  dims: number[];
}

export interface U8Tensor {
  data: Uint8Array;
  dims: number[];
}

/** mulberry32, plus Box–Muller normals. */
export class Rng {
  private state: number;
  private spare: number | null = null;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  uniform(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  normal(): number {
    if (this.spare !== null) {
      const s = this.spare;
      this.spare = null;
      return s;
    }
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.uniform() * (hi - lo + 1));
  }

  bool(p = 0.5): boolean {
    return this.uniform() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.uniform() * items.length)];
  }
}

export function count(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

/** N(0, std²) entries. */
export function randn(rng: Rng, dims: readonly number[], std = 1): F32Tensor {
  const data = new Float32Array(count(dims));
  for (let i = 0; i < data.length; i++) data[i] = rng.normal() * std;
  return { data, dims: dims.slice() };
}

/** U(-bound, bound) entries. */
export function randu(rng: Rng, dims: readonly number[], bound: number): F32Tensor {
  const data = new Float32Array(count(dims));
  for (let i = 0; i < data.length; i++) data[i] = (2 * rng.uniform() - 1) * bound;
  return { data, dims: dims.slice() };
}

/** A boolean mask (1 = masked out) with probability p per entry; keepOnePerRow unmasks one entry of each last-axis row. */
export function boolMask(rng: Rng, dims: readonly number[], p: number, keepOnePerRow = true): U8Tensor {
  const data = new Uint8Array(count(dims));
  for (let i = 0; i < data.length; i++) data[i] = rng.bool(p) ? 1 : 0;
  const w = dims[dims.length - 1];
  if (keepOnePerRow && w > 0) {
    for (let r = 0; r < data.length / w; r++) data[r * w + rng.int(0, w - 1)] = 0;
  }
  return { data, dims: dims.slice() };
}

/** An additive mask: N(0,1) with some -inf (keepOnePerRow keeps one finite entry per row). */
export function floatMask(rng: Rng, dims: readonly number[], pInf: number, keepOnePerRow = true): F32Tensor {
  const b = boolMask(rng, dims, pInf, keepOnePerRow);
  const data = new Float32Array(b.data.length);
  for (let i = 0; i < data.length; i++) data[i] = b.data[i] ? -Infinity : rng.normal();
  return { data, dims: dims.slice() };
}

export function copyTensor<T extends { data: Float32Array | Uint8Array; dims: readonly number[] }>(t: T): T {
  return { ...t, data: t.data.slice(), dims: t.dims.slice() } as T;
}

export interface ParamConfig {
  embedDim: number;
  numHeads: number;
  bias?: boolean;
  addBiasKV?: boolean;
  kdim?: number;
  vdim?: number;
  /** Linformer only. */
  seqLen?: number;
  projK?: number;
  paramSharing?: 'none' | 'layerwise' | 'kv' | 'per-head';
  /** Linformer: this module uses another's E (no e/f_proj_weight of its own). */
  sharesE?: boolean;
}

/**
 * A torch state_dict for the config, drawn from torch's initial
 * distributions (xavier-uniform projections, Linear-style out_proj,
 * xavier-normal bias_*), with in/out biases N(0, 0.1²) so they count.
 */
export function randomStateDict(rng: Rng, c: ParamConfig, linformer: boolean): Record<string, F32Tensor> {
  const E = c.embedDim;
  const kdim = c.kdim ?? E;
  const vdim = c.vdim ?? E;
  const bias = c.bias ?? true;
  const xavier = (out: number, inF: number) => randu(rng, [out, inF], Math.sqrt(6 / (out + inF)));
  const sd: Record<string, F32Tensor> = {};
  if (kdim === E && vdim === E) sd.in_proj_weight = xavier(3 * E, E);
  else {
    sd.q_proj_weight = xavier(E, E);
    sd.k_proj_weight = xavier(E, kdim);
    sd.v_proj_weight = xavier(E, vdim);
  }
  if (bias) sd.in_proj_bias = randn(rng, [3 * E], 0.1);
  if (c.addBiasKV) {
    sd.bias_k = randn(rng, [1, 1, E], 1 / Math.sqrt(E));
    sd.bias_v = randn(rng, [1, 1, E], 1 / Math.sqrt(E));
  }
  sd['out_proj.weight'] = randu(rng, [E, E], 1 / Math.sqrt(E));
  if (bias) sd['out_proj.bias'] = randn(rng, [E], 0.1);
  if (linformer) {
    const k = c.projK!;
    const n = c.seqLen!;
    const sharing = c.paramSharing ?? 'none';
    const proj = (): F32Tensor => {
      if (sharing !== 'per-head') return xavier(k, n);
      const data = new Float32Array(c.numHeads * k * n);
      for (let h = 0; h < c.numHeads; h++) data.set(xavier(k, n).data, h * k * n);
      return { data, dims: [c.numHeads, k, n] };
    };
    if (!c.sharesE) {
      sd.e_proj_weight = proj();
      if (sharing === 'none' || sharing === 'per-head') sd.f_proj_weight = proj();
    }
    sd.bias_e = randn(rng, [1, 1, k], 1 / Math.sqrt(k));
    sd.bias_f = randn(rng, [1, 1, k], 1 / Math.sqrt(k));
  }
  return sd;
}
