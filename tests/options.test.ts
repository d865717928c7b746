// Options are checked for type and range, null included: every
// public entry's options (the constructors, forward, loadStateDict, ops.matmul,
// ops.prepack) and scalar arguments (ops.linear's bias), grouped by entry,
// good cases beside bad ones. null and undefined options are the defaults
// (torch's None); anything but an options object is a TypeError; an unknown
// key (torch's snake_case, a typo) is a TypeError that names it and the
// camelCase spelling to use; a known key of the wrong type is a TypeError and
// a number out of range a RangeError. After every error the same module (or
// op) gives the same output as before, bit for bit, and no memory is kept.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LinearMultiheadAttention, manualSeed, memoryUsage, MultiheadAttention, ops } from 'linformer-wasm';
import { initForTests } from './helpers/setup.js';
import { buildOne, callInputs, checkGolden, goldenCase, stateDictOf, type Attention } from './helpers/cases.js';
import { randn, Rng, type F32Tensor } from './helpers/rng.js';

before(() => initForTests());

// ------------------------------------------------------------------ helpers

type ErrorClass = typeof TypeError | typeof RangeError | typeof Error;

/** Asserts fn throws exactly `cls` (not a subclass, not a wasm trap) with exactly `message`. */
function throwsExactly(fn: () => unknown, cls: ErrorClass, message: string): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught !== undefined, `expected ${cls.name}: ${message}; nothing was thrown`);
  const e = caught as Error;
  assert.equal(e.constructor, cls, `expected ${cls.name}, got ${e.constructor?.name}: ${e.message}`);
  assert.equal(e.message, message);
}

interface Bits {
  readonly data: Float32Array;
  readonly dims: readonly number[];
}

function sameBits(got: Bits | null, want: Bits | null, what: string): void {
  if (want === null || got === null) {
    assert.equal(got, want, `${what}: null`);
    return;
  }
  assert.deepEqual([...got.dims], [...want.dims], `${what}: dims`);
  assert.equal(got.data.length, want.data.length, `${what}: length`);
  for (let i = 0; i < want.data.length; i++) {
    if (!Object.is(got.data[i], want.data[i])) assert.fail(`${what}[${i}]: ${got.data[i]}, before ${want.data[i]}`);
  }
}

function sameStateDict(got: Record<string, Bits>, want: Record<string, Bits>, what: string): void {
  assert.deepEqual(Object.keys(got), Object.keys(want), `${what}: keys`);
  for (const key of Object.keys(want)) sameBits(got[key], want[key], `${what}: ${key}`);
}

const MHA = 'mha/basic-E16-H4-N1-L5-S7'; // E 16, H 4
const LIN = 'linformer/S<seqLen-N3'; // E 16, H 4, seqLen 12, k 6

/** The message of a value that is not an options object. */
function notOptions(where: string, keys: string, got: string, hint = ''): string {
  return `${where}: options: expected an options object { ${keys} }, null or undefined, got ${got}${hint}`;
}

const MODULE_KEYS = 'dropout, bias, addBiasKV, addZeroAttn, kdim, vdim, batchFirst, seed';
const LINEAR_KEYS = `${MODULE_KEYS}, seqLen, projK, paramSharing, shareWith`;
const quoted = (keys: string) =>
  keys
    .split(', ')
    .map((k) => `'${k}'`)
    .join(', ');

// ------------------------------------------------------------------ constructors

type Ctor = (options: unknown) => Attention;
const constructors: [string, string, Ctor][] = [
  ['MultiheadAttention', MODULE_KEYS, (o) => new MultiheadAttention(16, 4, o as null)],
  ['LinearMultiheadAttention', LINEAR_KEYS, (o) => new LinearMultiheadAttention(16, 4, o as null)],
];

