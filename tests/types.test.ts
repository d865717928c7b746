// The published declarations as consumers compile them, and other
// libraries' tensors at run time.
//
// tests/fixtures/types/ holds consumer files (usage.ts and .cts: the API;
// ecosystem.ts and .cts: onnxruntime-web and transformers.js tensors) and
// one tsconfig per kind of project. Each is compiled by tsc against the
// built dist/: 'linformer-wasm' resolves to this package through its own
// package.json "exports", as it does for an installed copy. The fixtures'
// `// @ts-expect-error` lines are the expected failures: tsc reports one
// that no longer sees an error (TS2578), so the compile fails.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as ort from 'onnxruntime-web';
import { Tensor as HFTensor } from '@huggingface/transformers';
import onnxproto from 'onnx-proto';
import { LinearMultiheadAttention, MultiheadAttention, ops, type AttentionOutput } from 'linformer-wasm';
import { repoRoot } from './helpers/docs.js';
import { boolMask, randn, Rng, type F32Tensor } from './helpers/rng.js';
import { initForTests } from './helpers/setup.js';

const run = promisify(execFile);
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const fixtures = join(repoRoot, 'tests', 'fixtures', 'types');

interface Project {
  config: string;
  what: string;
  /** Declaration entries the program must have loaded: the ESM one, and the CommonJS one for a .cts consumer. */
  entries: string[];
  /** Whether @types/node is in the program. */
  nodeTypes: boolean;
}

const ESM_TYPES = 'dist/index.d.ts';
const CJS_TYPES = 'dist/types-cjs/index.d.ts';

const PROJECTS: Project[] = [
  {
    config: 'tsconfig.node.json',
    what: 'nodenext, lib es2022 without DOM, @types/node, skipLibCheck false',
    entries: [ESM_TYPES, CJS_TYPES],
    nodeTypes: true,
  },
  { config: 'tsconfig.dom.json', what: 'nodenext, lib es2022 + dom, no @types/node', entries: [ESM_TYPES, CJS_TYPES], nodeTypes: false },
  { config: 'tsconfig.bare.json', what: 'nodenext, lib es2022 alone: neither DOM nor @types/node', entries: [ESM_TYPES, CJS_TYPES], nodeTypes: false },
  { config: 'tsconfig.bundler.json', what: 'moduleResolution bundler, lib es2022 + dom', entries: [ESM_TYPES], nodeTypes: false },
  {
    config: 'tsconfig.ecosystem.json',
    what: 'onnxruntime-web and transformers.js tensors as inputs, ESM and CommonJS',
    entries: [ESM_TYPES, CJS_TYPES],
    nodeTypes: true,
  },
];

/** Compiles a fixture project; returns the files in its program. Rejects with tsc's diagnostics. */
async function compile(config: string): Promise<string[]> {
  try {
    const { stdout } = await run(process.execPath, [tsc, '-p', join(fixtures, config), '--listFiles'], { encoding: 'utf8' });
    return stdout.split('\n').filter(Boolean);
  } catch (e) {
    const { stdout, stderr } = e as { stdout?: string; stderr?: string };
    const diagnostics = (stdout ?? '').split('\n').filter((line) => !line.startsWith('/')).join('\n');
    throw new Error(`tsc -p ${config} failed:\n${diagnostics}${stderr ?? ''}`);
  }
}

// Two at a time: each tsc is one process on one core.
describe('the declarations in consumer projects', { concurrency: 2 }, () => {
  for (const p of PROJECTS) {
    it(`type-checks: ${p.what} (${p.config})`, { timeout: 60_000 }, async () => {
      const files = await compile(p.config);
      const ours = (entry: string) => files.some((f) => f === join(repoRoot, entry));
      for (const entry of p.entries) assert.ok(ours(entry), `${p.config}: the program does not use ${entry}`);
      const nodeTypes = files.some((f) => f.includes('/@types/node/'));
      assert.equal(nodeTypes, p.nodeTypes, `${p.config}: @types/node ${nodeTypes ? 'is' : 'is not'} in the program`);
    });
  }
});

// ---------------------------------------------------------------- run time

const L = 5;
const N = 2;
const E = 8;
const H = 2;
const dims = [L, N, E];

/** A one-node ONNX model, y = Identity(x), for a real InferenceSession output. */
function identityModel(shape: number[]): Uint8Array {
  const { onnx } = onnxproto;
  const FLOAT = 1;
  const value = (name: string) => ({ name, type: { tensorType: { elemType: FLOAT, shape: { dim: shape.map((d) => ({ dimValue: d })) } } } });
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    graph: { name: 'identity', node: [{ opType: 'Identity', input: ['x'], output: ['y'] }], input: [value('x')], output: [value('y')] },
  });
  return onnx.ModelProto.encode(model).finish();
}

function assertSame(what: string, got: AttentionOutput, expected: AttentionOutput): void {
  assert.deepEqual(got.output.dims, expected.output.dims, `${what}: output dims`);
  assert.deepEqual(got.output.data, expected.output.data, `${what}: output`);
  assert.ok(got.output.data instanceof Float32Array, `${what}: output is a Float32Array`);
  assert.deepEqual(got.weights?.data, expected.weights?.data, `${what}: weights`);
}

