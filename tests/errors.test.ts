// docs/semantics.md, Errors: every bad input gets a TypeError or RangeError naming the argument,
// the expected and the received shape or type, and the module keeps working:
// each bad call is followed by a good call on the SAME module that must still
// match its PyTorch golden case.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { env, LinearMultiheadAttention, memoryUsage, MultiheadAttention, ops } from 'linformer-wasm';
import { initForTests } from './helpers/setup.js';
import { assertClose, f32, loadGolden, type RawTensor } from './helpers/golden.js';
import { buildModules, buildOne, callInputs, checkGolden, goldenCase, stateDictOf, type Attention } from './helpers/cases.js';
import { assertCloseRef, referenceLinformer, referenceMHA, type RefConfig } from './helpers/reference.js';
import { boolMask, randn, randomStateDict, Rng, type F32Tensor } from './helpers/rng.js';

before(() => initForTests());

// ------------------------------------------------------------------ helpers

/** A shape as a regexp that accepts torch's (2, 3), (2,) and the array forms [2, 3], [2,3]. */
function shapeRe(dims: readonly number[]): RegExp {
  const paren = `\\(${dims.join(',\\s*')}${dims.length === 1 ? ',?' : ''}\\)`;
  const bracket = `\\[${dims.join(',\\s*')}\\]`;
  return new RegExp(`${paren}|${bracket}`);
}

type Needle = string | RegExp | readonly number[];

/** Asserts fn throws exactly `cls` (TypeError is not a RangeError and vice versa) and the message holds every needle. */
function expectError(fn: () => unknown, cls: typeof TypeError | typeof RangeError | typeof Error, needles: Needle[], what = ''): Error {
  let caught: unknown = undefined;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught !== undefined, `${what}: expected a ${cls.name}, nothing was thrown`);
  const e = caught as Error;
  assert.ok(e instanceof Error, `${what}: threw a non-Error ${String(e)}`);
  assert.equal(e.constructor, cls, `${what}: expected ${cls.name}, got ${e.constructor.name}: ${e.message}`);
  assert.ok(!(e instanceof WebAssembly.RuntimeError), `${what}: a wasm trap`);
  for (const n of needles) {
    const re = typeof n === 'string' ? null : n instanceof RegExp ? n : shapeRe(n);
    const ok = re ? re.test(e.message) : e.message.includes(n as string);
    assert.ok(ok, `${what}: message does not name ${re ?? JSON.stringify(n)}: "${e.message}"`);
  }
  return e;
}

const MHA = 'mha/basic-E16-H4-N1-L5-S7'; // E 16, H 4; query (5, 1, 16), key/value (7, 1, 16)
const LIN = 'linformer/S<seqLen-N3'; // E 16, H 4, seqLen 12, k 6; query (5, 3, 16), key/value (7, 3, 16)

function withModule(name: string, body: (m: Attention) => void): void {
  const m = buildOne(name);
  try {
    checkGolden(m, name); // good before
    body(m);
  } finally {
    m.dispose();
  }
}

/** A bad call, then the golden call on the same module. */
function badThenGood(m: Attention, name: string, fn: () => unknown, cls: typeof TypeError | typeof RangeError | typeof Error, needles: Needle[], what: string): void {
  expectError(fn, cls, needles, `${name}: ${what}`);
  checkGolden(m, name);
}

function reshaped(t: F32Tensor, dims: number[]): F32Tensor {
  const n = dims.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  data.set(t.data.subarray(0, Math.min(n, t.data.length)));
  return { data, dims };
}

// ------------------------------------------------------------------ query / key / value

interface BadInput {
  what: string;
  cls: typeof TypeError | typeof RangeError;
  /** Builds the bad call from the good inputs; returns [query, key, value, options]. */
  make: (q: F32Tensor, k: F32Tensor, v: F32Tensor) => [unknown, unknown, unknown, Record<string, unknown>?];
  /** What the message must name, from the good dims. */
  needles: (q: number[], k: number[]) => Needle[];
}

const badInputs: BadInput[] = [
  {
    what: 'query of rank 4',
    cls: RangeError,
    make: (q, k, v) => [reshaped(q, [...q.dims, 1]), k, v],
    needles: (q) => ['query', [...q, 1], /16/],
  },
  {
    what: 'query of rank 1',
    cls: RangeError,
    make: (q, k, v) => [reshaped(q, [q.data.length]), k, v],
    needles: (q) => ['query', [q[0] * q[1] * q[2]]],
  },
  {
    what: 'query with E − 1 features',
    cls: RangeError,
    make: (q, k, v) => [reshaped(q, [q.dims[0], q.dims[1], 15]), k, v],
    needles: (q) => ['query', [q[0], q[1], 15], /16/],
  },
  {
    what: 'key with kdim + 1 features',
    cls: RangeError,
    make: (q, k, v) => [q, reshaped(k, [k.dims[0], k.dims[1], 17]), v],
    needles: (_q, k) => ['key', [k[0], k[1], 17], /16/],
  },
  {
    what: 'key with another batch size than the query',
    cls: RangeError,
    make: (q, k, v) => [q, reshaped(k, [k.dims[0], k.dims[1] + 1, 16]), v],
    needles: (q, k) => ['key', [k[0], k[1] + 1, 16], q],
  },
  {
    what: 'key of rank 2 with a batched query',
    cls: RangeError,
    make: (q, k, v) => [q, reshaped(k, [k.dims[0], k.dims[1] * 16]), v],
    needles: (q, k) => ['key', [k[0], k[1] * 16], q],
  },
  {
    what: 'unbatched query with a batched key',
    cls: RangeError,
    make: (q, k, v) => [reshaped(q, [q.dims[0], 16]), k, v],
    needles: (q, k) => ['key', k, [q[0], 16]],
  },
  {
    what: 'value longer than key',
    cls: RangeError,
    make: (q, k, v) => [q, k, reshaped(v, [v.dims[0] + 1, v.dims[1], 16])],
    needles: (_q, k) => ['value', [k[0] + 1, k[1], 16], k],
  },
  {
    what: 'value with another batch size than key',
    cls: RangeError,
    make: (q, k, v) => [q, k, reshaped(v, [v.dims[0], v.dims[1] + 1, 16])],
    needles: (_q, k) => ['value', [k[0], k[1] + 1, 16], k],
  },
  {
    what: 'value with vdim − 1 features',
    cls: RangeError,
    make: (q, k, v) => [q, k, reshaped(v, [v.dims[0], v.dims[1], 15])],
    needles: (_q, k) => ['value', [k[0], k[1], 15]],
  },
  {
    what: 'query data a Float64Array',
    cls: TypeError,
    make: (q, k, v) => [{ data: Float64Array.from(q.data), dims: q.dims }, k, v],
    needles: () => ['query', 'Float32Array', 'Float64Array'],
  },
  {
    what: 'key data a plain array',
    cls: TypeError,
    make: (q, k, v) => [q, { data: Array.from(k.data), dims: k.dims }, v],
    needles: () => ['key', 'Float32Array', /Array/],
  },
  {
    what: 'value data an Int32Array',
    cls: TypeError,
    make: (q, k, v) => [q, k, { data: new Int32Array(v.data.length), dims: v.dims }],
    needles: () => ['value', 'Float32Array', 'Int32Array'],
  },
  {
    what: 'query data one element longer than its dims',
    cls: RangeError,
    make: (q, k, v) => [{ data: new Float32Array(q.data.length + 1), dims: q.dims }, k, v],
    needles: (q) => ['query', q, String(q[0] * q[1] * q[2] + 1)],
  },
  {
    what: 'key data one element shorter than its dims',
    cls: RangeError,
    make: (q, k, v) => [q, { data: k.data.subarray(1), dims: k.dims }, v],
    needles: (_q, k) => ['key', k, String(k[0] * k[1] * k[2] - 1)],
  },
  {
    what: 'query null',
    cls: TypeError,
    make: (_q, k, v) => [null, k, v],
    needles: () => ['query', 'null'],
  },
  {
    what: 'query a bare Float32Array',
    cls: TypeError,
    make: (q, k, v) => [q.data, k, v],
    needles: () => ['query'],
  },
  {
    what: 'query dims a string',
    cls: TypeError,
    make: (q, k, v) => [{ data: q.data, dims: '5,1,16' }, k, v],
    needles: () => ['query', 'dims'],
  },
  {
    what: 'key dims with a negative entry',
    cls: TypeError,
    make: (q, k, v) => [q, { data: k.data, dims: [-k.dims[0], k.dims[1], -16] }, v],
    needles: () => ['key', 'dims'],
  },
  {
    what: 'value dims with a fractional entry',
    cls: TypeError,
    make: (q, k, v) => [q, k, { data: v.data, dims: [v.dims[0] / 2, v.dims[1] * 2, 16] }],
    needles: () => ['value', 'dims'],
  },
  {
    what: 'needWeights a string',
    cls: TypeError,
    make: (q, k, v) => [q, k, v, { needWeights: 'yes' }],
    needles: () => ['needWeights', 'boolean'],
  },
  {
    what: 'averageAttnWeights a number',
    cls: TypeError,
    make: (q, k, v) => [q, k, v, { averageAttnWeights: 1 }],
    needles: () => ['averageAttnWeights', 'boolean'],
  },
];

