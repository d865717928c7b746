// The float64 reference of the project, for the tests and the benchmark
// harness alike: both attention modules as docs/semantics.md defines them
// (torch.nn.MultiheadAttention in eval mode with torch 2.x's mask rule;
// Linformer attention with its sharing modes) and the three ops (matmul,
// F.linear, softmax). Loops over plain arrays, no code from the package. NaN
// and ±Infinity follow IEEE arithmetic, as torch's float computation does.
// The loops read rows contiguously so that the harness can also time it as
// its plain-JS contender.
import assert from 'node:assert/strict';

export interface AnyTensor {
  readonly data: ArrayLike<number>;
  readonly dims: readonly number[];
}

/** A mask: Uint8Array data is boolean (non-zero = masked out), anything else additive. */
export interface AnyMask {
  readonly data: Uint8Array | Float32Array | Float64Array;
  readonly dims: readonly number[];
}

export interface Ref64 {
  data: Float64Array;
  dims: number[];
}

export interface RefConfig {
  embedDim: number;
  numHeads: number;
  bias?: boolean;
  addBiasKV?: boolean;
  addZeroAttn?: boolean;
  kdim?: number;
  vdim?: number;
  batchFirst?: boolean;
  /** Linformer only. */
  seqLen?: number;
  projK?: number;
  paramSharing?: 'none' | 'layerwise' | 'kv' | 'per-head';
}

export interface RefForward {
  keyPaddingMask?: AnyMask | null;
  attnMask?: AnyMask | null;
  needWeights?: boolean;
  averageAttnWeights?: boolean;
}

export interface RefResult {
  output: Ref64;
  weights: Ref64 | null;
}

type Params = Record<string, AnyTensor> | Map<string, AnyTensor>;

function param(p: Params, key: string): AnyTensor | undefined {
  return p instanceof Map ? p.get(key) : p[key];
}

// ------------------------------------------------------------------ ops

/** (M,K)·(K,N), or (M,K)·(N,K)ᵀ, in float64. */
export function matmul64(a: AnyTensor, b: AnyTensor, transposeB = false): Ref64 {
  const [M, K] = a.dims;
  const N = transposeB ? b.dims[0] : b.dims[1];
  const out = new Float64Array(M * N);
  const A = a.data;
  const B = b.data;
  for (let i = 0; i < M; i++) {
    if (transposeB) {
      for (let j = 0; j < N; j++) {
        let s = 0;
        for (let p = 0; p < K; p++) s += A[i * K + p] * B[j * K + p];
        out[i * N + j] = s;
      }
    } else {
      // row i of C accumulates a[i, p]·B[p, :]: B is read row by row
      for (let p = 0; p < K; p++) {
        const x = A[i * K + p];
        for (let j = 0; j < N; j++) out[i * N + j] += x * B[p * N + j];
      }
    }
  }
  return { data: out, dims: [M, N] };
}

/** torch F.linear: x (…, in) · weight (out, in)ᵀ + bias (out). */
export function linear64(x: AnyTensor, weight: AnyTensor, bias?: AnyTensor | null): Ref64 {
  const inF = x.dims[x.dims.length - 1];
  const outF = weight.dims[0];
  const rows = x.dims.slice(0, -1).reduce((a, b) => a * b, 1);
  const out = new Float64Array(rows * outF);
  const X = x.data;
  const W = weight.data;
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < outF; j++) {
      let s = 0;
      for (let i = 0; i < inF; i++) s += X[r * inF + i] * W[j * inF + i];
      out[r * outF + j] = s + (bias ? bias.data[j] : 0);
    }
  }
  return { data: out, dims: [...x.dims.slice(0, -1), outF] };
}

/** One softmax row in place, as torch: max subtracted; a NaN or an all -inf row gives NaN. */
function softmaxRow(x: Float64Array, off: number, n: number): void {
  let m = -Infinity;
  for (let j = 0; j < n; j++) m = Math.max(m, x[off + j]); // Math.max propagates NaN
  let sum = 0;
  for (let j = 0; j < n; j++) {
    const e = Math.exp(x[off + j] - m); // -inf - -inf = NaN: a fully masked row is NaN
    x[off + j] = e;
    sum += e;
  }
  for (let j = 0; j < n; j++) x[off + j] /= sum;
}

