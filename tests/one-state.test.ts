// One package, one state: a Node process that both imports and requires the
// installed linformer-wasm gets one loader, one wasm heap and one set of
// classes, whichever way it loaded the package first. The scripts are
// tests/fixtures/one-state-*.{mjs,cjs}, run in the packed-and-installed
// project; they report what each copy sees and the golden cases run with
// modules built alternately through each copy.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkJsonResults, goldenCase, type GoldenCase, type JsonCaseResult } from './helpers/golden-cases.js';
import { packedProject, type PackedProject } from './helpers/packed.js';

const fixtures = fileURLToPath(new URL('../../tests/fixtures/', import.meta.url));
const FIXTURES = ['golden-runner.cjs', 'one-state-checks.cjs', 'one-state-esm-first.mjs', 'one-state-cjs-first.cjs'];

// shareWith cases, so that an owner built through one copy lends E to a
// module built through the other; and a standard-attention case.
const CASES: GoldenCase[] = [
  goldenCase('linformer.json', 'linformer/paramSharing-layerwise-shareWith'),
  goldenCase('linformer.json', 'linformer/paramSharing-layerwise-shareWith-owner-with-f+three-modules'),
  goldenCase('mha.json', 'mha/keyPaddingMask-bool+attnMask-float-3d'),
];

type Attempt<T> = { value: T; error?: undefined } | { value?: undefined; error: string };
interface Usage {
  wasmBytes: number;
  allocatedBytes: number;
  scratchBytes: number;
  peakBytes: number;
}
interface OneStateReport {
  stateBeforeInit: string;
  entries: { import?: string; require: string };
  secondState: string;
  backendInfo: Attempt<[unknown, unknown]>;
  exportNames: { first: string[]; second: string[] };
  differentBindings: string[];
  instanceOf: Attempt<{ firstBuiltIsSecondClass: boolean; secondBuiltIsFirstClass: boolean }>;
  heap: Attempt<{ before: Usage; during: [Usage, Usage]; after: Usage }>;
  matmul: Attempt<number[][]>;
  results: Attempt<JsonCaseResult[]>;
}

/** The value of a check, or a failure that carries the error the script saw. */
function valueOf<T>(what: string, a: Attempt<T>): T {
  assert.equal(a.error, undefined, `${what} threw`);
  return a.value as T;
}

function checkOneState(r: OneStateReport): void {
  assert.equal(r.stateBeforeInit, 'uninitialised');
  assert.equal(r.secondState, 'ready', 'the copy loaded second is already initialised');
  const [firstInfo, secondInfo] = valueOf('backendInfo()', r.backendInfo);
  assert.deepEqual(secondInfo, firstInfo);
  assert.deepEqual(r.exportNames.second, r.exportNames.first, 'import and require export the same names');
  assert.ok(r.exportNames.first.includes('LinearMultiheadAttention'));
  assert.deepEqual(r.differentBindings, [], 'every export is the same object through import and require');
  assert.deepEqual(valueOf('instanceof', r.instanceOf), { firstBuiltIsSecondClass: true, secondBuiltIsFirstClass: true });

  const { before, during, after } = valueOf('memoryUsage()', r.heap);
  assert.deepEqual(during[1], during[0], 'memoryUsage() is the same through both');
  assert.ok(during[0].allocatedBytes > before.allocatedBytes, 'a module built through the second copy shows in the first');
  assert.equal(after.allocatedBytes, before.allocatedBytes, 'disposing gave its bytes back');

  assert.deepEqual(valueOf('ops.matmul', r.matmul), [
    [17, 39],
    [17, 39],
  ]);
  checkJsonResults(CASES, valueOf('golden cases', r.results));
}

let consumer: PackedProject;

before(
  async () => {
    consumer = await packedProject('one-state');
    for (const f of FIXTURES) copyFileSync(fixtures + f, join(consumer.project, f));
    writeFileSync(join(consumer.project, 'cases.json'), JSON.stringify(CASES));
  },
  { timeout: 45_000 },
);

after(() => consumer?.remove());

describe('import and require of the installed package share one state', () => {
  it('import, init(), then require: the required copy is ready, with the same classes and heap', { timeout: 30_000 }, async () => {
    const report: OneStateReport = JSON.parse(await consumer.run(process.execPath, ['one-state-esm-first.mjs']));
    // Two entry files, so this is not the same module object twice by resolution.
    assert.match(report.entries.import ?? '', /node_modules\/linformer-wasm\/dist\/index\.node\.js$/);
    assert.match(report.entries.require, /node_modules\/linformer-wasm\/dist\/index\.node\.cjs$/);
    checkOneState(report);
  });

  it('require, init(), then import: the imported copy is ready, with the same classes and heap', { timeout: 30_000 }, async () => {
    const report: OneStateReport = JSON.parse(await consumer.run(process.execPath, ['one-state-cjs-first.cjs']));
    assert.match(report.entries.require, /node_modules\/linformer-wasm\/dist\/index\.node\.cjs$/);
    checkOneState(report);
  });
});