/** A constructor that must fail leaves no wasm memory and does not draw from the default generator. */
function failsCleanly(make: Ctor, options: unknown, cls: ErrorClass, message: string): void {
  const fresh = (o: unknown) => {
    manualSeed(1234);
    const m = make(o);
    const sd = m.stateDict();
    m.dispose();
    return sd;
  };
  const want = fresh({});
  const before = memoryUsage().allocatedBytes;
  manualSeed(1234);
  throwsExactly(() => make(options), cls, message);
  assert.equal(memoryUsage().allocatedBytes, before, `${message}: a failed constructor kept wasm memory`);
  // the generator is where manualSeed left it: the next module gets the same weights
  const m = make({});
  try {
    sameStateDict(m.stateDict(), want, `after "${message}"`);
  } finally {
    m.dispose();
  }
}

/** [key, value, error class, what is expected, how the value is shown]. */
type BadValue = [string, unknown, ErrorClass, string, string];

const moduleBadValues: BadValue[] = [
  ['dropout', '0.1', TypeError, 'a number in [0, 1]', "string '0.1'"],
  ['dropout', true, TypeError, 'a number in [0, 1]', 'boolean true'],
  ['dropout', null, TypeError, 'a number in [0, 1]', 'null'],
  ['dropout', -0.1, RangeError, 'a number in [0, 1]', 'number -0.1'],
  ['dropout', 1.5, RangeError, 'a number in [0, 1]', 'number 1.5'],
  ['dropout', NaN, RangeError, 'a number in [0, 1]', 'number NaN'],
  ['bias', 'no', TypeError, 'a boolean', "string 'no'"],
  ['bias', 1, TypeError, 'a boolean', 'number 1'],
  ['bias', null, TypeError, 'a boolean', 'null'],
  ['addBiasKV', 'false', TypeError, 'a boolean', "string 'false'"],
  ['addBiasKV', 0, TypeError, 'a boolean', 'number 0'],
  ['addZeroAttn', 'true', TypeError, 'a boolean', "string 'true'"],
  ['kdim', '8', TypeError, 'a positive integer or null', "string '8'"],
  ['kdim', 0, RangeError, 'a positive integer or null', 'number 0'],
  ['kdim', -8, RangeError, 'a positive integer or null', 'number -8'],
  ['kdim', 8.5, RangeError, 'a positive integer or null', 'number 8.5'],
  ['kdim', Infinity, RangeError, 'a positive integer or null', 'number Infinity'],
  ['vdim', NaN, RangeError, 'a positive integer or null', 'number NaN'],
  ['vdim', true, TypeError, 'a positive integer or null', 'boolean true'],
  ['batchFirst', 1, TypeError, 'a boolean', 'number 1'],
  ['batchFirst', 'true', TypeError, 'a boolean', "string 'true'"],
  ['seed', -1, RangeError, 'an integer in [0, 4294967295]', 'number -1'],
  ['seed', 1.5, RangeError, 'an integer in [0, 4294967295]', 'number 1.5'],
  ['seed', 2 ** 32, RangeError, 'an integer in [0, 4294967295]', 'number 4294967296'],
  ['seed', '1', TypeError, 'an integer in [0, 4294967295]', "string '1'"],
  ['seed', null, TypeError, 'an integer in [0, 4294967295]', 'null'],
];

const linformerBadValues: BadValue[] = [
  ['seqLen', 0, RangeError, 'a positive integer', 'number 0'],
  ['seqLen', 12.5, RangeError, 'a positive integer', 'number 12.5'],
  ['seqLen', '512', TypeError, 'a positive integer', "string '512'"],
  ['seqLen', null, TypeError, 'a positive integer', 'null'],
  ['projK', -1, RangeError, 'a positive integer', 'number -1'],
  ['projK', true, TypeError, 'a positive integer', 'boolean true'],
  ['paramSharing', 'Layerwise', RangeError, "one of 'none', 'layerwise', 'kv', 'per-head'", "string 'Layerwise'"],
  ['paramSharing', 'per_head', RangeError, "one of 'none', 'layerwise', 'kv', 'per-head'", "string 'per_head'"],
  ['paramSharing', 1, TypeError, "one of 'none', 'layerwise', 'kv', 'per-head'", 'number 1'],
  ['paramSharing', null, TypeError, "one of 'none', 'layerwise', 'kv', 'per-head'", 'null'],
  ['shareWith', {}, TypeError, 'a LinearMultiheadAttention', 'Object'],
  ['shareWith', null, TypeError, 'a LinearMultiheadAttention', 'null'],
  ['shareWith', 'layer0', TypeError, 'a LinearMultiheadAttention', "string 'layer0'"],
];