describe('bad query, key, value', () => {
  for (const name of [MHA, LIN]) {
    for (const b of badInputs) {
      it(`${name.split('/')[0]}: ${b.what}`, () => {
        withModule(name, (m) => {
          const { query, key, value } = callInputs(goldenCase(name).calls[0]);
          const [q, k, v, o] = b.make(query, key, value);
          badThenGood(m, name, () => m.forward(q as F32Tensor, k as F32Tensor, v as F32Tensor, o as object), b.cls, b.needles(query.dims, key.dims), b.what);
        });
      });
    }
  }

  it('linformer: S > seqLen is a RangeError naming key, S and seqLen', () => {
    withModule(LIN, (m) => {
      const { query } = callInputs(goldenCase(LIN).calls[0]);
      const rng = new Rng(1);
      const long = randn(rng, [13, 3, 16]); // seqLen is 12
      badThenGood(m, LIN, () => m.forward(query, long, long), RangeError, ['key', '13', '12', 'seqLen'], 'S = 13 > seqLen = 12');
      const veryLong = randn(rng, [200, 3, 16]);
      badThenGood(m, LIN, () => m.forward(query, veryLong, veryLong), RangeError, ['key', '200', '12'], 'S = 200');
    });
  });

  it('linformer: with addBiasKV, S + 1 (the bias_k row) > seqLen is a RangeError; S + 1 = seqLen runs', () => {
    const name = 'linformer/addBiasKV-S+1=seqLen-N3'; // seqLen 12, S 11
    withModule(name, (m) => {
      const { query } = callInputs(goldenCase(name).calls[0]);
      const rng = new Rng(2);
      const s12 = randn(rng, [12, 3, 16]);
      badThenGood(m, name, () => m.forward(query, s12, s12), RangeError, ['key', '12', 'seqLen', 'bias_k'], 'S + 1 = 13 > seqLen');
    });
  });
});

// ------------------------------------------------------------------ masks

interface BadMask {
  what: string;
  cls: typeof TypeError | typeof RangeError;
  /** [L, N, S, H, width of attnMask] → forward options and the needles. */
  make: (L: number, N: number, S: number, H: number, W: number) => [Record<string, unknown>, Needle[]];
  only?: 'mha' | 'linformer';
}

