// Parity with PyTorch: every golden case, through the public API only.
import { after, before, describe, it } from 'node:test';
import { env, ops } from 'linformer-wasm';
import { initForTests } from './helpers/setup.js';
import { buildModules, checkGoldenCall } from './helpers/cases.js';
import { assertClose, f32, loadGolden, type GoldenCase, type RawTensor } from './helpers/golden.js';

before(() => initForTests());

function goldenSuite(file: string): void {
  for (const c of loadGolden<GoldenCase>(file).cases) {
    it(c.name, () => {
      const mods = buildModules(c);
      try {
        c.calls.forEach((call, i) => checkGoldenCall(mods[call.module], call, `${c.name} call ${i}`));
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