/** [unknown key, the suggestion or null]. */
const moduleUnknownKeys: [string, string | null][] = [
  ['batch_first', 'batchFirst'],
  ['add_bias_kv', 'addBiasKV'],
  ['add_zero_attn', 'addZeroAttn'],
  ['k_dim', 'kdim'],
  ['Dropout', 'dropout'],
  ['batchFrist', 'batchFirst'],
  ['addBiasKv', 'addBiasKV'],
  ['biass', 'bias'],
  ['device', null],
  ['needWeights', null],
];

const linformerUnknownKeys: [string, string | null][] = [
  ['seq_len', 'seqLen'],
  ['proj_k', 'projK'],
  ['param_sharing', 'paramSharing'],
  ['share_with', 'shareWith'],
  ['seqlen', 'seqLen'],
  ['projk', 'projK'],
  ['paramShare', 'paramSharing'],
];

for (const [cls, keys, make] of constructors) {
  const linformer = cls === 'LinearMultiheadAttention';
  describe(`new ${cls}(embedDim, numHeads, options)`, () => {
    it('null, undefined, {} and keys set to undefined are all the defaults: the same weights from the same generator state', () => {
      const weights = (o: unknown) => {
        manualSeed(77);
        const m = make(o);
        try {
          return m.stateDict();
        } finally {
          m.dispose();
        }
      };
      const want = weights({});
      for (const o of [null, undefined, { bias: undefined, kdim: undefined, seed: undefined }]) sameStateDict(weights(o), want, String(o));
      // An unknown key set to undefined asks for nothing, as in `{ ...base, shareWith: maybe }`.
      sameStateDict(weights({ shareWith: undefined, seq_len: undefined, ...(linformer ? {} : { projK: undefined }) }), want, 'unknown keys set to undefined');
      // kdim/vdim null are torch's None: embedDim
      sameStateDict(weights({ kdim: null, vdim: null }), want, 'kdim/vdim null');
      const m = make(null);
      try {
        assert.equal(m.kdim, 16);
        assert.equal(m.bias, true);
        assert.equal(m.batchFirst, false);
        assert.equal(m.dropout, 0);
        if (m instanceof LinearMultiheadAttention) {
          assert.deepEqual([m.seqLen, m.projK, m.paramSharing], [512, 128, 'none']);
        }
      } finally {
        m.dispose();
      }
    });

    it('not an options object (a number, a string, a boolean, an array, a function, a Map, a typed array): a TypeError naming options and the keys it would fit', () => {
      const five = ['kdim', 'vdim', 'seed', ...(linformer ? ['seqLen', 'projK'] : [])].map((k) => `{ ${k}: 5 }`).join(' or ');
      const cases: [unknown, string, string][] = [
        [5, 'number 5', `; pass it by name: ${five}`],
        [0.1, 'number 0.1', '; pass it by name: { dropout: 0.1 }'],
        [true, 'boolean true', '; pass it by name: { bias: true } or { addBiasKV: true } or { addZeroAttn: true } or { batchFirst: true }'],
        ['layerwise', "string 'layerwise'", linformer ? "; pass it by name: { paramSharing: 'layerwise' }" : ''],
        ['batchFirst', "string 'batchFirst'", ''],
        [[16, 4], '[16, 4]', ''],
        [() => ({}), 'function (anonymous)', ''],
        [function batchFirst() {}, 'function batchFirst', ''],
        [new Map([['batchFirst', true]]), 'Map', ''],
        [new Float32Array(2), 'Float32Array(2)', ''],
      ];
      for (const [value, got, hint] of cases) failsCleanly(make, value, TypeError, notOptions(cls, keys, got, hint));
    });

    it('each option of the wrong type is a TypeError, each number out of range a RangeError, named with the value received', () => {
      for (const [key, value, errorClass, expected, got] of [...moduleBadValues, ...(linformer ? linformerBadValues : [])]) {
        failsCleanly(make, { [key]: value }, errorClass, `${cls}: ${key}: expected ${expected}, got ${got}`);
      }
      if (linformer) {
        const mha = new MultiheadAttention(16, 4, { seed: 1 });
        try {
          const message = 'LinearMultiheadAttention: shareWith: expected a LinearMultiheadAttention, got MultiheadAttention';
          failsCleanly(make, { paramSharing: 'layerwise', shareWith: mha }, TypeError, message);
        } finally {
          mha.dispose();
        }
      }
    });

    it("torch's snake_case keys and near-misses get the camelCase spelling; a key with no close match lists the options", () => {
      for (const [key, suggestion] of [...moduleUnknownKeys, ...(linformer ? linformerUnknownKeys : [])]) {
        const hint = suggestion ? `did you mean '${suggestion}'?` : `the options are ${quoted(keys)}`;
        failsCleanly(make, { [key]: true }, TypeError, `${cls}: unknown option '${key}'; ${hint}`);
      }
      if (!linformer) {
        // Linformer's own options are unknown to standard attention
        failsCleanly(make, { seqLen: 8 }, TypeError, `${cls}: unknown option 'seqLen'; the options are ${quoted(keys)}`);
      }
    });
  });
}

