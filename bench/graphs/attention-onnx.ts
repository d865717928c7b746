// ONNX graphs (opset 17) of the two attention kinds, built with onnx-proto from a
// torch-style state dict, for self-attention with batch N = 1. They are the
// competitor baseline of the benchmark, so they are laid out the way a competent
// ORT user would lay them out:
//  - every projection is a 2-D Gemm/MatMul whose B operand is an initializer
//    (ORT pre-packs it for MLAS), biases folded into the Gemm's C;
//  - q's scale d^-1/2 is folded into Wq and bq at build time (as torch's export
//    + ORT's constant folding would end up doing);
//  - k (and the projected k', v') are produced directly in the transposed
//    (E, ·) layout with Gemm transA/transB, so the per-head q·kᵀ needs no
//    Transpose node; the remaining Transposes are over (L,E)/(k,E) tensors only;
//  - the per-head products are batched 3-D MatMuls over (H, ·, ·).
//
// Numerics follow docs/semantics.md (no masks, no addBiasKV / addZeroAttn).
import onnxproto from 'onnx-proto';

const { onnx } = onnxproto;

export interface Tensor {
  data: Float32Array;
  dims: readonly number[];
}
export type StateDict = Record<string, Tensor>;

export interface AttentionGraphOptions {
  kind: 'standard' | 'linformer';
  embedDim: number;
  numHeads: number;
  /** query = key = value length (self-attention). */
  L: number;
  /** Linformer: the seq_len the E/F projections were made for (columns of e_proj_weight); default L. */
  seqLen?: number;
  /** Linformer: projected length k (rows of e_proj_weight); default from the state dict. */
  projK?: number;
  stateDict: StateDict;
  /** rank of the input `x`/output `y`: 3 → (L,1,E) (default), 2 → (L,E). */
  inputRank?: 2 | 3;
  /**
   * Linformer only. 'spec' (default): k' = E·(x·Wkᵀ + bk) + bias_e, the paper's order (docs/semantics.md).
   * 'project-first': the algebraically equal k' = (E·x)·Wkᵀ + (E·1)·bkᵀ + bias_e
   * (sequence projection before the in-projection; fewer FLOPs when k < S, different rounding).
   */
  linformerOrder?: 'spec' | 'project-first';
}

const FLOAT = 1;
const INT64 = 7;

class GraphBuilder {
  nodes: any[] = [];
  inits: any[] = [];
  private n = 0;

  node(opType: string, inputs: string[], attrs: Record<string, number | number[]> = {}, output?: string, domain = ''): string {
    const out = output ?? `${opType.toLowerCase()}_${this.n++}`;
    const attribute = Object.entries(attrs).map(([name, v]) =>
      Array.isArray(v)
        ? { name, type: onnx.AttributeProto.AttributeType.INTS, ints: v }
        : Number.isInteger(v)
          ? { name, type: onnx.AttributeProto.AttributeType.INT, i: v }
          : { name, type: onnx.AttributeProto.AttributeType.FLOAT, f: v },
    );
    this.nodes.push({ opType, domain, input: inputs, output: [out], name: `n${this.nodes.length}_${opType}`, attribute });
    return out;
  }

  f32(name: string, data: Float32Array, dims: number[]): string {
    if (data.length !== dims.reduce((a, b) => a * b, 1)) throw new Error(`initializer ${name}: ${data.length} values for dims ${dims}`);
    const raw = new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
    this.inits.push({ name, dims, dataType: FLOAT, rawData: raw });
    return name;
  }

  i64(name: string, values: number[]): string {
    const raw = new Uint8Array(BigInt64Array.from(values.map((v) => BigInt(v))).buffer);
    this.inits.push({ name, dims: [values.length], dataType: INT64, rawData: raw });
    return name;
  }

  model(inputs: { name: string; dims: number[] }[], outputs: { name: string; dims: number[] }[], graphName: string): Uint8Array {
    const vi = (v: { name: string; dims: number[] }) => ({
      name: v.name,
      type: { tensorType: { elemType: FLOAT, shape: { dim: v.dims.map((d) => ({ dimValue: d })) } } },
    });
    const m = onnx.ModelProto.create({
      irVersion: 8,
      producerName: 'linformer-wasm-bench',
      opsetImport: [{ domain: '', version: 17 }],
      graph: {
        name: graphName,
        node: this.nodes,
        initializer: this.inits,
        input: inputs.map(vi),
        output: outputs.map(vi),
      },
    });
    return onnx.ModelProto.encode(m).finish();
  }
}