const badMasks: BadMask[] = [
  {
    what: 'keyPaddingMask (N, S + 1)',
    cls: RangeError,
    make: (_L, N, S) => [{ keyPaddingMask: { data: new Uint8Array(N * (S + 1)), dims: [N, S + 1] } }, ['keyPaddingMask', [N, S + 1], [N, S]]],
  },
  {
    what: 'keyPaddingMask (S, N), transposed',
    cls: RangeError,
    make: (_L, N, S) => [{ keyPaddingMask: { data: new Uint8Array(N * S), dims: [S, N] } }, ['keyPaddingMask', [S, N], [N, S]]],
  },
  {
    what: 'keyPaddingMask (S) for a batched call',
    cls: RangeError,
    make: (_L, N, S) => [{ keyPaddingMask: { data: new Uint8Array(S), dims: [S] } }, ['keyPaddingMask', [S], [N, S]]],
  },
  {
    what: 'keyPaddingMask data an Int32Array',
    cls: TypeError,
    make: (_L, N, S) => [{ keyPaddingMask: { data: new Int32Array(N * S), dims: [N, S] } }, ['keyPaddingMask', 'Int32Array', 'Uint8Array']],
  },
  {
    what: 'keyPaddingMask data a Float64Array',
    cls: TypeError,
    make: (_L, N, S) => [{ keyPaddingMask: { data: new Float64Array(N * S), dims: [N, S] } }, ['keyPaddingMask', 'Float64Array']],
  },
  {
    what: 'keyPaddingMask data a plain array of booleans',
    cls: TypeError,
    make: (_L, N, S) => [{ keyPaddingMask: { data: new Array(N * S).fill(false), dims: [N, S] } }, ['keyPaddingMask', 'Array']],
  },
  {
    what: 'keyPaddingMask data shorter than its dims',
    cls: RangeError,
    make: (_L, N, S) => [{ keyPaddingMask: { data: new Uint8Array(N * S - 1), dims: [N, S] } }, ['keyPaddingMask', [N, S], String(N * S - 1)]],
  },
  {
    what: 'a float keyPaddingMask (Linformer takes boolean only)',
    cls: TypeError,
    only: 'linformer',
    make: (_L, N, S) => [{ keyPaddingMask: { data: new Float32Array(N * S), dims: [N, S] } }, ['keyPaddingMask', 'Uint8Array', 'Float32Array']],
  },
  {
    what: 'attnMask (L, W + 1)',
    cls: RangeError,
    make: (L, _N, _S, _H, W) => [{ attnMask: { data: new Uint8Array(L * (W + 1)), dims: [L, W + 1] } }, ['attnMask', [L, W + 1], [L, W]]],
  },
  {
    what: 'attnMask (L + 1, W)',
    cls: RangeError,
    make: (L, _N, _S, _H, W) => [{ attnMask: { data: new Float32Array((L + 1) * W), dims: [L + 1, W] } }, ['attnMask', [L + 1, W], [L, W]]],
  },
  {
    what: 'attnMask (N·H + 1, L, W)',
    cls: RangeError,
    make: (L, N, _S, H, W) => [{ attnMask: { data: new Uint8Array((N * H + 1) * L * W), dims: [N * H + 1, L, W] } }, ['attnMask', [N * H + 1, L, W], [L, W], String(N * H)]],
  },
  {
    what: 'attnMask (N, H, L, W), 4-D',
    cls: RangeError,
    make: (L, N, _S, H, W) => [{ attnMask: { data: new Uint8Array(N * H * L * W), dims: [N, H, L, W] } }, ['attnMask', [N, H, L, W]]],
  },
  {
    what: 'attnMask over the S source positions instead of the k projected ones',
    cls: RangeError,
    only: 'linformer',
    make: (L, _N, S, _H, W) => [{ attnMask: { data: new Uint8Array(L * S), dims: [L, S] } }, ['attnMask', [L, S], [L, W]]],
  },
  {
    what: 'attnMask (L, k + 1) without addZeroAttn',
    cls: RangeError,
    only: 'linformer',
    make: (L, _N, _S, _H, W) => [{ attnMask: { data: new Uint8Array(L * (W + 1)), dims: [L, W + 1] } }, ['attnMask', [L, W + 1], [L, W]]],
  },
  {
    what: 'attnMask data an Int32Array',
    cls: TypeError,
    make: (L, _N, _S, _H, W) => [{ attnMask: { data: new Int32Array(L * W), dims: [L, W] } }, ['attnMask', 'Int32Array', 'Float32Array']],
  },
  {
    what: 'attnMask data a Float64Array',
    cls: TypeError,
    make: (L, _N, _S, _H, W) => [{ attnMask: { data: new Float64Array(L * W), dims: [L, W] } }, ['attnMask', 'Float64Array']],
  },
  {
    what: 'attnMask data longer than its dims',
    cls: RangeError,
    make: (L, _N, _S, _H, W) => [{ attnMask: { data: new Float32Array(L * W + 3), dims: [L, W] } }, ['attnMask', [L, W], String(L * W + 3)]],
  },
];

describe('bad masks', () => {
  for (const name of [MHA, LIN]) {
    const kind = name.startsWith('mha') ? 'mha' : 'linformer';
    for (const b of badMasks.filter((x) => !x.only || x.only === kind)) {
      it(`${kind}: ${b.what}`, () => {
        withModule(name, (m) => {
          const { query, key, value } = callInputs(goldenCase(name).calls[0]);
          const [L, N] = query.dims;
          const S = key.dims[0];
          const H = m.numHeads;
          const W = m instanceof LinearMultiheadAttention ? m.projK : S;
          const [opts, needles] = b.make(L, N, S, H, W);
          badThenGood(m, name, () => m.forward(query, key, value, opts), b.cls, needles, b.what);
        });
      });
    }
  }

  it('unbatched: keyPaddingMask (1, S) and attnMask (N·H, L, S) with N = 1 but no batch axis are shape errors', () => {
    const name = 'mha/unbatched-E12-H3-L4-S9';
    withModule(name, (m) => {
      const { query, key, value } = callInputs(goldenCase(name).calls[0]);
      badThenGood(m, name, () => m.forward(query, key, value, { keyPaddingMask: { data: new Uint8Array(9), dims: [1, 9] } }), RangeError, ['keyPaddingMask', [1, 9], [9]], 'kpm (1, S)');
      badThenGood(m, name, () => m.forward(query, key, value, { attnMask: { data: new Uint8Array(4 * 36), dims: [4, 4, 9] } }), RangeError, ['attnMask', [4, 4, 9], [4, 9], /\b3\b/], 'attnMask (4, L, S)');
    });
  });
});

// ------------------------------------------------------------------ constructors

describe('bad constructor arguments', () => {
  const cases: [string, () => unknown, typeof TypeError | typeof RangeError, Needle[]][] = [
    ['embedDim not divisible by numHeads', () => new MultiheadAttention(10, 3), RangeError, ['embedDim', '10', 'numHeads', '3']],
    ['Linformer: embedDim not divisible by numHeads', () => new LinearMultiheadAttention(16, 5, { seqLen: 8, projK: 4 }), RangeError, ['embedDim', '16', 'numHeads', '5']],
    // a number out of range is a RangeError, a value of another type a TypeError
    ['numHeads 0', () => new MultiheadAttention(16, 0), RangeError, ['numHeads', '0']],
    ['embedDim −16', () => new MultiheadAttention(-16, 4), RangeError, ['embedDim', '-16']],
    ['embedDim 16.5', () => new MultiheadAttention(16.5, 1), RangeError, ['embedDim', '16.5']],
    ["embedDim '16'", () => new MultiheadAttention('16' as unknown as number, 4), TypeError, ['embedDim']],
    ['kdim 0', () => new MultiheadAttention(16, 4, { kdim: 0 }), RangeError, ['kdim', '0']],
    ['vdim 2.5', () => new MultiheadAttention(16, 4, { vdim: 2.5 }), RangeError, ['vdim', '2.5']],
    ['seqLen 0', () => new LinearMultiheadAttention(16, 4, { seqLen: 0, projK: 4 }), RangeError, ['seqLen', '0']],
    ['projK 1.5', () => new LinearMultiheadAttention(16, 4, { seqLen: 8, projK: 1.5 }), RangeError, ['projK', '1.5']],
    ["paramSharing 'bogus'", () => new LinearMultiheadAttention(16, 4, { seqLen: 8, projK: 4, paramSharing: 'bogus' as 'none' }), RangeError, ['paramSharing', 'bogus', 'layerwise']],
  ];
  for (const [what, fn, cls, needles] of cases) {
    it(`${what}: clear error, no wasm memory kept; a good module afterwards matches its golden`, () => {
      const before = memoryUsage();
      expectError(fn, cls, needles, what);
      assert.equal(memoryUsage().allocatedBytes, before.allocatedBytes, `${what}: a failed constructor keeps wasm memory`);
      withModule(what.startsWith('Linformer') || /seqLen|projK|paramSharing/.test(what) ? LIN : MHA, () => {});
    });
  }

  it('shareWith: a MultiheadAttention (TypeError), a non-layerwise module, another (k, seqLen) (RangeError)', () => {
    const c = goldenCase('linformer/paramSharing-layerwise-shareWith');
    const [owner, sharer] = buildModules(c);
    const mha = new MultiheadAttention(16, 4);
    const kv = new LinearMultiheadAttention(16, 4, { seqLen: 10, projK: 5, paramSharing: 'kv' });
    try {
      const base = { seqLen: 10, projK: 5, paramSharing: 'layerwise' as const };
      expectError(() => new LinearMultiheadAttention(16, 4, { ...base, shareWith: mha as unknown as LinearMultiheadAttention }), TypeError, ['shareWith', 'MultiheadAttention'], 'shareWith MHA');
      expectError(() => new LinearMultiheadAttention(16, 4, { ...base, shareWith: kv }), RangeError, ['shareWith', 'layerwise', 'kv'], 'owner kv');
      expectError(() => new LinearMultiheadAttention(16, 4, { ...base, paramSharing: 'none', shareWith: owner as LinearMultiheadAttention }), RangeError, ['shareWith', 'layerwise', 'none'], 'sharer none');
      expectError(() => new LinearMultiheadAttention(16, 4, { ...base, seqLen: 12, shareWith: owner as LinearMultiheadAttention }), RangeError, ['shareWith', [5, 10], [5, 12]], 'other seqLen');
      checkGolden(owner, c.name, 0);
      checkGolden(sharer, c.name, 1);
    } finally {
      for (const m of [sharer, owner, mha, kv]) m.dispose();
    }
  });

  it('a failed shareWith constructor keeps no wasm memory', () => {
    const owner = new LinearMultiheadAttention(16, 4, { seqLen: 10, projK: 5, paramSharing: 'layerwise' });
    try {
      const before = memoryUsage().allocatedBytes;
      assert.throws(() => new LinearMultiheadAttention(16, 4, { seqLen: 12, projK: 5, paramSharing: 'layerwise', shareWith: owner }), RangeError);
      assert.throws(() => new LinearMultiheadAttention(16, 4, { seqLen: 10, projK: 5, paramSharing: 'kv', shareWith: owner }), RangeError);
      assert.equal(memoryUsage().allocatedBytes, before, 'failed constructors left buffers allocated');
    } finally {
      owner.dispose();
    }
  });
});