// ------------------------------------------------------------------ forward

describe('forward(query, key, value, options)', () => {
  const FORWARD_KEYS = 'keyPaddingMask, needWeights, attnMask, averageAttnWeights';

  /** The golden module, its call, and what the call gave before anything failed. */
  function withForward(name: string, body: (m: Attention, run: (o?: unknown) => ReturnType<Attention['forward']>, check: () => void) => void): void {
    const m = buildOne(name);
    try {
      checkGolden(m, name);
      const { query, key, value, options } = callInputs(goldenCase(name).calls[0]);
      const run = (o: unknown = options) => m.forward(query, key, value, o as null);
      const want = run();
      const check = () => {
        const got = run();
        sameBits(got.output, want.output, 'output');
        sameBits(got.weights, want.weights, 'weights');
      };
      body(m, run, check);
    } finally {
      m.dispose();
    }
  }

  for (const [cls, name] of [['MultiheadAttention', MHA], ['LinearMultiheadAttention', LIN]] as const) {
    const where = `${cls}.forward`;

    it(`${cls}: null, undefined, {} and keys set to undefined are torch's defaults; null masks are no masks`, () => {
      withForward(name, (_m, run) => {
        const want = run({});
        assert.ok(want.weights !== null, 'needWeights defaults to true');
        assert.equal(want.weights!.dims.length, 3, 'averageAttnWeights defaults to true');
        for (const o of [null, undefined, { needWeights: undefined, averageAttnWeights: undefined }, { keyPaddingMask: null, attnMask: null }]) {
          const got = run(o);
          sameBits(got.output, want.output, `${JSON.stringify(o)} output`);
          sameBits(got.weights, want.weights, `${JSON.stringify(o)} weights`);
        }
      });
    });

    it(`${cls}: not an options object is a TypeError; a mask passed where the options go says to name it`, () => {
      withForward(name, (_m, run, check) => {
        const mask = { data: new Uint8Array(7), dims: [7] };
        const cases: [unknown, string, string][] = [
          [mask, 'a tensor { data, dims }', '; pass it by name: { keyPaddingMask: … } or { attnMask: … }'],
          [false, 'boolean false', '; pass it by name: { needWeights: false } or { averageAttnWeights: false }'],
          [5, 'number 5', ''],
          ['needWeights', "string 'needWeights'", ''],
          [[], '[]', ''],
          [new Map(), 'Map', ''],
        ];
        for (const [value, got, hint] of cases) {
          throwsExactly(() => run(value), TypeError, notOptions(where, FORWARD_KEYS, got, hint));
          check();
        }
      });
    });

    it(`${cls}: each option of the wrong type is a TypeError naming it and the value`, () => {
      withForward(name, (_m, run, check) => {
        const maskExpected = 'a mask { data: Uint8Array | Float32Array, dims } or null';
        const cases: BadValue[] = [
          ['needWeights', 'yes', TypeError, 'a boolean', "string 'yes'"],
          ['needWeights', 0, TypeError, 'a boolean', 'number 0'],
          ['needWeights', null, TypeError, 'a boolean', 'null'],
          ['averageAttnWeights', 'false', TypeError, 'a boolean', "string 'false'"],
          ['averageAttnWeights', 1, TypeError, 'a boolean', 'number 1'],
          ['keyPaddingMask', 5, TypeError, maskExpected, 'number 5'],
          ['keyPaddingMask', true, TypeError, maskExpected, 'boolean true'],
          ['keyPaddingMask', [0, 1], TypeError, maskExpected, '[0, 1]'],
          ['attnMask', new Uint8Array(4), TypeError, maskExpected, 'Uint8Array(4)'],
          ['attnMask', 'causal', TypeError, maskExpected, "string 'causal'"],
        ];
        for (const [key, value, errorClass, expected, got] of cases) {
          throwsExactly(() => run({ [key]: value }), errorClass, `${where}: ${key}: expected ${expected}, got ${got}`);
          check();
        }
      });
    });

    it(`${cls}: torch's keyword names and near-misses get the camelCase spelling`, () => {
      withForward(name, (_m, run, check) => {
        const cases: [string, string | null][] = [
          ['need_weights', 'needWeights'],
          ['key_padding_mask', 'keyPaddingMask'],
          ['attn_mask', 'attnMask'],
          ['average_attn_weights', 'averageAttnWeights'],
          ['needWeight', 'needWeights'],
          ['attnmask', 'attnMask'],
          ['is_causal', null],
          ['mask', null],
        ];
        for (const [key, suggestion] of cases) {
          const hint = suggestion ? `did you mean '${suggestion}'?` : `the options are ${quoted(FORWARD_KEYS)}`;
          throwsExactly(() => run({ [key]: false }), TypeError, `${where}: unknown option '${key}'; ${hint}`);
          check();
        }
      });
    });
  }

  it('a bad option is reported before the inputs are read or anything is written', () => {
    withForward(MHA, (m, _run, check) => {
      const before = memoryUsage();
      // bad query and a bad option: the option is checked first, and nothing reaches wasm
      throwsExactly(() => m.forward(null as unknown as F32Tensor, null as unknown as F32Tensor, null as unknown as F32Tensor, { need_weights: false } as object), TypeError, "MultiheadAttention.forward: unknown option 'need_weights'; did you mean 'needWeights'?");
      assert.deepEqual(memoryUsage(), before);
      check();
    });
  });
});

