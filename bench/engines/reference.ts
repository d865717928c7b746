// Plain-JS reference of both attention kinds (self-attention, N = 1, no masks),
// straight loops with float64 accumulation. For checking engines at small sizes.
import type { StateDict, Tensor } from '../graphs/attention-onnx.js';

export interface JsAttentionOptions {
  kind: 'standard' | 'linformer';
  embedDim: number;
  numHeads: number;
  seqLen?: number;
  projK?: number;
  L: number;
  stateDict: StateDict;
}

/** C (M,N) = A (M,K) · B (K,N), row-major, float64 accumulation. */
export function jsMatmul(a: Float32Array, b: Float32Array, M: number, K: number, N: number): Float32Array {
  const c = new Float32Array(M * N);
  const acc = new Float64Array(N);
  for (let i = 0; i < M; i++) {
    acc.fill(0);
    for (let p = 0; p < K; p++) {
      const av = a[i * K + p];
      for (let j = 0; j < N; j++) acc[j] += av * b[p * N + j];
    }
    for (let j = 0; j < N; j++) c[i * N + j] = acc[j];
  }
  return c;
}

function need(sd: StateDict, key: string): Tensor {
  const t = sd[key];
  if (!t) throw new Error(`state dict: missing ${key}`);
  return t;
}

/** x (L,1,E) or (L,E) data → y of the same length. */
export function createJsAttention(opts: JsAttentionOptions): { run(x: Float32Array): Float32Array } {
  const { kind, embedDim: E, numHeads: H, L, stateDict: sd } = opts;
  const d = E / H;
  const S = L;
  const Win = need(sd, 'in_proj_weight').data;
  const bin = sd['in_proj_bias']?.data ?? new Float32Array(3 * E);
  const Wo = need(sd, 'out_proj.weight').data;
  const bo = sd['out_proj.bias']?.data ?? new Float32Array(E);
  let K = 0, seqLen = 0;
  let Ew: Float32Array | undefined, Fw: Float32Array | undefined, be: Float32Array | undefined, bf: Float32Array | undefined;
  if (kind === 'linformer') {
    const e = need(sd, 'e_proj_weight');
    K = opts.projK ?? e.dims[0];
    seqLen = opts.seqLen ?? e.dims[1];
    Ew = e.data;
    Fw = sd['f_proj_weight']?.data ?? Ew;
    be = sd['bias_e']?.data ?? new Float32Array(K);
    bf = sd['bias_f']?.data ?? new Float32Array(K);
  }

  // y[r] = x[r]·W[row0 + j]ᵀ + b[row0 + j] for j < E
  const linear = (x: Float64Array, rows: number, W: Float32Array, b: Float32Array, row0: number): Float64Array => {
    const y = new Float64Array(rows * E);
    for (let r = 0; r < rows; r++)
      for (let j = 0; j < E; j++) {
        let s = b[row0 + j];
        for (let p = 0; p < E; p++) s += x[r * E + p] * W[(row0 + j) * E + p];
        y[r * E + j] = s;
      }
    return y;
  };

  return {
    run(xf: Float32Array): Float32Array {
      const x = Float64Array.from(xf);
      const q = linear(x, L, Win, bin, 0);
      let k = linear(x, S, Win, bin, E);
      let v = linear(x, S, Win, bin, 2 * E);
      const scale = 1 / Math.sqrt(d);
      for (let i = 0; i < q.length; i++) q[i] *= scale;
      let P = S;
      if (kind === 'linformer') {
        const proj = (M: Float32Array, bias: Float32Array, src: Float64Array) => {
          const out = new Float64Array(K * E);
          for (let r = 0; r < K; r++)
            for (let j = 0; j < E; j++) {
              let s = bias[r];
              for (let t = 0; t < S; t++) s += M[r * seqLen + t] * src[t * E + j];
              out[r * E + j] = s;
            }
          return out;
        };
        k = proj(Ew!, be!, k);
        v = proj(Fw!, bf!, v);
        P = K;
      }
      const ctx = new Float64Array(L * E);
      const sc = new Float64Array(P);
      for (let h = 0; h < H; h++)
        for (let i = 0; i < L; i++) {
          let mx = -Infinity;
          for (let t = 0; t < P; t++) {
            let s = 0;
            for (let c = 0; c < d; c++) s += q[i * E + h * d + c] * k[t * E + h * d + c];
            sc[t] = s;
            if (s > mx) mx = s;
          }
          let sum = 0;
          for (let t = 0; t < P; t++) sum += sc[t] = Math.exp(sc[t] - mx);
          for (let c = 0; c < d; c++) {
            let s = 0;
            for (let t = 0; t < P; t++) s += sc[t] * v[t * E + h * d + c];
            ctx[i * E + h * d + c] = s / sum;
          }
        }
      return Float32Array.from(linear(ctx, L, Wo, bo, 0));
    },
  };
}

/** Deterministic uniform(-a, a) generator (mulberry32). */
export function rng(seed = 1): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomTensor(dims: number[], a: number, r: () => number): Tensor {
  const n = dims.reduce((x, y) => x * y, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = (r() * 2 - 1) * a;
  return { data, dims };
}

/** A random state dict with torch-like scales (xavier-ish weights, small non-zero biases). */
export function randomStateDict(
  kind: 'standard' | 'linformer',
  E: number,
  opts: { seqLen?: number; projK?: number; shareEF?: boolean; seed?: number } = {},
): StateDict {
  const r = rng(opts.seed ?? 1);
  const sd: StateDict = {
    in_proj_weight: randomTensor([3 * E, E], Math.sqrt(6 / (4 * E)), r),
    in_proj_bias: randomTensor([3 * E], 0.1, r),
    'out_proj.weight': randomTensor([E, E], 1 / Math.sqrt(E), r),
    'out_proj.bias': randomTensor([E], 0.1, r),
  };
  if (kind === 'linformer') {
    const K = opts.projK!, n = opts.seqLen!;
    const a = Math.sqrt(6 / (K + n));
    sd['e_proj_weight'] = randomTensor([K, n], a, r);
    if (!opts.shareEF) sd['f_proj_weight'] = randomTensor([K, n], a, r);
    sd['bias_e'] = randomTensor([1, 1, K], 0.5, r);
    sd['bias_f'] = randomTensor([1, 1, K], 0.5, r);
  }
  return sd;
}