// ------------------------------------------------------------------ state dicts

/** The golden module's weights with one change. */
function editedDict(name: string, edit: (sd: Record<string, F32Tensor>) => void, module = 0): Record<string, F32Tensor> {
  const sd = stateDictOf(goldenCase(name).modules[module]);
  edit(sd);
  return sd;
}

/** Other valid weights for every key, so that a partial load would show. */
function otherWeights(name: string, module = 0): Record<string, F32Tensor> {
  const sd = stateDictOf(goldenCase(name).modules[module]);
  const rng = new Rng(99);
  for (const t of Object.values(sd)) for (let i = 0; i < t.data.length; i++) t.data[i] = rng.normal() * 0.2;
  return sd;
}

describe('bad state dicts (nothing is loaded unless all of it is good)', () => {
  type DictCase = [string, (sd: Record<string, F32Tensor>) => void, typeof TypeError | typeof RangeError, Needle[]];
  const mhaCases: DictCase[] = [
    ['missing out_proj.bias', (sd) => delete sd['out_proj.bias'], RangeError, ['out_proj.bias', [16]]],
    ['missing in_proj_weight', (sd) => delete sd.in_proj_weight, RangeError, ['in_proj_weight', [48, 16]]],
    ['extra bias_k on a module without addBiasKV', (sd) => (sd.bias_k = { data: new Float32Array(16), dims: [1, 1, 16] }), RangeError, ['bias_k', [1, 1, 16]]],
    ['extra e_proj_weight on standard attention', (sd) => (sd.e_proj_weight = { data: new Float32Array(24), dims: [4, 6] }), RangeError, ['e_proj_weight', [4, 6]]],
    ['in_proj_weight transposed (16, 48)', (sd) => (sd.in_proj_weight = { data: sd.in_proj_weight.data, dims: [16, 48] }), RangeError, ['in_proj_weight', [48, 16], [16, 48]]],
    ['in_proj_bias (3, 16)', (sd) => (sd.in_proj_bias = { data: sd.in_proj_bias.data, dims: [3, 16] }), RangeError, ['in_proj_bias', [48], [3, 16]]],
    ['out_proj.weight (16, 15)', (sd) => (sd['out_proj.weight'] = { data: sd['out_proj.weight'].data.slice(0, 240), dims: [16, 15] }), RangeError, ['out_proj.weight', [16, 16], [16, 15]]],
    ['out_proj.bias data a Float64Array', (sd) => (sd['out_proj.bias'] = { data: new Float64Array(16) as unknown as Float32Array, dims: [16] }), TypeError, ['out_proj.bias', 'Float32Array', 'Float64Array']],
    ['in_proj_bias data longer than its dims', (sd) => (sd.in_proj_bias = { data: new Float32Array(49), dims: [48] }), RangeError, ['in_proj_bias', [48], '49']],
    ['NaN in out_proj.bias (the last key), every other key changed', (sd) => (sd['out_proj.bias'].data[3] = NaN), RangeError, ['out_proj.bias', 'NaN']],
    ['+Infinity in in_proj_weight', (sd) => (sd.in_proj_weight.data[100] = Infinity), RangeError, ['in_proj_weight', 'Infinity']],
    ['-Infinity in out_proj.weight', (sd) => (sd['out_proj.weight'].data[0] = -Infinity), RangeError, ['out_proj.weight', '-Infinity']],
  ];
  const linCases: DictCase[] = [
    ['missing e_proj_weight', (sd) => delete sd.e_proj_weight, RangeError, ['e_proj_weight', [6, 12]]],
    ['missing f_proj_weight', (sd) => delete sd.f_proj_weight, RangeError, ['f_proj_weight', [6, 12]]],
    ['missing bias_f', (sd) => delete sd.bias_f, RangeError, ['bias_f', [1, 1, 6]]],
    ['e_proj_weight transposed (seqLen, k)', (sd) => (sd.e_proj_weight = { data: sd.e_proj_weight.data, dims: [12, 6] }), RangeError, ['e_proj_weight', [6, 12], [12, 6]]],
    ['e_proj_weight of another seqLen (6, 10)', (sd) => (sd.e_proj_weight = { data: sd.e_proj_weight.data.slice(0, 60), dims: [6, 10] }), RangeError, ['e_proj_weight', [6, 12], [6, 10]]],
    ['bias_e (6) instead of (1, 1, 6)', (sd) => (sd.bias_e = { data: sd.bias_e.data, dims: [6] }), RangeError, ['bias_e', [1, 1, 6], [6]]],
    ['extra bias_v', (sd) => (sd.bias_v = { data: new Float32Array(16), dims: [1, 1, 16] }), RangeError, ['bias_v', [1, 1, 16]]],
    ['NaN in bias_f, every other key changed', (sd) => (sd.bias_f.data[2] = NaN), RangeError, ['bias_f', 'NaN']],
    ['-Infinity in e_proj_weight, every other key changed', (sd) => (sd.e_proj_weight.data[7] = -Infinity), RangeError, ['e_proj_weight', '-Infinity']],
    ['NaN in f_proj_weight', (sd) => (sd.f_proj_weight.data[0] = NaN), RangeError, ['f_proj_weight', 'NaN']],
  ];
  for (const [kind, golden, cases] of [['mha', MHA, mhaCases], ['linformer', LIN, linCases]] as const) {
    for (const [what, edit, cls, needles] of cases) {
      it(`${kind}: ${what}`, () => {
        withModule(golden, (m) => {
          const dict = what.includes('every other key changed') ? otherWeights(golden) : editedDict(golden, () => {});
          edit(dict);
          badThenGood(m, golden, () => m.loadStateDict(dict), cls, needles, what);
        });
      });
    }
  }

  it('not a dict: null, a number, a string', () => {
    withModule(MHA, (m) => {
      for (const bad of [null, 42, 'in_proj_weight']) {
        badThenGood(m, MHA, () => m.loadStateDict(bad as unknown as Record<string, F32Tensor>), TypeError, ['stateDict'], String(bad));
      }
    });
  });

  it("per-head: e_proj_weight (k, seqLen) instead of (H, k, seqLen)", () => {
    const name = 'linformer/paramSharing-per-head-S=seqLen-N3'; // H 4, k 4, seqLen 8
    withModule(name, (m) => {
      const dict = editedDict(name, (sd) => (sd.e_proj_weight = { data: sd.e_proj_weight.data.slice(0, 32), dims: [4, 8] }));
      badThenGood(m, name, () => m.loadStateDict(dict), RangeError, ['e_proj_weight', [4, 4, 8], [4, 8]], 'per-head E 2-D');
    });
  });

  it('layerwise shareWith: loading e_proj_weight (or f_proj_weight) into the sharing module is an error naming it', () => {
    const c = goldenCase('linformer/paramSharing-layerwise-shareWith');
    const [owner, sharer] = buildModules(c);
    try {
      const ownE = stateDictOf(c.modules[0]).e_proj_weight;
      const withE = { ...stateDictOf(c.modules[1]), e_proj_weight: ownE };
      expectError(() => sharer.loadStateDict(withE), RangeError, ['e_proj_weight'], 'E into the sharer');
      const withF = { ...stateDictOf(c.modules[1]), f_proj_weight: ownE };
      expectError(() => sharer.loadStateDict(withF), RangeError, ['f_proj_weight'], 'F into the sharer');
      checkGolden(sharer, c.name, 1);
      checkGolden(owner, c.name, 0);
    } finally {
      sharer.dispose();
      owner.dispose();
    }
  });

  it("'kv': f_proj_weight ≠ e_proj_weight is an error naming both; an equal one loads", () => {
    const name = 'linformer/paramSharing-kv-without-f';
    withModule(name, (m) => {
      const sd = stateDictOf(goldenCase(name).modules[0]);
      const f = { data: sd.e_proj_weight.data.slice(), dims: sd.e_proj_weight.dims.slice() };
      f.data[3] += 0.25;
      badThenGood(m, name, () => m.loadStateDict({ ...sd, f_proj_weight: f }), RangeError, ['f_proj_weight', 'e_proj_weight'], 'F ≠ E');
      const fShape = { data: sd.e_proj_weight.data.slice(0, 20), dims: [5, 4] };
      badThenGood(m, name, () => m.loadStateDict({ ...sd, f_proj_weight: fShape }), RangeError, ['f_proj_weight', [5, 4], [5, 10]], 'F of another shape');
      // F = E, given: loads, and the golden still holds
      m.loadStateDict({ ...sd, f_proj_weight: { data: sd.e_proj_weight.data.slice(), dims: sd.e_proj_weight.dims.slice() } });
      checkGolden(m, name);
    });
  });

  it("'layerwise' (own E): f_proj_weight ≠ e_proj_weight is an error too", () => {
    const name = 'linformer/paramSharing-layerwise-with-f';
    withModule(name, (m) => {
      const sd = stateDictOf(goldenCase(name).modules[0]);
      const f = { data: sd.e_proj_weight.data.map((x) => -x), dims: sd.e_proj_weight.dims.slice() };
      badThenGood(m, name, () => m.loadStateDict({ ...sd, f_proj_weight: f }), RangeError, ['f_proj_weight', 'e_proj_weight'], 'F = −E');
    });
  });
});