// ------------------------------------------------------------------ loadStateDict

describe('loadStateDict(stateDict, options)', () => {
  for (const [cls, name] of [['MultiheadAttention', MHA], ['LinearMultiheadAttention', LIN]] as const) {
    const where = `${cls}.loadStateDict`;
    const golden = () => stateDictOf(goldenCase(name).modules[0]);
    /** Other valid weights for every key: a partial load would show in the output. */
    const other = () => {
      const sd = golden();
      const rng = new Rng(5);
      for (const t of Object.values(sd)) for (let i = 0; i < t.data.length; i++) t.data[i] = rng.normal() * 0.2;
      return sd;
    };

    it(`${cls}: null, undefined, {} and { prefix: undefined } load every key`, () => {
      const m = buildOne(name);
      try {
        for (const o of [null, undefined, {}, { prefix: undefined }]) {
          m.loadStateDict(other());
          m.loadStateDict(golden(), o as null);
          checkGolden(m, name);
        }
        // the prefix still works
        const prefixed = Object.fromEntries(Object.entries(golden()).map(([k, t]) => [`encoder.${k}`, t]));
        m.loadStateDict(other());
        m.loadStateDict(prefixed, { prefix: 'encoder.' });
        checkGolden(m, name);
      } finally {
        m.dispose();
      }
    });

    it(`${cls}: bad options (a wrong type, a string where the options go, torch's strict, a typo) load nothing`, () => {
      const m = buildOne(name);
      try {
        const want = m.stateDict();
        const cases: [unknown, string][] = [
          [{ prefix: 5 }, `${where}: prefix: expected a string, got number 5`],
          [{ prefix: null }, `${where}: prefix: expected a string, got null`],
          ['encoder.', notOptions(where, 'prefix', "string 'encoder.'", "; pass it by name: { prefix: 'encoder.' }")],
          [true, notOptions(where, 'prefix', 'boolean true')],
          [{ strict: false }, `${where}: unknown option 'strict'; the options are 'prefix'`],
          [{ prefx: '' }, `${where}: unknown option 'prefx'; did you mean 'prefix'?`],
        ];
        for (const [o, message] of cases) {
          throwsExactly(() => m.loadStateDict(other(), o as null), TypeError, message);
          sameStateDict(m.stateDict(), want, message);
          checkGolden(m, name);
        }
      } finally {
        m.dispose();
      }
    });
  }
});

