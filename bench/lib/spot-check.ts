// A float64 plain-JS check of a few output rows, for sizes where the full
// reference (bench/engines/reference.ts) would take minutes: each output row
// needs every key and value but only its own query. Costs about 2·S·E²
// multiply-adds for the key and value projections.
import type { StateDict } from '../graphs/attention-onnx.js';
import type { AttentionSetup } from './contenders.js';

/** Evenly spread rows, first and last included. */
export function sampleRows(L: number, count: number): number[] {
  if (L <= count) return Array.from({ length: L }, (_, i) => i);
  return Array.from({ length: count }, (_, i) => Math.round((i * (L - 1)) / (count - 1)));
}

/** Output rows `rows` (each E wide, concatenated) of self-attention on x (L, E). */
export function attentionRows(s: AttentionSetup, sd: StateDict, x: Float32Array, rows: number[]): Float32Array {
  const { L, E, H } = s;
  const d = E / H;
  const W = sd['in_proj_weight'].data;
  const b = sd['in_proj_bias']?.data ?? new Float32Array(3 * E);
  const Wo = sd['out_proj.weight'].data;
  const bo = sd['out_proj.bias']?.data ?? new Float32Array(E);

  /** rows of x·W[part]ᵀ + b[part], part 0 = q, 1 = k, 2 = v */
  const project = (part: number, which: number[]): Float64Array => {
    const out = new Float64Array(which.length * E);
    which.forEach((r, i) => {
      for (let j = 0; j < E; j++) {
        const w = (part * E + j) * E;
        let acc = b[part * E + j];
        for (let p = 0; p < E; p++) acc += x[r * E + p] * W[w + p];
        out[i * E + j] = acc;
      }
    });
    return out;
  };
  const all = Array.from({ length: L }, (_, i) => i);
  let keys = project(1, all);
  let values = project(2, all);
  let P = L;
  if (s.kind === 'linformer') {
    const e = sd['e_proj_weight'];
    const seqLen = e.dims[e.dims.length - 1];
    const Fw = sd['f_proj_weight']?.data ?? e.data;
    const seq = (M: Float32Array, bias: Float32Array, src: Float64Array) => {
      const out = new Float64Array(s.k * E);
      for (let r = 0; r < s.k; r++) {
        const row = out.subarray(r * E, (r + 1) * E);
        row.fill(bias[r]);
        for (let t = 0; t < L; t++) {
          const m = M[r * seqLen + t];
          for (let j = 0; j < E; j++) row[j] += m * src[t * E + j];
        }
      }
      return out;
    };
    keys = seq(e.data, sd['bias_e'].data, keys);
    values = seq(Fw, sd['bias_f'].data, values);
    P = s.k;
  }
  const q = project(0, rows);
  const scale = 1 / Math.sqrt(d);
  const ctx = new Float64Array(E);
  const scores = new Float64Array(P);
  const out = new Float32Array(rows.length * E);
  rows.forEach((_, i) => {
    for (let h = 0; h < H; h++) {
      let max = -Infinity;
      for (let t = 0; t < P; t++) {
        let acc = 0;
        for (let c = 0; c < d; c++) acc += q[i * E + h * d + c] * keys[t * E + h * d + c];
        scores[t] = acc * scale;
        if (scores[t] > max) max = scores[t];
      }
      let sum = 0;
      for (let t = 0; t < P; t++) sum += scores[t] = Math.exp(scores[t] - max);
      for (let c = 0; c < d; c++) {
        let acc = 0;
        for (let t = 0; t < P; t++) acc += scores[t] * values[t * E + h * d + c];
        ctx[h * d + c] = acc / sum;
      }
    }
    for (let j = 0; j < E; j++) {
      let acc = bo[j];
      for (let p = 0; p < E; p++) acc += ctx[p] * Wo[j * E + p];
      out[i * E + j] = acc;
    }
  });
  return out;
}

/** The same rows picked out of a full (L, E) output. */
export function pickRows(y: Float32Array, E: number, rows: number[]): Float32Array {
  const out = new Float32Array(rows.length * E);
  rows.forEach((r, i) => out.set(y.subarray(r * E, (r + 1) * E), i * E));
  return out;
}