describe('bad .safetensors bytes', () => {
  /** A safetensors file written by hand: 8-byte header length, JSON header, data. */
  function safetensors(tensors: Record<string, { dtype: 'F32' | 'F16' | 'BF16'; shape: number[]; bytes: Uint8Array }>): Uint8Array {
    const header: Record<string, unknown> = {};
    let offset = 0;
    for (const [k, t] of Object.entries(tensors)) {
      header[k] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.bytes.length] };
      offset += t.bytes.length;
    }
    let json = JSON.stringify(header);
    while ((8 + json.length) % 8) json += ' ';
    const out = new Uint8Array(8 + json.length + offset);
    new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
    out.set(new TextEncoder().encode(json), 8);
    let o = 8 + json.length;
    for (const t of Object.values(tensors)) {
      out.set(t.bytes, o);
      o += t.bytes.length;
    }
    return out;
  }
  const f32bytes = (a: Float32Array) => new Uint8Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength));

  it('a NaN in an F32 tensor and an F16 infinity are RangeErrors naming the key; a good file then loads', () => {
    withModule(LIN, (m) => {
      const sd = stateDictOf(goldenCase(LIN).modules[0]);
      const asFile = (edit: (name: string, a: Float32Array) => void) =>
        safetensors(
          Object.fromEntries(
            Object.entries(sd).map(([k, t]) => {
              const a = t.data.slice();
              edit(k, a);
              return [k, { dtype: 'F32' as const, shape: t.dims, bytes: f32bytes(a) }];
            }),
          ),
        );
      badThenGood(m, LIN, () => m.loadStateDict(asFile((k, a) => k === 'out_proj.weight' && (a[5] = NaN))), RangeError, ['out_proj.weight', 'NaN'], 'F32 NaN');
      // bias_e as F16 with +inf (0x7c00) in entry 2
      const f16 = new Uint8Array(12);
      new DataView(f16.buffer).setUint16(4, 0x7c00, true);
      const tensors = Object.fromEntries(Object.entries(sd).map(([k, t]) => [k, { dtype: 'F32' as const, shape: t.dims, bytes: f32bytes(t.data) }])) as Record<string, { dtype: 'F32' | 'F16'; shape: number[]; bytes: Uint8Array }>;
      tensors.bias_e = { dtype: 'F16', shape: [1, 1, 6], bytes: f16 };
      badThenGood(m, LIN, () => m.loadStateDict(safetensors(tensors)), RangeError, ['bias_e', 'Infinity'], 'F16 inf');
      // the same weights as a good file load and give the golden result
      m.loadStateDict(asFile(() => {}));
      checkGolden(m, LIN);
    });
  });

  it('a truncated file and an I32 tensor are errors; the module keeps its weights', () => {
    withModule(LIN, (m) => {
      const sd = stateDictOf(goldenCase(LIN).modules[0]);
      const file = safetensors(Object.fromEntries(Object.entries(sd).map(([k, t]) => [k, { dtype: 'F32' as const, shape: t.dims, bytes: f32bytes(t.data) }])));
      badThenGood(m, LIN, () => m.loadStateDict(file.subarray(0, file.length - 10)), RangeError, ['safetensors'], 'truncated');
      const i32 = safetensors({ bias_e: { dtype: 'I32' as 'F32', shape: [1, 1, 6], bytes: new Uint8Array(24) } });
      badThenGood(m, LIN, () => m.loadStateDict(i32), TypeError, ['bias_e', 'I32'], 'I32');
    });
  });
});