// ------------------------------------------------------------------ ops

describe('ops.matmul(a, b, options)', () => {
  const rng = new Rng(40);
  const a = randn(rng, [5, 6]);
  const b = randn(rng, [6, 3]);
  const bt = randn(rng, [3, 6]);
  const KEYS = 'transposeB, out';

  it('null, undefined, {}, keys set to undefined and out: null (torch’s out=None) are the defaults', () => {
    const want = ops.matmul(a, b, {});
    for (const o of [null, undefined, { transposeB: undefined, out: undefined }, { out: null }, { transposeB: false, out: null }]) {
      sameBits(ops.matmul(a, b, o as null), want, JSON.stringify(o) ?? 'undefined');
    }
    sameBits(ops.matmul(a, bt, { transposeB: true, out: null } as object), ops.matmul(a, bt, { transposeB: true }), 'transposeB with out null');
  });

  it("bad options: transposeB 'no' (once computed the transposed product), an out that is not a tensor, torch spellings, non-objects; the same call then gives the same bits", () => {
    const want = ops.matmul(a, b);
    const tensorExpected = 'a tensor { data: Float32Array, dims } or null';
    const cases: [unknown, ErrorClass, string][] = [
      [{ transposeB: 'no' }, TypeError, "ops.matmul: transposeB: expected a boolean, got string 'no'"],
      [{ transposeB: 1 }, TypeError, 'ops.matmul: transposeB: expected a boolean, got number 1'],
      [{ transposeB: null }, TypeError, 'ops.matmul: transposeB: expected a boolean, got null'],
      [{ out: 5 }, TypeError, `ops.matmul: out: expected ${tensorExpected}, got number 5`],
      [{ out: new Float32Array(15) }, TypeError, `ops.matmul: out: expected ${tensorExpected}, got Float32Array(15)`],
      [{ transpose_b: true }, TypeError, "ops.matmul: unknown option 'transpose_b'; did you mean 'transposeB'?"],
      [{ outt: null }, TypeError, "ops.matmul: unknown option 'outt'; did you mean 'out'?"],
      [{ alpha: 2 }, TypeError, "ops.matmul: unknown option 'alpha'; the options are 'transposeB', 'out'"],
      [true, TypeError, notOptions('ops.matmul', KEYS, 'boolean true', '; pass it by name: { transposeB: true }')],
      [{ data: new Float32Array(15), dims: [5, 3] }, TypeError, notOptions('ops.matmul', KEYS, 'a tensor { data, dims }', '; pass it by name: { out: … }')],
      ['T', TypeError, notOptions('ops.matmul', KEYS, "string 'T'")],
      [[true], TypeError, notOptions('ops.matmul', KEYS, '[true]')],
    ];
    for (const [o, cls, message] of cases) {
      const before = memoryUsage();
      throwsExactly(() => ops.matmul(a, b, o as null), cls, message);
      assert.deepEqual(memoryUsage(), before, message);
      sameBits(ops.matmul(a, b), want, `after "${message}"`);
    }
  });

  it('an out that fails leaves out untouched', () => {
    const out: F32Tensor = { data: new Float32Array(15).fill(7), dims: [5, 3] };
    throwsExactly(() => ops.matmul(a, b, { out, transposeB: 'yes' } as object), TypeError, "ops.matmul: transposeB: expected a boolean, got string 'yes'");
    assert.ok(out.data.every((v) => v === 7));
  });

  it('transposeB: true with a PackedMatrix (packed in its own orientation) is a RangeError, not ignored; false is fine', () => {
    const packed = ops.prepack(bt, { transposeB: true });
    try {
      const want = ops.matmul(a, packed);
      sameBits(ops.matmul(a, packed, { transposeB: false }), want, 'transposeB false');
      throwsExactly(
        () => ops.matmul(a, packed, { transposeB: true }),
        RangeError,
        'ops.matmul: transposeB: expected false or undefined with a PackedMatrix b (ops.prepack(b, { transposeB }) sets its orientation), got true',
      );
      sameBits(ops.matmul(a, packed), want, 'after the error');
    } finally {
      packed.dispose();
    }
  });
});