/** torch.softmax(x, dim): dim counts from the end when negative; a 0-d x is one value. */
export function softmax64(x: AnyTensor, dim = -1): Ref64 {
  const rank = Math.max(x.dims.length, 1);
  const axis = dim < 0 ? dim + rank : dim;
  const n = x.dims.length > 0 ? x.dims[axis] : 1;
  const inner = x.dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const outer = x.dims.slice(0, axis).reduce((a, b) => a * b, 1);
  const data = Float64Array.from(x.data as ArrayLike<number>);
  const row = new Float64Array(n);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const at = (j: number) => (o * n + j) * inner + i;
      for (let j = 0; j < n; j++) row[j] = data[at(j)];
      softmaxRow(row, 0, n);
      for (let j = 0; j < n; j++) data[at(j)] = row[j];
    }
  }
  return { data, dims: x.dims.slice() };
}

// ------------------------------------------------------------------ attention

/** (L,N,F) / (N,L,F) / unbatched (L,F) → batch-major (N, R, F). */
function toBatchMajor(t: AnyTensor, batched: boolean, batchFirst: boolean): { x: Float64Array; N: number; R: number; F: number } {
  if (!batched) {
    const [R, F] = t.dims;
    return { x: Float64Array.from(t.data as ArrayLike<number>), N: 1, R, F };
  }
  const F = t.dims[2];
  const [N, R] = batchFirst ? [t.dims[0], t.dims[1]] : [t.dims[1], t.dims[0]];
  const x = new Float64Array(N * R * F);
  for (let n = 0; n < N; n++) {
    for (let r = 0; r < R; r++) {
      const src = batchFirst ? (n * R + r) * F : (r * N + n) * F;
      for (let f = 0; f < F; f++) x[(n * R + r) * F + f] = t.data[src + f];
    }
  }
  return { x, N, R, F };
}

/** y (rows, out) = x (rows, in) · W[wRow0 : wRow0+out, :]ᵀ + b[bOff : bOff+out]. */
function project(x: Float64Array, rows: number, inF: number, w: AnyTensor, wRow0: number, outF: number, b: AnyTensor | undefined, bOff: number): Float64Array {
  const y = new Float64Array(rows * outF);
  const W = w.data;
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < outF; j++) {
      let s = 0;
      const wo = (wRow0 + j) * inF;
      for (let i = 0; i < inF; i++) s += x[r * inF + i] * W[wo + i];
      y[r * outF + j] = s + (b ? b.data[bOff + j] : 0);
    }
  }
  return y;
}

interface Projected {
  batched: boolean;
  N: number;
  L: number;
  S: number;
  E: number;
  H: number;
  d: number;
  /** (N, L, E), already scaled by d^-1/2 after the bias. */
  q: Float64Array;
  /** (N, S, E) */
  k: Float64Array;
  v: Float64Array;
}

function inProjection(c: RefConfig, p: Params, query: AnyTensor, key: AnyTensor, value: AnyTensor): Projected {
  const E = c.embedDim;
  const H = c.numHeads;
  const d = E / H;
  const batched = query.dims.length === 3;
  const bf = batched && (c.batchFirst ?? false);
  const xq = toBatchMajor(query, batched, bf);
  const xk = toBatchMajor(key, batched, bf);
  const xv = toBatchMajor(value, batched, bf);
  const N = xq.N;
  const L = xq.R;
  const S = xk.R;
  const inW = param(p, 'in_proj_weight');
  const inB = param(p, 'in_proj_bias');
  const q = project(xq.x, N * L, xq.F, inW ?? param(p, 'q_proj_weight')!, 0, E, inB, 0);
  const k = project(xk.x, N * S, xk.F, inW ?? param(p, 'k_proj_weight')!, inW ? E : 0, E, inB, E);
  const v = project(xv.x, N * S, xv.F, inW ?? param(p, 'v_proj_weight')!, inW ? 2 * E : 0, E, inB, 2 * E);
  const scale = 1 / Math.sqrt(d);
  for (let i = 0; i < q.length; i++) q[i] *= scale;
  return { batched, N, L, S, E, H, d, q, k, v };
}

/** The additive value of a mask entry: boolean → -inf / 0, float as is. */
function maskValue(m: AnyMask, i: number): number {
  return m.data instanceof Uint8Array ? (m.data[i] ? -Infinity : 0) : m.data[i];
}

/**
 * Scores, masks, softmax, weighted sum, out-projection, weights: the part
 * both attentions share. keys/values are (N, P, E); `kpmAdd(n, p)` is the
 * additive key-padding term (0 past the given positions).
 */