function get(sd: StateDict, key: string, dims: number[]): Float32Array {
  const t = sd[key];
  if (!t) throw new Error(`state dict: missing ${key}`);
  const n = dims.reduce((a, b) => a * b, 1);
  const got = t.dims.reduce((a, b) => a * b, 1);
  if (got !== n || t.data.length !== n) throw new Error(`state dict: ${key} has dims (${t.dims}), expected (${dims})`);
  return t.data;
}

/** rows [r0, r0+rows) of a row-major (·, cols) matrix, optionally transposed and scaled. */
function block(src: Float32Array, cols: number, r0: number, rows: number, c0: number, ncols: number, transpose: boolean, scale = 1): Float32Array {
  const out = new Float32Array(rows * ncols);
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < ncols; c++) {
      const v = src[(r0 + r) * cols + c0 + c] * scale;
      if (transpose) out[c * rows + r] = v;
      else out[r * ncols + c] = v;
    }
  return out;
}

/** Builds the attention model. Input `x`, output `y`, both (L,1,E) (or (L,E) with inputRank 2). */
export function buildAttentionOnnx(opts: AttentionGraphOptions): Uint8Array {
  const { kind, embedDim: E, numHeads: H, L, stateDict: sd } = opts;
  if (E % H !== 0) throw new Error(`embedDim ${E} not divisible by numHeads ${H}`);
  const d = E / H;
  const S = L;
  const rank = opts.inputRank ?? 3;
  const scale = 1 / Math.sqrt(d);
  const g = new GraphBuilder();

  const Win = get(sd, 'in_proj_weight', [3 * E, E]);
  const bin = sd['in_proj_bias'] ? get(sd, 'in_proj_bias', [3 * E]) : new Float32Array(3 * E);
  const Wo = get(sd, 'out_proj.weight', [E, E]);
  const bo = sd['out_proj.bias'] ? get(sd, 'out_proj.bias', [E]) : new Float32Array(E);

  const x2 = rank === 3 ? g.node('Reshape', ['x', g.i64('shape_LE', [L, E])]) : 'x';

  // q (L,E) = x·(s·Wq)ᵀ + s·bq → (H,L,d)
  const WqT = g.f32('WqT_scaled', block(Win, E, 0, E, 0, E, true, scale), [E, E]);
  const bq = g.f32('bq_scaled', block(bin, 3 * E, 0, 1, 0, E, false, scale), [E]);
  const q2 = g.node('Gemm', [x2, WqT, bq]);
  const qh = g.node('Transpose', [g.node('Reshape', [q2, g.i64('shape_LHd', [L, H, d])])], { perm: [1, 0, 2] });

  let kT: string; // (H, d, P)
  let vh: string; // (H, P, d)
  let P: number;

  if (kind === 'standard') {
    P = S;
    // kᵀ (E,S) = Wk·xᵀ + bk (E,1): Gemm with transB, no Transpose node
    const Wk = g.f32('Wk', block(Win, E, E, E, 0, E, false), [E, E]);
    const bkc = g.f32('bk_col', block(bin, 3 * E, 0, 1, E, E, false), [E, 1]);
    const kT2 = g.node('Gemm', [Wk, x2, bkc], { transB: 1 });
    kT = g.node('Reshape', [kT2, g.i64('shape_HdS', [H, d, S])]);
    const WvT = g.f32('WvT', block(Win, E, 2 * E, E, 0, E, true), [E, E]);
    const bv = g.f32('bv', block(bin, 3 * E, 0, 1, 2 * E, E, false), [E]);
    const v2 = g.node('Gemm', [x2, WvT, bv]);
    vh = g.node('Transpose', [g.node('Reshape', [v2, g.i64('shape_SHd', [S, H, d])])], { perm: [1, 0, 2] });
  } else {
    const eW = sd['e_proj_weight'];
    if (!eW) throw new Error('state dict: missing e_proj_weight');
    const K = opts.projK ?? eW.dims[0];
    const seqLen = opts.seqLen ?? eW.dims[1];
    if (S > seqLen) throw new Error(`L = ${S} > seqLen ${seqLen}`);
    const Ew = get(sd, 'e_proj_weight', [K, seqLen]);
    const Fw = sd['f_proj_weight'] ? get(sd, 'f_proj_weight', [K, seqLen]) : Ew;
    const be = sd['bias_e'] ? get(sd, 'bias_e', [1, 1, K]) : new Float32Array(K);
    const bf = sd['bias_f'] ? get(sd, 'bias_f', [1, 1, K]) : new Float32Array(K);
    P = K;
    const order = opts.linformerOrder ?? 'spec';

    if (order === 'spec') {
      // kᵀ (E,S) = Wk·xᵀ + bk;  k'ᵀ (E,K) = kᵀ·E[:, :S]ᵀ + bias_e (1,K)
      const Wk = g.f32('Wk', block(Win, E, E, E, 0, E, false), [E, E]);
      const bkc = g.f32('bk_col', block(bin, 3 * E, 0, 1, E, E, false), [E, 1]);
      const kT2 = g.node('Gemm', [Wk, x2, bkc], { transB: 1 });
      const EsT = g.f32('EsT', block(Ew, seqLen, 0, K, 0, S, true), [S, K]);
      const kpT = g.node('Gemm', [kT2, EsT, g.f32('bias_e_row', be, [1, K])]);
      kT = g.node('Reshape', [kpT, g.i64('shape_HdK', [H, d, K])]);
      // v (S,E) = x·Wvᵀ + bv;  v' (K,E) = F[:, :S]·v + bias_f (K,1)
      const WvT = g.f32('WvT', block(Win, E, 2 * E, E, 0, E, true), [E, E]);
      const bv = g.f32('bv', block(bin, 3 * E, 0, 1, 2 * E, E, false), [E]);
      const v2 = g.node('Gemm', [x2, WvT, bv]);
      const Fs = g.f32('Fs', block(Fw, seqLen, 0, K, 0, S, false), [K, S]);
      const vp = g.node('Gemm', [Fs, v2, g.f32('bias_f_col', bf, [K, 1])]);
      vh = g.node('Transpose', [g.node('Reshape', [vp, g.i64('shape_KHd', [K, H, d])])], { perm: [1, 0, 2] });
    } else {
      // k' = (E_s·x)·Wkᵀ + [rowsum(E_s)·bkᵀ + bias_e·1ᵀ]; the bracket is a constant (K,E)
      const constBias = (M: Float32Array, b0: number, bias: Float32Array) => {
        const c = new Float32Array(K * E);
        for (let r = 0; r < K; r++) {
          let rs = 0;
          for (let s = 0; s < S; s++) rs += M[r * seqLen + s];
          for (let j = 0; j < E; j++) c[r * E + j] = rs * bin[b0 + j] + bias[r];
        }
        return c;
      };
      const Es = g.f32('Es', block(Ew, seqLen, 0, K, 0, S, false), [K, S]);
      const xe = g.node('MatMul', [Es, x2]); // (K,E)
      // k'ᵀ (E,K) = Wk·(E_s x)ᵀ + Cᵀ
      const Wk = g.f32('Wk', block(Win, E, E, E, 0, E, false), [E, E]);
      const ck = constBias(Ew, E, be);
      const ckT = g.f32('kbias_T', block(ck, E, 0, K, 0, E, true), [E, K]);
      const kpT = g.node('Gemm', [Wk, xe, ckT], { transB: 1 });
      kT = g.node('Reshape', [kpT, g.i64('shape_HdK', [H, d, K])]);
      const xf = Fw === Ew ? xe : g.node('MatMul', [g.f32('Fs', block(Fw, seqLen, 0, K, 0, S, false), [K, S]), x2]);
      const WvT = g.f32('WvT', block(Win, E, 2 * E, E, 0, E, true), [E, E]);
      const vp = g.node('Gemm', [xf, WvT, g.f32('vbias', constBias(Fw, 2 * E, bf), [K, E])]);
      vh = g.node('Transpose', [g.node('Reshape', [vp, g.i64('shape_KHd', [K, H, d])])], { perm: [1, 0, 2] });
    }
  }

  const scores = g.node('MatMul', [qh, kT]); // (H,L,P)
  const probs = g.node('Softmax', [scores], { axis: -1 });
  const ctx = g.node('MatMul', [probs, vh]); // (H,L,d)
  const ctx2 = g.node('Reshape', [g.node('Transpose', [ctx], { perm: [1, 0, 2] }), g.i64('shape_LE2', [L, E])]);
  const WoT = g.f32('WoT', block(Wo, E, 0, E, 0, E, true), [E, E]);
  const outName = rank === 3 ? undefined : 'y';
  const y2 = g.node('Gemm', [ctx2, WoT, g.f32('bo', bo, [E])], {}, outName);
  if (rank === 3) g.node('Reshape', [y2, g.i64('shape_L1E', [L, 1, E])], {}, 'y');
  void P;
  const io = rank === 3 ? [L, 1, E] : [L, E];
  return g.model([{ name: 'x', dims: io }], [{ name: 'y', dims: io }], `${kind}_attention`);
}

/** C (M,N) = A (M,K) · B (K,N), B an initializer. Input `a`, output `c`. */
export function buildMatmulOnnx(M: number, K: number, N: number, b: Float32Array): Uint8Array {
  const g = new GraphBuilder();
  g.node('MatMul', ['a', g.f32('b', b, [K, N])], {}, 'c');
  return g.model([{ name: 'a', dims: [M, K] }], [{ name: 'c', dims: [M, N] }], 'matmul');
}