// ------------------------------------------------------------------ NaN and Inf in inputs

/** Indices of NaN entries of an (L, N, E) output, as "l,n" rows that are entirely NaN, or throws if a row is partly NaN. */
function nanRows(t: { data: ArrayLike<number>; dims: readonly number[] }): string[] {
  const [A, B, C] = t.dims;
  const rows: string[] = [];
  for (let a = 0; a < A; a++)
    for (let b = 0; b < B; b++) {
      let nans = 0;
      for (let c = 0; c < C; c++) if (Number.isNaN(t.data[(a * B + b) * C + c])) nans++;
      if (nans === C) rows.push(`${a},${b}`);
      else assert.equal(nans, 0, `row ${a},${b} partly NaN`);
    }
  return rows;
}

describe('NaN and ±Infinity in inputs propagate as torch does (against the float64 reference)', () => {
  const L = 4;
  const N = 3;
  const S = 6;
  const allRows = (n: number, len: number) => Array.from({ length: len }, (_, l) => `${l},${n}`);

  for (const name of ['mha/keyPaddingMask-bool-N3', 'linformer/keyPaddingMask-bool-N3']) {
    const linformer = name.startsWith('linformer');
    const orders = linformer ? (['inputs', 'keys'] as const) : (['auto'] as const);
    for (const order of orders) {
      it(`${linformer ? `linformer (${order} first)` : 'mha'}: NaN in one query row, in a key row, in a value row, in a padded key row; ±Inf`, () => {
        const saved = env.sequenceProjection;
        env.sequenceProjection = order;
        const m = buildOne(name);
        try {
          const mod = goldenCase(name).modules[0];
          const sd = stateDictOf(mod);
          const cfg: RefConfig = { embedDim: 16, numHeads: 4, ...(mod.options as object) };
          const ref = (q: F32Tensor, k: F32Tensor, v: F32Tensor, fo = {}) => (linformer ? referenceLinformer : referenceMHA)(cfg, sd, q, k, v, fo);
          const rng = new Rng(31);
          const fresh = () => [randn(rng, [L, N, 16]), randn(rng, [S, N, 16]), randn(rng, [S, N, 16])] as const;
          const check = (what: string, q: F32Tensor, k: F32Tensor, v: F32Tensor, fo = {}) => {
            const got = m.forward(q, k, v, fo);
            const r = ref(q, k, v, fo);
            assertCloseRef(`${what} output`, got.output, r.output);
            assertCloseRef(`${what} weights`, got.weights, r.weights!);
            checkGolden(m, name); // the module is not poisoned
            return got;
          };
          {
            // NaN in query row (l 2, n 1): that output row only, and that weights row
            const [q, k, v] = fresh();
            q.data[(2 * N + 1) * 16 + 5] = NaN;
            const got = check('NaN query', q, k, v);
            assert.deepEqual(nanRows(got.output), ['2,1']);
          }
          {
            // NaN in key row (s 3, n 0): every score of batch item 0 is NaN → all its rows
            const [q, k, v] = fresh();
            k.data[(3 * N + 0) * 16 + 9] = NaN;
            const got = check('NaN key', q, k, v);
            assert.deepEqual(nanRows(got.output), allRows(0, L));
          }
          {
            // NaN in value row (s 1, n 2): every output row of item 2 (0·NaN is NaN), its weights finite
            const [q, k, v] = fresh();
            v.data[(1 * N + 2) * 16 + 0] = NaN;
            const got = check('NaN value', q, k, v);
            assert.deepEqual(nanRows(got.output), allRows(2, L));
            assert.ok(got.weights!.data.every((x) => Number.isFinite(x)), 'weights stay finite');
          }
          {
            // NaN in a key row that the key padding mask pads out (s 4, n 1)
            const [q, k, v] = fresh();
            k.data[(4 * N + 1) * 16 + 2] = NaN;
            v.data[(4 * N + 1) * 16 + 3] = NaN;
            const kpm = boolMask(new Rng(3), [N, S], 0, false);
            kpm.data[1 * S + 4] = 1;
            const got = check('NaN in a padded key row', q, k, v, { keyPaddingMask: kpm });
            // torch adds -inf to the NaN score (still NaN); Linformer zeroes the padded rows first (docs/semantics.md)
            assert.deepEqual(nanRows(got.output), linformer ? [] : allRows(1, L));
          }
          {
            // +Inf in a query entry, -Inf in a key entry
            const [q, k, v] = fresh();
            q.data[(0 * N + 0) * 16 + 1] = Infinity;
            k.data[(2 * N + 2) * 16 + 7] = -Infinity;
            check('±Inf', q, k, v);
          }
        } finally {
          m.dispose();
          env.sequenceProjection = saved;
        }
      });
    }
  }
});

// ------------------------------------------------------------------ 4 GiB

