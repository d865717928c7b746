// The float64 reference of tests/helpers/reference.ts on the harness's
// self-attention setups (N = 1, no masks): the whole output for the plain-JS
// contender, or a few output rows where the whole one would take minutes.
// Node only (the reference asserts with node:assert).
// Each output row needs every key and value but only its own query row, so
// the reference run with those query rows alone gives exactly those rows.
import type { StateDict } from '../graphs/attention-onnx.js';
import type { AttentionSetup } from './contenders.js';
import type { TimedEngine } from './timing.js';
import { referenceLinformer, referenceMHA, type RefConfig } from '../../tests/helpers/reference.js';

/** Output rows the spot check computes where the full reference is too slow. */
export const SPOT_ROWS = 8;

/** Evenly spread rows, first and last included. */
export function sampleRows(L: number, count: number): number[] {
  if (L <= count) return Array.from({ length: L }, (_, i) => i);
  return Array.from({ length: count }, (_, i) => Math.round((i * (L - 1)) / (count - 1)));
}

function referenceConfig(s: AttentionSetup): RefConfig {
  return { embedDim: s.E, numHeads: s.H, seqLen: s.L, projK: s.k, paramSharing: s.sharing ?? 'none' };
}

/** Self-attention on x (L, 1, E) in float64, for the query rows `rows` (all of them by default); (rows, E) as float32. */
export function referenceAttention(s: AttentionSetup, sd: StateDict, x: Float32Array, rows?: number[]): Float32Array {
  const { L, E } = s;
  const source = { data: x, dims: [L, 1, E] };
  const query = rows ? { data: pickRows(x, E, rows), dims: [rows.length, 1, E] } : source;
  const options = { needWeights: false };
  const ref =
    s.kind === 'linformer'
      ? referenceLinformer(referenceConfig(s), sd, query, source, source, options)
      : referenceMHA(referenceConfig(s), sd, query, source, source, options);
  return Float32Array.from(ref.output.data);
}

/** The same rows picked out of a full (L, E) output. */
export function pickRows(y: Float32Array, E: number, rows: number[]): Float32Array {
  const out = new Float32Array(rows.length * E);
  rows.forEach((r, i) => out.set(y.subarray(r * E, (r + 1) * E), i * E));
  return out;
}

/** The float64 reference, timed: the plain-JS contender. */
export function jsAttention(s: AttentionSetup, stateDict: StateDict): TimedEngine {
  return { id: 'js', label: 'plain JS', run: (x) => referenceAttention(s, stateDict, x) };
}