describe('ops.prepack(b, options)', () => {
  const rng = new Rng(41);
  const a = randn(rng, [4, 6]);
  const b = randn(rng, [6, 5]);

  it('null, undefined, {} and transposeB: undefined pack b as it is', () => {
    const want = ops.matmul(a, b);
    for (const o of [null, undefined, {}, { transposeB: undefined }]) {
      const packed = ops.prepack(b, o as null);
      try {
        sameBits(ops.matmul(a, packed), want, JSON.stringify(o) ?? 'undefined');
      } finally {
        packed.dispose();
      }
    }
  });

  it("bad options allocate nothing: transposeB 'yes', torch's transpose_b, out (a matmul option), a bare boolean", () => {
    const cases: [unknown, string][] = [
      [{ transposeB: 'yes' }, "ops.prepack: transposeB: expected a boolean, got string 'yes'"],
      [{ transpose_b: true }, "ops.prepack: unknown option 'transpose_b'; did you mean 'transposeB'?"],
      [{ out: null }, "ops.prepack: unknown option 'out'; the options are 'transposeB'"],
      [false, notOptions('ops.prepack', 'transposeB', 'boolean false', '; pass it by name: { transposeB: false }')],
    ];
    for (const [o, message] of cases) {
      const before = memoryUsage();
      throwsExactly(() => ops.prepack(b, o as null), TypeError, message);
      assert.deepEqual(memoryUsage(), before, message);
    }
    const packed = ops.prepack(b);
    try {
      sameBits(ops.matmul(a, packed), ops.matmul(a, b), 'a good prepack afterwards');
    } finally {
      packed.dispose();
    }
  });
});

describe('ops.linear(x, weight, bias)', () => {
  const rng = new Rng(42);
  const x = randn(rng, [3, 7]);
  const w = randn(rng, [4, 7]);
  const bias = randn(rng, [4]);

  it("bias null and undefined are no bias (F.linear's bias=None); a bias that is not a tensor is a TypeError naming it", () => {
    const none = ops.linear(x, w);
    sameBits(ops.linear(x, w, null), none, 'null');
    sameBits(ops.linear(x, w, undefined), none, 'undefined');
    const want = ops.linear(x, w, bias);
    const expected = 'a tensor { data: Float32Array, dims } or null';
    for (const [value, got] of [['no', "string 'no'"], [false, 'boolean false'], [0, 'number 0'], [[0, 0, 0, 0], '[0, 0, 0, 0]'], [bias.data, 'Float32Array(4)']] as const) {
      throwsExactly(() => ops.linear(x, w, value as unknown as F32Tensor), TypeError, `ops.linear: bias: expected ${expected}, got ${got}`);
      sameBits(ops.linear(x, w, bias), want, `after bias ${got}`);
    }
  });
});