describe("sizes past wasm's 4 GiB: a RangeError before allocating", () => {
  it('mha forward: per-head weights of (1, 4, 16384, 16384) floats (4 GiB); the module keeps working', () => {
    withModule(MHA, (m) => {
      const rng = new Rng(4);
      const q = randn(rng, [16384, 1, 16]); // 1 MiB
      const before = memoryUsage();
      expectError(() => m.forward(q, q, q, { averageAttnWeights: false }), RangeError, ['4 GiB'], 'per-head weights');
      const after = memoryUsage();
      assert.equal(after.wasmBytes, before.wasmBytes, 'wasm memory grew');
      assert.equal(after.peakBytes, before.peakBytes, 'peak moved');
      checkGolden(m, MHA);
    });
  });

  it('mha forward: averaged weights of (1024, 1024, 1024) floats with E = 1 (4 GiB)', () => {
    const m = new MultiheadAttention(1, 1, { seed: 1 });
    try {
      const q = randn(new Rng(5), [1024, 1024, 1]); // 4 MiB
      const before = memoryUsage();
      expectError(() => m.forward(q, q, q), RangeError, ['4 GiB'], 'averaged weights');
      assert.equal(memoryUsage().wasmBytes, before.wasmBytes, 'wasm memory grew');
      // still right on a small call
      const x = randn(new Rng(6), [5, 2, 1]);
      const got = m.forward(x, x, x);
      const r = referenceMHA({ embedDim: 1, numHeads: 1 }, m.stateDict(), x, x, x);
      assertCloseRef('output', got.output, r.output);
    } finally {
      m.dispose();
    }
  });

  it('linformer forward: per-head weights of (1, 4, 4096, 65536) floats (k = 65536)', () => {
    const cfg: RefConfig = { embedDim: 16, numHeads: 4, seqLen: 16, projK: 65536, paramSharing: 'kv' };
    const m = new LinearMultiheadAttention(16, 4, { seqLen: 16, projK: 65536, paramSharing: 'kv' });
    try {
      const rng = new Rng(7);
      const sd = randomStateDict(rng, cfg, true);
      m.loadStateDict(sd);
      const q = randn(rng, [4096, 1, 16]);
      const kv = randn(rng, [16, 1, 16]);
      const before = memoryUsage();
      expectError(() => m.forward(q, kv, kv, { averageAttnWeights: false }), RangeError, ['4 GiB'], 'linformer weights');
      assert.equal(memoryUsage().wasmBytes, before.wasmBytes, 'wasm memory grew');
      const q2 = randn(rng, [2, 1, 16]);
      const got = m.forward(q2, kv, kv, { needWeights: false });
      assertCloseRef('output', got.output, referenceLinformer(cfg, sd, q2, kv, kv, { needWeights: false }).output);
    } finally {
      m.dispose();
    }
  });

  const opsGolden = loadGolden<{ name: string; inputs: Record<string, RawTensor | boolean>; expected: RawTensor }>('ops.json').cases;
  const goodOp = (name: string) => {
    const c = opsGolden.find((x) => x.name === name)!;
    const t = (k: string) => f32(c.inputs[k] as RawTensor);
    const got = name.startsWith('matmul') ? ops.matmul(t('a'), t('b'), { transposeB: c.inputs.transposeB as boolean }) : ops.linear(t('x'), t('weight'), c.inputs.bias ? t('bias') : undefined);
    assertClose(name, got, c.expected);
  };

  it('ops.matmul (65536, 1)·(1, 65536) and ops.linear of the same size (16 GiB outputs)', () => {
    const a = randn(new Rng(8), [65536, 1]);
    const before = memoryUsage();
    expectError(() => ops.matmul(a, { data: a.data, dims: [1, 65536] }), RangeError, ['4 GiB'], 'matmul');
    expectError(() => ops.matmul(a, a, { transposeB: true }), RangeError, ['4 GiB'], 'matmul transposeB');
    expectError(() => ops.linear(a, a), RangeError, ['4 GiB'], 'linear');
    assert.equal(memoryUsage().wasmBytes, before.wasmBytes, 'wasm memory grew');
    goodOp('matmul/M3-K5-N3');
    goodOp('linear/2d-B5-in17-out33-bias');
  });

  it('constructors: MultiheadAttention(40000, 8) needs 4 × 6.4 GB of packed weights; nothing is allocated', () => {
    const before = memoryUsage();
    expectError(() => new MultiheadAttention(40000, 8), RangeError, ['4 GiB'], 'E = 40000');
    const after = memoryUsage();
    assert.equal(after.wasmBytes, before.wasmBytes);
    assert.equal(after.allocatedBytes, before.allocatedBytes);
    withModule(MHA, () => {});
  });

  it('constructors: LinearMultiheadAttention with projK·seqLen = 2^33 floats is a RangeError naming seqLen and projK, with nothing allocated', () => {
    const before = memoryUsage();
    expectError(() => new LinearMultiheadAttention(16, 4, { seqLen: 2 ** 21, projK: 2 ** 12 }), RangeError, ['seqLen', 'projK', '4 GiB'], 'E of 2^33 floats');
    const after = memoryUsage();
    assert.equal(after.wasmBytes, before.wasmBytes);
    assert.equal(after.allocatedBytes, before.allocatedBytes, 'the failed constructor left its packed weights allocated');
    withModule(LIN, () => {});
  });

  it("constructors: per-head LinearMultiheadAttention with numHeads·projK·seqLen past 4 GiB is a RangeError naming numHeads, projK and seqLen", () => {
    const before = memoryUsage();
    const options = { paramSharing: 'per-head', seqLen: 64, projK: 32 } as const;
    expectError(() => new LinearMultiheadAttention(2 ** 20, 2 ** 20, options), RangeError, ['numHeads', 'projK', 'seqLen', '4 GiB'], 'per-head E and F');
    assert.deepEqual(memoryUsage(), before);
    withModule(LIN, () => {});
  });

  it('the 4 GiB error names the inputs and their shapes (forward: query, key; ops: a, b / x, weight)', () => {
    withModule(MHA, (m) => {
      const q = randn(new Rng(4), [16384, 1, 16]);
      expectError(() => m.forward(q, q, q, { averageAttnWeights: false }), RangeError, ['4 GiB', 'query', 'key', [16384, 1, 16]], 'per-head weights');
      checkGolden(m, MHA);
    });
    const a = randn(new Rng(8), [65536, 1]);
    expectError(() => ops.matmul(a, { data: a.data, dims: [1, 65536] }), RangeError, ['4 GiB', 'a', [65536, 1], [1, 65536]], 'matmul');
    expectError(() => ops.linear(a, a), RangeError, ['4 GiB', 'x', 'weight', [65536, 1]], 'linear');
  });
});

// ------------------------------------------------------------------ disposed

describe('a disposed module', () => {
  for (const name of [MHA, LIN]) {
    it(`${name.split('/')[0]}: forward, loadStateDict and stateDict throw an Error naming the class and the method; dispose twice is fine`, () => {
      const m = buildOne(name);
      checkGolden(m, name);
      m.dispose();
      const cls = m instanceof LinearMultiheadAttention ? 'LinearMultiheadAttention' : 'MultiheadAttention';
      const { query, key, value } = callInputs(goldenCase(name).calls[0]);
      const message = (method: string) => new RegExp(`^${cls}\\.${method}: this module has been disposed; create a new one$`);
      expectError(() => m.forward(query, key, value), Error, [message('forward')], 'forward');
      expectError(() => m.loadStateDict(stateDictOf(goldenCase(name).modules[0])), Error, [message('loadStateDict')], 'loadStateDict');
      expectError(() => m.stateDict(), Error, [message('stateDict')], 'stateDict');
      m.dispose();
      withModule(name, () => {}); // a new one works
    });
  }

  it('shareWith a disposed owner is an Error that says so, with nothing allocated', () => {
    const owner = new LinearMultiheadAttention(16, 4, { seqLen: 10, projK: 5, paramSharing: 'layerwise' });
    owner.dispose();
    const before = memoryUsage().allocatedBytes;
    expectError(
      () => new LinearMultiheadAttention(16, 4, { seqLen: 10, projK: 5, paramSharing: 'layerwise', shareWith: owner }),
      Error,
      [/^LinearMultiheadAttention: shareWith: the module it points to has been disposed$/],
      'shareWith',
    );
    assert.equal(memoryUsage().allocatedBytes, before);
    withModule(LIN, () => {});
  });

  it('a disposed PackedMatrix: ops.matmul names b and says to pack it again', () => {
    const b = randn(new Rng(12), [5, 3]);
    const packed = ops.prepack(b);
    packed.dispose();
    expectError(() => ops.matmul(randn(new Rng(13), [2, 5]), packed), Error, [/^ops\.matmul: b: this PackedMatrix has been disposed; pack the matrix again with ops\.prepack$/], 'PackedMatrix');
  });
});

