// Parity with PyTorch: every golden case, through the public API only.
import { after, before, describe, it } from 'node:test';
import { readFileSync } from 'node:fs';
import { env, init, LinearMultiheadAttention, MultiheadAttention, ops } from 'linformer-wasm';
import { assertClose, decode, f32, goldenDir, loadGolden, type GoldenCall, type GoldenCase, type GoldenModule, type RawTensor } from './helpers/golden.js';

type Attention = MultiheadAttention | LinearMultiheadAttention;

function build(specs: GoldenModule[]): Attention[] {
  const built: Attention[] = [];
  for (const m of specs) {
    const mod =
      m.ctor === 'MultiheadAttention'
        ? new MultiheadAttention(m.embedDim, m.numHeads, m.options)
        : new LinearMultiheadAttention(m.embedDim, m.numHeads, {
            ...m.options,
            shareWith: m.shareWith === null ? undefined : (built[m.shareWith] as LinearMultiheadAttention),
          });
    if (m.stateDictFile) mod.loadStateDict(readFileSync(goldenDir + m.stateDictFile));
    else mod.loadStateDict(Object.fromEntries(Object.entries(m.stateDict!).map(([k, t]) => [k, f32(t)])));
    built.push(mod);
  }
  return built;
}

export function runCall(mod: Attention, call: GoldenCall, name: string): void {
  const fo = call.forwardOptions;
  const { output, weights } = mod.forward(f32(call.query), f32(call.key), f32(call.value), {
    needWeights: fo.needWeights,
    averageAttnWeights: fo.averageAttnWeights,
    keyPaddingMask: fo.keyPaddingMask ? (decode(fo.keyPaddingMask) as any) : undefined,
    attnMask: fo.attnMask ? (decode(fo.attnMask) as any) : undefined,
  });
  assertClose(`${name} output`, output, call.expected.output);
  if (call.expected.weights === null) {
    if (weights !== null) throw new Error(`${name}: weights should be null when needWeights is false`);
  } else {
    if (weights === null) throw new Error(`${name}: weights missing`);
    assertClose(`${name} weights`, weights, call.expected.weights);
  }
}

before(() => init());

function goldenSuite(file: string): void {
  for (const c of loadGolden<GoldenCase>(file).cases) {
    it(c.name, () => {
      const mods = build(c.modules);
      try {
        c.calls.forEach((call, i) => runCall(mods[call.module], call, `${c.name} call ${i}`));
      } finally {
        for (const m of mods) m.dispose();
      }
    });
  }
}

describe('golden mha.json', () => goldenSuite('mha.json'));

// Linformer has two orders of projection (env.sequenceProjection); 'auto'
// picks one by size, so each is also forced over every case.
for (const order of ['auto', 'inputs', 'keys'] as const) {
  for (const file of ['linformer.json', 'safetensors.json']) {
    describe(`golden ${file}, sequenceProjection '${order}'`, () => {
      before(() => {
        env.sequenceProjection = order;
      });
      after(() => {
        env.sequenceProjection = 'auto';
      });
      goldenSuite(file);
    });
  }
}

interface OpCase {
  name: string;
  op: 'matmul' | 'linear' | 'softmax';
  inputs: Record<string, RawTensor | boolean>;
  expected: RawTensor;
}

describe('golden ops.json', () => {
  for (const c of loadGolden<OpCase>('ops.json').cases) {
    it(c.name, () => {
      const t = (k: string) => f32(c.inputs[k] as RawTensor);
      const got =
        c.op === 'matmul'
          ? ops.matmul(t('a'), t('b'), { transposeB: c.inputs.transposeB as boolean })
          : c.op === 'linear'
            ? ops.linear(t('x'), t('weight'), c.inputs.bias ? t('bias') : undefined)
            : ops.softmax(t('x'));
      assertClose(c.name, got, c.expected);
    });
  }
});