function attend(
  c: RefConfig,
  p: Params,
  pr: Projected,
  keys: Float64Array,
  values: Float64Array,
  P: number,
  attnMask: AnyMask | null | undefined,
  kpmAdd: ((n: number, j: number) => number) | null,
  fo: RefForward,
): RefResult {
  const { N, L, E, H, d, q, batched } = pr;
  const need = fo.needWeights ?? true;
  const average = fo.averageAttnWeights ?? true;
  const probs = new Float64Array(N * H * L * P);
  const attn = new Float64Array(N * L * E);
  const amWidth = attnMask ? attnMask.dims[attnMask.dims.length - 1] : 0;
  const am3d = attnMask ? attnMask.dims.length === 3 : false;
  const row = new Float64Array(P);
  for (let n = 0; n < N; n++) {
    for (let h = 0; h < H; h++) {
      for (let l = 0; l < L; l++) {
        for (let j = 0; j < P; j++) {
          let s = 0;
          for (let t = 0; t < d; t++) s += q[(n * L + l) * E + h * d + t] * keys[(n * P + j) * E + h * d + t];
          if (attnMask && j < amWidth) {
            const base = am3d ? ((n * H + h) * L + l) * amWidth : l * amWidth;
            s += maskValue(attnMask, base + j);
          }
          if (kpmAdd) s += kpmAdd(n, j);
          row[j] = s;
        }
        softmaxRow(row, 0, P);
        probs.set(row, ((n * H + h) * L + l) * P);
        // attn row += p_j · values row j, over the head's d columns
        const at = (n * L + l) * E + h * d;
        for (let j = 0; j < P; j++) {
          const pj = row[j];
          const vj = (n * P + j) * E + h * d;
          for (let t = 0; t < d; t++) attn[at + t] += pj * values[vj + t];
        }
      }
    }
  }
  const y = project(attn, N * L, E, param(p, 'out_proj.weight')!, 0, E, param(p, 'out_proj.bias'), 0);
  // back to the caller's layout
  let output: Ref64;
  if (!batched) output = { data: y, dims: [L, E] };
  else if (c.batchFirst) output = { data: y, dims: [N, L, E] };
  else {
    const data = new Float64Array(L * N * E);
    for (let n = 0; n < N; n++) for (let l = 0; l < L; l++) for (let e = 0; e < E; e++) data[(l * N + n) * E + e] = y[(n * L + l) * E + e];
    output = { data, dims: [L, N, E] };
  }
  let weights: Ref64 | null = null;
  if (need) {
    if (average) {
      const data = new Float64Array(N * L * P);
      for (let n = 0; n < N; n++)
        for (let l = 0; l < L; l++)
          for (let j = 0; j < P; j++) {
            let s = 0;
            for (let h = 0; h < H; h++) s += probs[((n * H + h) * L + l) * P + j];
            data[(n * L + l) * P + j] = s / H;
          }
      weights = { data, dims: batched ? [N, L, P] : [L, P] };
    } else {
      weights = { data: probs, dims: batched ? [N, H, L, P] : [H, L, P] };
    }
  }
  return { output, weights };
}

/**
 * x (N, S, E) copied into N blocks of `rows` rows, with bias_k's or bias_v's
 * row after the S rows when the module has addBiasKV; other rows stay zero.
 */
function withBiasRow(c: RefConfig, p: Params, x: Float64Array, bias: 'bias_k' | 'bias_v', N: number, S: number, E: number, rows: number): Float64Array {
  const out = new Float64Array(N * rows * E);
  for (let n = 0; n < N; n++) {
    out.set(x.subarray(n * S * E, (n + 1) * S * E), n * rows * E);
    if (c.addBiasKV) out.set(Float64Array.from(param(p, bias)!.data as ArrayLike<number>), (n * rows + S) * E);
  }
  return out;
}

/** torch.nn.MultiheadAttention (eval) in float64. */
export function referenceMHA(c: RefConfig, p: Params, query: AnyTensor, key: AnyTensor, value: AnyTensor, fo: RefForward = {}): RefResult {
  const pr = inProjection(c, p, query, key, value);
  const { N, S, E } = pr;
  const S1 = S + (c.addBiasKV ? 1 : 0);
  const P = S1 + (c.addZeroAttn ? 1 : 0);
  // the zero-attention row (the last of P) stays zero
  const keys = withBiasRow(c, p, pr.k, 'bias_k', N, S, E, P);
  const values = withBiasRow(c, p, pr.v, 'bias_v', N, S, E, P);
  const kpm = fo.keyPaddingMask;
  const kpmAdd = kpm ? (n: number, j: number) => (j < S ? maskValue(kpm, n * S + j) : 0) : null;
  return attend(c, p, pr, keys, values, P, fo.attnMask, kpmAdd, fo);
}