// ------------------------------------------------------------------ dims as received

describe('bad dims are printed as given, not as Array(n)', () => {
  it('a fractional, a negative, a string entry; typed-array dims; a long list is cut with its length', () => {
    withModule(MHA, (m) => {
      const { query, key, value } = callInputs(goldenCase(MHA).calls[0]);
      const cases: [unknown, string][] = [
        [[5, 1.5, 16], 'query.dims: expected an array of non-negative integers, got [5, 1.5, 16] (entry 1 is number 1.5)'],
        [[5, -1, 16], 'query.dims: expected an array of non-negative integers, got [5, -1, 16] (entry 1 is number -1)'],
        [[5, '1', 16], "query.dims: expected an array of non-negative integers, got [5, '1', 16] (entry 1 is string '1')"],
        [Int32Array.from([5, -1, 16]), 'query.dims: expected an array of non-negative integers, got Int32Array [5, -1, 16] (entry 1 is number -1)'],
        [[1, 1, 1, 1, 1, 1, 1, 1, 1, -80], 'query.dims: expected an array of non-negative integers, got [1, 1, 1, 1, 1, 1, 1, 1, …] (10 entries) (entry 9 is number -80)'],
        ['5,1,16', "query.dims: expected an array of non-negative integers, got string '5,1,16'"],
      ];
      for (const [dims, message] of cases) {
        badThenGood(m, MHA, () => m.forward({ data: query.data, dims } as unknown as F32Tensor, key, value), TypeError, [new RegExp(`^${message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`)], String(dims));
      }
    });
  });

  it('an unexpected state dict key with bad dims shows them', () => {
    withModule(MHA, (m) => {
      const sd = { ...stateDictOf(goldenCase(MHA).modules[0]), extra: { data: new Float32Array(2), dims: [2, 0.5] } };
      badThenGood(m, MHA, () => m.loadStateDict(sd as Record<string, F32Tensor>), RangeError, ["unexpected key 'extra' with dims [2, 0.5]"], 'extra key');
    });
  });
});

// ------------------------------------------------------------------ ops

describe('bad ops arguments', () => {
  const opsGolden = loadGolden<{ name: string; inputs: Record<string, RawTensor | boolean>; expected: RawTensor }>('ops.json').cases;
  const good = () => {
    for (const name of ['matmul/M5-K9-N9', 'matmul/M3-K9-N4-transposeB', 'linear/3d-2x3-in16-out8-bias', 'softmax/2d-3x33']) {
      const c = opsGolden.find((x) => x.name === name)!;
      const t = (k: string) => f32(c.inputs[k] as RawTensor);
      const got = name.startsWith('matmul')
        ? ops.matmul(t('a'), t('b'), { transposeB: c.inputs.transposeB as boolean })
        : name.startsWith('linear')
          ? ops.linear(t('x'), t('weight'), c.inputs.bias ? t('bias') : undefined)
          : ops.softmax(t('x'));
      assertClose(name, got, c.expected);
    }
  };
  const z = (dims: number[]): F32Tensor => ({ data: new Float32Array(dims.reduce((a, b) => a * b, 1)), dims });
  const cases: [string, () => unknown, typeof TypeError | typeof RangeError, Needle[]][] = [
    ['matmul: a of rank 3', () => ops.matmul(z([2, 3, 4]), z([4, 5])), RangeError, ['a', [2, 3, 4]]],
    ['matmul: b of rank 1', () => ops.matmul(z([3, 4]), z([4])), RangeError, ['b', [4]]],
    ['matmul: inner sizes differ', () => ops.matmul(z([3, 4]), z([5, 6])), RangeError, ['b', [3, 4], [5, 6]]],
    ['matmul: inner sizes differ, transposeB', () => ops.matmul(z([3, 4]), z([4, 5]), { transposeB: true }), RangeError, ['b', [3, 4], [4, 5]]],
    ['matmul: a data a Float64Array', () => ops.matmul({ data: new Float64Array(12), dims: [3, 4] } as unknown as F32Tensor, z([4, 5])), TypeError, ['a', 'Float32Array', 'Float64Array']],
    ['matmul: b data length ≠ dims', () => ops.matmul(z([3, 4]), { data: new Float32Array(19), dims: [4, 5] }), RangeError, ['b', [4, 5], '19']],
    ['matmul: b null', () => ops.matmul(z([3, 4]), null as unknown as F32Tensor), TypeError, ['b']],
    ['matmul: out of the wrong shape', () => ops.matmul(z([3, 4]), z([4, 5]), { out: z([5, 3]) }), RangeError, ['out', [3, 5], [5, 3]]],
    ['matmul: out data a Float64Array', () => ops.matmul(z([3, 4]), z([4, 5]), { out: { data: new Float64Array(15), dims: [3, 5] } as unknown as F32Tensor }), TypeError, ['out', 'Float32Array', 'Float64Array']],
    ['linear: weight of rank 1', () => ops.linear(z([3, 4]), z([4])), RangeError, ['weight', [4]]],
    ['linear: in_features differ', () => ops.linear(z([3, 4]), z([5, 6])), RangeError, ['weight', [3, 4], [5, 6]]],
    ['linear: bias of another length', () => ops.linear(z([3, 4]), z([5, 4]), z([4])), RangeError, ['bias', [5], [4]]],
    ['linear: bias (1, 5)', () => ops.linear(z([3, 4]), z([5, 4]), z([1, 5])), RangeError, ['bias', [5], [1, 5]]],
    ['linear: bias data a plain array', () => ops.linear(z([3, 4]), z([5, 4]), { data: [0, 0, 0, 0, 0], dims: [5] } as unknown as F32Tensor), TypeError, ['bias', 'Float32Array']],
    ['linear: x of rank 0', () => ops.linear(z([]), z([5, 1])), RangeError, ['x']],
    ['softmax: x data an Int32Array', () => ops.softmax({ data: new Int32Array(4), dims: [4] } as unknown as F32Tensor), TypeError, ['x', 'Float32Array', 'Int32Array']],
    ['softmax: x data length ≠ dims', () => ops.softmax({ data: new Float32Array(5), dims: [2, 3] }), RangeError, ['x', [2, 3], '5']],
  ];
  for (const [what, fn, cls, needles] of cases) {
    it(`${what}; good ops afterwards match their goldens`, () => {
      expectError(fn, cls, needles, what);
      good();
    });
  }
});