describe("onnxruntime-web's and transformers.js's tensors at run time", () => {
  const rng = new Rng(20);
  let query: F32Tensor;
  let key: F32Tensor;
  let value: F32Tensor;
  let session: ort.InferenceSession;

  before(async () => {
    await initForTests();
    ort.env.wasm.numThreads = 1;
    ort.env.logLevel = 'error';
    session = await ort.InferenceSession.create(identityModel(dims), { executionProviders: ['wasm'] });
    query = randn(rng, dims);
    key = randn(rng, dims);
    value = randn(rng, dims);
  });

  it('forward gives the same result for their float32 tensors as for plain { data, dims }', async () => {
    const fromSession = (await session.run({ x: new ort.Tensor('float32', query.data.slice(), dims) }))['y'];
    assert.ok(fromSession.data instanceof Float32Array, 'the session output holds float32 data');
    const mask = boolMask(rng, [N, L], 0.3);
    const ortMask = new ort.Tensor('bool', mask.data, mask.dims);
    for (const mod of [new MultiheadAttention(E, H, { seed: 1 }), new LinearMultiheadAttention(E, H, { seqLen: L, projK: 3, seed: 2 })]) {
      const name = mod.constructor.name;
      const plain = mod.forward(query, key, value, { keyPaddingMask: mask });
      const viaOrt = mod.forward(
        new ort.Tensor('float32', query.data, dims),
        new ort.Tensor('float32', key.data, dims),
        new ort.Tensor('float32', value.data, dims),
        { keyPaddingMask: ortMask },
      );
      assertSame(`${name}, onnxruntime-web tensors`, viaOrt, plain);
      const viaHF = mod.forward(
        new HFTensor('float32', query.data, dims),
        new HFTensor('float32', key.data, dims),
        new HFTensor('float32', value.data, dims),
        { keyPaddingMask: new HFTensor('bool', mask.data, mask.dims) },
      );
      assertSame(`${name}, transformers.js tensors`, viaHF, plain);
      assertSame(`${name}, a session output`, mod.forward(fromSession, key, value, { keyPaddingMask: mask }), plain);
      mod.dispose();
    }
  });

  it('ops.matmul, ops.linear and ops.softmax give the same results for their tensors', () => {
    const a = randn(rng, [3, E]);
    const b = randn(rng, [E, 4]);
    const bias = randn(rng, [4]);
    const asOrt = (t: F32Tensor) => new ort.Tensor('float32', t.data, t.dims);
    const asHF = (t: F32Tensor) => new HFTensor('float32', t.data, t.dims);
    for (const [name, wrap] of [['onnxruntime-web', asOrt], ['transformers.js', asHF]] as const) {
      assert.deepEqual(ops.matmul(wrap(a), wrap(b)), ops.matmul(a, b), `${name}: matmul`);
      const packed = ops.prepack(wrap(b));
      assert.deepEqual(ops.matmul(wrap(a), packed), ops.matmul(a, b), `${name}: matmul with prepack`);
      packed.dispose();
      const weight = { data: b.data, dims: [4, E] };
      assert.deepEqual(ops.linear(wrap(a), wrap(weight), wrap(bias)), ops.linear(a, weight, bias), `${name}: linear`);
      assert.deepEqual(ops.softmax(wrap(a)), ops.softmax(a), `${name}: softmax`);
    }
  });

  it('their int32 and int64 tensors are the TypeError that names the argument', () => {
    const count = L * N * E;
    const int32 = new ort.Tensor('int32', new Int32Array(count), dims);
    const int64 = new HFTensor('int64', new BigInt64Array(count), dims);
    const mod = new MultiheadAttention(E, H, { seed: 3 });
    assert.throws(() => mod.forward(int32, key, value), { name: 'TypeError', message: `query.data: expected Float32Array, got Int32Array(${count})` });
    assert.throws(() => mod.forward(query, int64, value), { name: 'TypeError', message: `key.data: expected Float32Array, got BigInt64Array(${count})` });
    assert.throws(() => mod.forward(query, key, key, { keyPaddingMask: new HFTensor('int64', new BigInt64Array(N * L), [N, L]) }), {
      name: 'TypeError',
      message: /^keyPaddingMask\.data: expected Uint8Array \(boolean mask\) or Float32Array \(additive mask\), got BigInt64Array\(10\)$/,
    });
    mod.dispose();
    assert.throws(() => ops.softmax(int32), { name: 'TypeError', message: `x.data: expected Float32Array, got Int32Array(${count})` });
    const a = { data: new Float32Array(4), dims: [2, 2] };
    assert.throws(() => ops.matmul(a, new ort.Tensor('int64', new BigInt64Array(4), [2, 2])), {
      name: 'TypeError',
      message: 'b.data: expected Float32Array, got BigInt64Array(4)',
    });
  });
});