/**
 * Linformer attention in float64. `sharedE`: the owner's
 * e_proj_weight for a module built with shareWith.
 */
export function referenceLinformer(
  c: RefConfig,
  p: Params,
  query: AnyTensor,
  key: AnyTensor,
  value: AnyTensor,
  fo: RefForward = {},
  sharedE?: AnyTensor,
): RefResult {
  const pr = inProjection(c, p, query, key, value);
  const { N, S, E, H, d } = pr;
  const kk = c.projK!;
  const seqLen = c.seqLen!;
  const sharing = c.paramSharing ?? 'none';
  const Ew = sharedE ?? param(p, 'e_proj_weight')!;
  const Fw = sharing === 'none' || sharing === 'per-head' ? param(p, 'f_proj_weight')! : Ew;
  // 3. masked rows of k and v are set to zero (before bias_k's row is appended)
  const kpm = fo.keyPaddingMask;
  if (kpm) {
    assert.ok(kpm.data instanceof Uint8Array, 'Linformer takes a boolean key padding mask');
    for (let n = 0; n < N; n++)
      for (let s = 0; s < S; s++)
        if (kpm.data[n * S + s]) {
          pr.k.fill(0, (n * S + s) * E, (n * S + s + 1) * E);
          pr.v.fill(0, (n * S + s) * E, (n * S + s + 1) * E);
        }
  }
  // 2. bias_k / bias_v as one more source row
  const S1 = S + (c.addBiasKV ? 1 : 0);
  assert.ok(S1 <= seqLen, `reference: S=${S1} > seqLen=${seqLen}`);
  const k1 = withBiasRow(c, p, pr.k, 'bias_k', N, S, E, S1);
  const v1 = withBiasRow(c, p, pr.v, 'bias_v', N, S, E, S1);
  // 4. projection along the sequence with the first S1 columns; 5. zero row
  const P = kk + (c.addZeroAttn ? 1 : 0);
  const be = param(p, 'bias_e')!;
  const bfb = param(p, 'bias_f')!;
  const keys = new Float64Array(N * P * E);
  const values = new Float64Array(N * P * E);
  const eData = Ew.data;
  const fData = Fw.data;
  for (let n = 0; n < N; n++) {
    for (let j = 0; j < kk; j++) {
      const kRow = (n * P + j) * E;
      // row j of k' accumulates E[j, s]·k1 row s (per head: E_h[j, s] on the head's columns)
      for (let h = 0; h < H; h++) {
        const eRow = sharing === 'per-head' ? (h * kk + j) * seqLen : j * seqLen;
        for (let s = 0; s < S1; s++) {
          const we = eData[eRow + s];
          const wf = fData[eRow + s];
          const src = (n * S1 + s) * E + h * d;
          for (let t = 0; t < d; t++) {
            keys[kRow + h * d + t] += we * k1[src + t];
            values[kRow + h * d + t] += wf * v1[src + t];
          }
        }
      }
      for (let col = 0; col < E; col++) {
        keys[kRow + col] += be.data[j];
        values[kRow + col] += bfb.data[j];
      }
    }
  }
  // 6. scores over the projected positions; the attention mask's missing column (k → k+1) is 0
  return attend(c, p, pr, keys, values, P, fo.attnMask, null, fo);
}

// ------------------------------------------------------------------ comparison

/**
 * The package's tolerance: every element within atol + rtol·|ref|; NaN exactly where the
 * reference is NaN; ±Infinity exactly where it is.
 */
export function assertCloseRef(
  what: string,
  got: { readonly data: ArrayLike<number>; readonly dims: readonly number[] } | null,
  ref: { readonly data: ArrayLike<number>; readonly dims: readonly number[] },
  atol = 1e-5,
  rtol = 1e-4,
): void {
  assert.ok(got !== null, `${what}: got null`);
  assert.deepEqual([...got.dims], [...ref.dims], `${what}: dims`);
  assert.equal(got.data.length, ref.data.length, `${what}: length`);
  for (let i = 0; i < ref.data.length; i++) {
    const x: number = got.data[i];
    const y: number = ref.data[i];
    if (Number.isNaN(y)) {
      assert.ok(Number.isNaN(x), `${what}[${i}]: expected NaN, got ${x}`);
    } else if (!Number.isFinite(y)) {
      assert.equal(x, y, `${what}[${i}]: expected ${y}, got ${x}`);
    } else {
      assert.ok(
        Math.abs(x - y) <= atol + rtol * Math.abs(y),
        `${what}[${i}]: got ${x}, reference ${y} (beyond ${atol} + ${rtol}·|ref|)`,
      );
    }
  }
}
