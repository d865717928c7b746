// The PyTorch golden cases (tests/golden/*.json) as ready-made modules and
// calls: the "good call" that follows each bad one in the error tests, and
// fixtures for the heap and module tests.
import { LinearMultiheadAttention, MultiheadAttention } from 'linformer-wasm';
import { readFileSync } from 'node:fs';
import { assertClose, decode, f32, goldenDir, loadGolden, type GoldenCall, type GoldenCase, type GoldenModule, type RawTensor } from './golden.js';

export type { GoldenCall, GoldenCase, GoldenModule };

export type Attention = MultiheadAttention | LinearMultiheadAttention;

const cache = new Map<string, GoldenCase[]>();

export function goldenCases(file: 'mha.json' | 'linformer.json'): GoldenCase[] {
  if (!cache.has(file)) cache.set(file, loadGolden<GoldenCase>(file).cases);
  return cache.get(file)!;
}

export function goldenCase(name: string): GoldenCase {
  const file = name.startsWith('mha/') ? 'mha.json' : 'linformer.json';
  const c = goldenCases(file).find((x) => x.name === name);
  if (!c) throw new Error(`no golden case ${name}`);
  return c;
}

/** A golden module's state dict as { data: Float32Array, dims } tensors. */
export function stateDictOf(m: GoldenModule): Record<string, { data: Float32Array; dims: number[] }> {
  return Object.fromEntries(Object.entries(m.stateDict!).map(([k, t]) => [k, f32(t)]));
}

/** Builds the modules of a golden case with their weights loaded. */
export function buildModules(c: GoldenCase): Attention[] {
  const built: Attention[] = [];
  for (const m of c.modules) {
    const mod =
      m.ctor === 'MultiheadAttention'
        ? new MultiheadAttention(m.embedDim, m.numHeads, m.options)
        : new LinearMultiheadAttention(m.embedDim, m.numHeads, {
            ...m.options,
            shareWith: m.shareWith === null ? undefined : (built[m.shareWith] as LinearMultiheadAttention),
          });
    mod.loadStateDict(m.stateDictFile ? readFileSync(goldenDir + m.stateDictFile) : stateDictOf(m));
    built.push(mod);
  }
  return built;
}

/** The module of a one-module golden case. */
export function buildOne(name: string): Attention {
  return buildModules(goldenCase(name))[0];
}

export function callInputs(call: GoldenCall) {
  const fo = call.forwardOptions;
  return {
    query: f32(call.query),
    key: f32(call.key),
    value: f32(call.value),
    options: {
      needWeights: fo.needWeights,
      averageAttnWeights: fo.averageAttnWeights,
      keyPaddingMask: fo.keyPaddingMask ? (decode(fo.keyPaddingMask) as { data: Uint8Array | Float32Array; dims: number[] }) : undefined,
      attnMask: fo.attnMask ? (decode(fo.attnMask) as { data: Uint8Array | Float32Array; dims: number[] }) : undefined,
    },
  };
}

/** Runs a golden call on `mod` and checks output and weights within the package's tolerance (docs/semantics.md, Numerics). */
export function checkGoldenCall(mod: Attention, call: GoldenCall, what: string): void {
  const { query, key, value, options } = callInputs(call);
  const { output, weights } = mod.forward(query, key, value, options);
  assertClose(`${what} output`, output, call.expected.output);
  if (call.expected.weights === null) {
    if (weights !== null) throw new Error(`${what}: weights should be null`);
  } else {
    if (weights === null) throw new Error(`${what}: weights missing`);
    assertClose(`${what} weights`, weights, call.expected.weights);
  }
}

/** Runs call `i` (default 0) of golden case `name` on `mod`. */
export function checkGolden(mod: Attention, name: string, i = 0): void {
  checkGoldenCall(mod, goldenCase(name).calls[i], `${name} call ${i}`);
}
