// Property tests with fast-check: random configurations of both modules and
// of the ops, every option, against the float64 reference
// (tests/helpers/reference.ts), within 1e-5 + 1e-4·|ref| per element, NaN
// exactly where the reference has NaN. Structure (sizes, options, mask kinds)
// comes from fast-check, so a failure shrinks to a small configuration; the
// numbers in it come from tests/helpers/rng.ts under a seed that is part of
// the configuration.
//
// The run's seed is printed; FC_SEED=<seed> replays it, FC_PATH=<path> (from
// a failure report) with it goes straight to the counterexample, and
// FC_SCALE=<n> multiplies every property's number of runs.
import { before, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { env, LinearMultiheadAttention, memoryUsage, MultiheadAttention, ops } from 'linformer-wasm';
import { initForTests } from './helpers/setup.js';
import { assertCloseRef, linear64, matmul64, referenceLinformer, referenceMHA, softmax64, type RefConfig, type RefResult } from './helpers/reference.js';
import { count, randn, randomStateDict, Rng, type F32Tensor, type U8Tensor } from './helpers/rng.js';

before(() => initForTests());

const SEED = process.env.FC_SEED ? Number(process.env.FC_SEED) : (Date.now() ^ Math.floor(Math.random() * 2 ** 31)) | 0;
const PATH = process.env.FC_PATH || undefined;
const SCALE = process.env.FC_SCALE ? Number(process.env.FC_SCALE) : 1;

/** Runs of each property: the module properties add up to 2,950 configurations per build. */
const RUNS = { mha: 1200, linformer: 1500, stacks: 250, matmul: 400, linear: 250, softmax: 300 };

function check<T>(t: TestContext, runs: number, property: fc.IProperty<T>): void {
  t.diagnostic(`fast-check seed ${SEED} (FC_SEED=${SEED} replays this run), ${Math.round(runs * SCALE)} runs`);
  fc.assert(property, { seed: SEED, path: PATH, numRuns: Math.round(runs * SCALE), includeErrorInReport: true });
}

// ------------------------------------------------------------------ arbitraries

/** `arb` in `percent`% of the cases, else undefined (the option left out). */
function sometimes<T>(arb: fc.Arbitrary<T>, percent: number): fc.Arbitrary<T | undefined> {
  return fc.oneof({ weight: 100 - percent, arbitrary: fc.constant(undefined) }, { weight: percent, arbitrary: arb });
}

/** Sizes around 4, around 8 and, rarely, around 128; 0 now and then where `zero`. */
function size({ zero = false } = {}): fc.Arbitrary<number> {
  return fc.oneof(
    { weight: zero ? 1 : 0, arbitrary: fc.constant(0) },
    { weight: 12, arbitrary: fc.integer({ min: 1, max: 5 }) },
    { weight: 6, arbitrary: fc.integer({ min: 6, max: 10 }) },
    { weight: 1, arbitrary: fc.integer({ min: 120, max: 136 }) },
  );
}

/** Heads and head size: d not a multiple of 4 most of the time; E up to about 128. */
const heads = fc
  .record({
    numHeads: fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 1, max: 4 }) }, { weight: 1, arbitrary: fc.constant(8) }),
    headDim: fc.oneof(
      { weight: 6, arbitrary: fc.integer({ min: 1, max: 3 }) },
      { weight: 6, arbitrary: fc.integer({ min: 4, max: 9 }) },
      { weight: 1, arbitrary: fc.integer({ min: 29, max: 33 }) },
    ),
  })
  .map(({ numHeads, headDim }) => ({ numHeads: headDim > 16 ? Math.min(numHeads, 4) : numHeads, headDim }));

const featureSize = fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 1, max: 9 }) }, { weight: 1, arbitrary: fc.integer({ min: 100, max: 130 }) });

/** A mask to draw: its kind, how many entries are masked, and how often a whole row is. */
interface MaskSpec {
  kind: 'bool' | 'float';
  /** Probability of a masked entry. */
  p: number;
  /** Probability that a whole row is masked (NaN where the reference has NaN). */
  fullRow: number;
}

const maskSpec = (kinds: readonly ('bool' | 'float')[]) =>
  fc.record({
    kind: fc.constantFrom(...kinds),
    p: fc.constantFrom(0, 0.2, 0.5),
    fullRow: fc.constantFrom(0, 0, 0.3, 1),
  });

interface AttnMaskSpec extends MaskSpec {
  /** (N·H, L, ·) rather than (L, ·). */
  perHead: boolean;
  /** Linformer with addZeroAttn: over k + 1 positions rather than k. */
  wide: boolean;
}

const attnMaskSpec = fc.record({
  kind: fc.constantFrom('bool' as const, 'float' as const),
  p: fc.constantFrom(0, 0.2, 0.5),
  fullRow: fc.constantFrom(0, 0, 0.3, 1),
  perHead: fc.boolean(),
  wide: fc.boolean(),
});

/** Which inputs are one tensor object: none, key and value, or all three (self-attention). */
type Aliasing = 'none' | 'kv' | 'qkv';

/** One module and one forward call; everything but the numbers. */
interface CallCase {
  numHeads: number;
  headDim: number;
  bias: boolean | undefined;
  addBiasKV: boolean | undefined;
  addZeroAttn: boolean | undefined;
  kdim: number | undefined;
  vdim: number | undefined;
  batchFirst: boolean | undefined;
  dropout: number | undefined;
  /** Load random weights (else the module keeps its seeded torch initialisation). */
  load: boolean;
  unbatched: boolean;
  N: number;
  L: number;
  S: number;
  aliasing: Aliasing;
  keyPaddingMask: MaskSpec | undefined;
  attnMask: AttnMaskSpec | undefined;
  needWeights: boolean | undefined;
  averageAttnWeights: boolean | undefined;
  scoreBlockFloats: number;
  /** Seeds the weights, inputs and masks. */
  dataSeed: number;
}

interface LinformerCase extends CallCase {
  projK: number;
  /** seqLen = S (+ 1 with addBiasKV) + this. */
  seqLenSlack: number;
  paramSharing: 'none' | 'layerwise' | 'kv' | 'per-head';
  order: 'auto' | 'inputs' | 'keys';
}

const optionalBoolean = fc.constantFrom(undefined, true, false);

function callCase(kpmKinds: readonly ('bool' | 'float')[]): fc.Arbitrary<CallCase> {
  return fc
    .record({
      heads,
      bias: optionalBoolean,
      addBiasKV: sometimes(fc.boolean(), 50),
      addZeroAttn: sometimes(fc.boolean(), 50),
      kdim: sometimes(featureSize, 25),
      vdim: sometimes(featureSize, 25),
      batchFirst: optionalBoolean,
      dropout: sometimes(fc.double({ min: 0, max: 1, noNaN: true }), 10),
      load: fc.oneof({ weight: 6, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
      unbatched: fc.oneof({ weight: 4, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
      N: fc.integer({ min: 1, max: 3 }),
      L: size({ zero: true }),
      S: size({ zero: true }),
      aliasing: fc.constantFrom<Aliasing>('none', 'none', 'none', 'kv', 'qkv'),
      keyPaddingMask: sometimes(maskSpec(kpmKinds), 40),
      attnMask: sometimes(attnMaskSpec, 40),
      needWeights: optionalBoolean,
      averageAttnWeights: optionalBoolean,
      scoreBlockFloats: fc.constantFrom(32768, 32768, 32768, 32768, 7, 100),
      dataSeed: fc.nat(),
    })
    .map(({ heads: h, ...c }) => {
      const out: CallCase = { ...h, ...c };
      // one tensor for several inputs needs equal feature sizes (and S = L for the query)
      if (c.aliasing === 'qkv') Object.assign(out, { kdim: undefined, vdim: undefined, S: c.L });
      if (c.aliasing === 'kv') out.vdim = c.kdim;
      return out;
    });
}

const mhaCase = callCase(['bool', 'float']);

const linformerCase: fc.Arbitrary<LinformerCase> = fc
  .record({
    call: callCase(['bool']),
    projK: size(),
    seqLenSlack: fc.oneof({ weight: 5, arbitrary: fc.integer({ min: 0, max: 3 }) }, { weight: 1, arbitrary: fc.integer({ min: 4, max: 20 }) }),
    paramSharing: fc.constantFrom('none' as const, 'layerwise' as const, 'kv' as const, 'per-head' as const),
    order: fc.constantFrom('auto' as const, 'inputs' as const, 'keys' as const),
  })
  .map(({ call, ...rest }) => ({ ...call, ...rest }));

// ------------------------------------------------------------------ building a call

type Mask = F32Tensor | U8Tensor;

/** A mask over `dims` as the spec says: each last-axis row fully masked with probability fullRow, else with p per entry. */
function drawMask(rng: Rng, spec: MaskSpec, dims: number[]): Mask {
  const width = dims[dims.length - 1];
  const rows = width === 0 ? 0 : count(dims) / width;
  const masked = new Uint8Array(count(dims));
  for (let r = 0; r < rows; r++) {
    const full = rng.bool(spec.fullRow);
    for (let j = 0; j < width; j++) masked[r * width + j] = full || rng.bool(spec.p) ? 1 : 0;
  }
  if (spec.kind === 'bool') return { data: masked, dims };
  const data = new Float32Array(masked.length);
  for (let i = 0; i < data.length; i++) data[i] = masked[i] ? -Infinity : rng.normal();
  return { data, dims };
}

interface BuiltCall {
  cfg: RefConfig;
  options: Record<string, unknown>;
  query: F32Tensor;
  key: F32Tensor;
  value: F32Tensor;
  forwardOptions: { keyPaddingMask?: Mask; attnMask?: Mask; needWeights?: boolean; averageAttnWeights?: boolean };
  sd: Record<string, F32Tensor> | null;
}

/**
 * The module options, reference config, inputs, masks and weights of a
 * case. `maskWidth` is the attention mask's width (S, or Linformer's k or
 * k + 1); `sharesE` leaves E and F out of the weights.
 */
function buildCall(c: CallCase, linformer: Partial<LinformerCase> | null, seqLen: number | undefined, sharesE = false): BuiltCall {
  const rng = new Rng(c.dataSeed);
  const E = c.numHeads * c.headDim;
  const H = c.numHeads;
  const cfg: RefConfig = {
    embedDim: E,
    numHeads: H,
    bias: c.bias,
    addBiasKV: c.addBiasKV,
    addZeroAttn: c.addZeroAttn,
    kdim: c.kdim,
    vdim: c.vdim,
    batchFirst: c.batchFirst,
  };
  const options: Record<string, unknown> = {
    bias: c.bias,
    addBiasKV: c.addBiasKV,
    addZeroAttn: c.addZeroAttn,
    kdim: c.kdim,
    vdim: c.vdim,
    batchFirst: c.batchFirst,
    dropout: c.dropout,
    seed: c.load ? undefined : c.dataSeed,
  };
  if (linformer) {
    Object.assign(cfg, { seqLen, projK: linformer.projK, paramSharing: linformer.paramSharing });
    Object.assign(options, { seqLen, projK: linformer.projK, paramSharing: linformer.paramSharing });
  }
  const { N, L, S } = c;
  const shape = (rows: number, f: number) => (c.unbatched ? [rows, f] : c.batchFirst ? [N, rows, f] : [rows, N, f]);
  const query = randn(rng, shape(L, E));
  const key = c.aliasing === 'qkv' ? query : randn(rng, shape(S, c.kdim ?? E));
  const value = c.aliasing === 'none' ? randn(rng, shape(S, c.vdim ?? E)) : key;
  const forwardOptions: BuiltCall['forwardOptions'] = { needWeights: c.needWeights, averageAttnWeights: c.averageAttnWeights };
  if (c.keyPaddingMask) forwardOptions.keyPaddingMask = drawMask(rng, c.keyPaddingMask, c.unbatched ? [S] : [N, S]);
  if (c.attnMask) {
    const k = linformer?.projK;
    const width = k === undefined ? S : k + (c.addZeroAttn && c.attnMask.wide ? 1 : 0);
    const lead = c.attnMask.perHead ? [c.unbatched ? H : N * H] : [];
    forwardOptions.attnMask = drawMask(rng, c.attnMask, [...lead, L, width]);
  }
  const sd = c.load ? randomStateDict(rng, { ...cfg, sharesE }, linformer !== null) : null;
  return { cfg, options, query, key, value, forwardOptions, sd };
}

/** Byte copies of the call's input arrays, to check that forward leaves them alone. */
function snapshot(b: BuiltCall): [Uint8Array, Uint8Array][] {
  const arrays = [b.query.data, b.key.data, b.value.data, b.forwardOptions.keyPaddingMask?.data, b.forwardOptions.attnMask?.data];
  return arrays.filter((a) => a !== undefined).map((a) => {
    const bytes = new Uint8Array(a!.buffer, a!.byteOffset, a!.byteLength);
    return [bytes, bytes.slice()];
  });
}

/** Weights and the allocation outside the scratch region: back where they were once a module is disposed. */
function heldBytes(): number {
  const u = memoryUsage();
  return u.allocatedBytes - u.scratchBytes;
}

/** Output and weights against the reference; inputs unchanged and not aliased by the outputs. */
function compare(what: string, got: { output: F32Tensor; weights: F32Tensor | null }, ref: RefResult, b: BuiltCall, before: [Uint8Array, Uint8Array][]): void {
  assertCloseRef(`${what}: output`, got.output, ref.output);
  if (ref.weights === null) assert.equal(got.weights, null, `${what}: weights should be null`);
  else assertCloseRef(`${what}: weights`, got.weights, ref.weights);
  for (const [bytes, copy] of before) assert.ok(Buffer.compare(bytes, copy) === 0, `${what}: forward changed an input`);
  const inputBuffers = new Set([b.query, b.key, b.value].map((t) => t.data.buffer));
  assert.ok(!inputBuffers.has(got.output.data.buffer as ArrayBuffer), `${what}: the output aliases an input`);
}

function withEnv<T>(settings: Partial<typeof env>, f: () => T): T {
  const saved = { ...env };
  Object.assign(env, settings);
  try {
    return f();
  } finally {
    Object.assign(env, saved);
  }
}

// ------------------------------------------------------------------ the modules

describe('property: the modules against the float64 reference', () => {
  it(`MultiheadAttention: random options, shapes, masks and weights (${RUNS.mha} configurations)`, (t) => {
    check(
      t,
      RUNS.mha,
      fc.property(mhaCase, (c) => {
        const held = heldBytes();
        const b = buildCall(c, null, undefined);
        const m = new MultiheadAttention(b.cfg.embedDim, b.cfg.numHeads, b.options);
        try {
          if (b.sd) m.loadStateDict(b.sd);
          const sd = b.sd ?? m.stateDict();
          const before = snapshot(b);
          const got = withEnv({ scoreBlockFloats: c.scoreBlockFloats }, () => m.forward(b.query, b.key, b.value, b.forwardOptions));
          compare('MultiheadAttention', got, referenceMHA(b.cfg, sd, b.query, b.key, b.value, b.forwardOptions), b, before);
        } finally {
          m.dispose();
        }
        assert.equal(heldBytes(), held, 'memory held after dispose');
      }),
    );
  });

  it(`LinearMultiheadAttention: random options, sharing, both projection orders (${RUNS.linformer} configurations)`, (t) => {
    check(
      t,
      RUNS.linformer,
      fc.property(linformerCase, (c) => {
        const held = heldBytes();
        const seqLen = Math.max(1, c.S + (c.addBiasKV ? 1 : 0) + c.seqLenSlack);
        const b = buildCall(c, c, seqLen);
        const m = new LinearMultiheadAttention(b.cfg.embedDim, b.cfg.numHeads, b.options);
        try {
          if (b.sd) m.loadStateDict(b.sd);
          const sd = b.sd ?? m.stateDict();
          const before = snapshot(b);
          const got = withEnv({ scoreBlockFloats: c.scoreBlockFloats, sequenceProjection: c.order }, () =>
            m.forward(b.query, b.key, b.value, b.forwardOptions),
          );
          compare('LinearMultiheadAttention', got, referenceLinformer(b.cfg, sd, b.query, b.key, b.value, b.forwardOptions), b, before);
        } finally {
          m.dispose();
        }
        assert.equal(heldBytes(), held, 'memory held after dispose');
      }),
    );
  });

  /** One module of a stack: its own options and call; E, H, k and seqLen are the stack's. */
  const member = callCase(['bool']).map(({ numHeads, headDim, ...c }) => ({
    ...c,
    load: true,
    // a stack's modules differ in their inputs; self-attention is covered above
    aliasing: c.aliasing === 'qkv' ? ('kv' as const) : c.aliasing,
  }));

  const stackCase = fc.record({
    heads,
    projK: size(),
    seqLenSlack: fc.integer({ min: 0, max: 4 }),
    members: fc.array(member, { minLength: 2, maxLength: 3 }),
    /** Each sharer's shareWith: the first module, or the one before it (a sharer of a sharer). */
    chained: fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }),
    /** Sort keys of the disposal order. */
    disposeKeys: fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 3, maxLength: 3 }),
    reloadOwner: fc.boolean(),
    order: fc.constantFrom('auto' as const, 'inputs' as const, 'keys' as const),
    dataSeed: fc.nat(),
  });

  it(`layerwise shareWith stacks of 2–3 modules on one E, disposed in random order (${RUNS.stacks} stacks)`, (t) => {
    check(
      t,
      RUNS.stacks,
      fc.property(stackCase, (st) => {
        const held = heldBytes();
        const members = st.members.map((m) => ({ ...m, ...st.heads }));
        const seqLen = Math.max(1, ...members.map((m) => m.S + (m.addBiasKV ? 1 : 0) + st.seqLenSlack));
        const lin = { projK: st.projK, paramSharing: 'layerwise' as const };
        const built = members.map((m, i) => buildCall(m, lin, seqLen, i > 0));
        const modules: LinearMultiheadAttention[] = [];
        try {
          built.forEach((b, i) => {
            const shareWith = i === 0 ? undefined : modules[st.chained[i] ? i - 1 : 0];
            modules.push(new LinearMultiheadAttention(b.cfg.embedDim, b.cfg.numHeads, { ...b.options, shareWith }));
            modules[i].loadStateDict(b.sd!);
          });
          let sharedE = built[0].sd!.e_proj_weight;
          const alive = new Set(modules.keys());
          const checkAlive = (when: string) =>
            withEnv({ sequenceProjection: st.order }, () => {
              for (const i of alive) {
                const b = built[i];
                const before = snapshot(b);
                const got = modules[i].forward(b.query, b.key, b.value, b.forwardOptions);
                const ref = referenceLinformer(b.cfg, b.sd!, b.query, b.key, b.value, b.forwardOptions, sharedE);
                compare(`module ${i} ${when}`, got, ref, b, before);
              }
            });
          checkAlive('at first');
          if (st.reloadOwner) {
            // a new E loaded into the owner is seen by every sharer
            const fresh = randomStateDict(new Rng(st.dataSeed), built[0].cfg, true);
            modules[0].loadStateDict(fresh);
            built[0].sd = fresh;
            sharedE = fresh.e_proj_weight;
            checkAlive('after the owner loaded a new E');
          }
          const order = [...modules.keys()].sort((a, b) => st.disposeKeys[a] - st.disposeKeys[b] || a - b);
          for (const i of order) {
            modules[i].dispose();
            alive.delete(i);
            checkAlive(`after module ${i} was disposed`);
          }
        } finally {
          for (const m of modules) m.dispose();
        }
        assert.equal(heldBytes(), held, 'memory held after every module of the stack is disposed');
      }),
    );
  });
});

// ------------------------------------------------------------------ the ops

/** N(0, 1) entries with, when `specials`, a few NaN and ±Infinity. */
function drawData(rng: Rng, dims: number[], specials: boolean): F32Tensor {
  const t = randn(rng, dims);
  if (specials) {
    for (let i = 0; i < t.data.length; i++) {
      if (rng.bool(0.05)) t.data[i] = rng.pick([NaN, Infinity, -Infinity]);
    }
  }
  return t;
}

const opSize = fc.oneof(
  { weight: 1, arbitrary: fc.constant(0) },
  { weight: 10, arbitrary: fc.integer({ min: 1, max: 9 }) },
  { weight: 5, arbitrary: fc.integer({ min: 10, max: 40 }) },
  { weight: 1, arbitrary: fc.integer({ min: 120, max: 136 }) },
);

describe('property: ops against the float64 reference', () => {
  const matmulCase = fc.record({
    M: opSize,
    K: opSize,
    N: opSize,
    transposeB: optionalBoolean,
    prepacked: fc.boolean(),
    out: fc.boolean(),
    /** Two products with one PackedMatrix. */
    reuse: fc.boolean(),
    specials: fc.oneof({ weight: 9, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
    dataSeed: fc.nat(),
  });

  it(`ops.matmul: random shapes, transposeB, prepacked B, out (${RUNS.matmul} cases)`, (t) => {
    check(
      t,
      RUNS.matmul,
      fc.property(matmulCase, (c) => {
        const held = heldBytes();
        const rng = new Rng(c.dataSeed);
        const a = drawData(rng, [c.M, c.K], c.specials);
        const b = drawData(rng, c.transposeB ? [c.N, c.K] : [c.K, c.N], c.specials);
        const bCopy = b.data.slice();
        const want = matmul64(a, b, c.transposeB ?? false);
        const out = c.out ? { data: new Float32Array(c.M * c.N).fill(7), dims: [c.M, c.N] } : undefined;
        const packed = c.prepacked ? ops.prepack(b, c.transposeB === undefined ? undefined : { transposeB: c.transposeB }) : null;
        try {
          // a PackedMatrix is multiplied as it was packed: transposeB goes to prepack only
          const options: { out?: F32Tensor; transposeB?: boolean } = {};
          if (out) options.out = out;
          if (!packed && c.transposeB !== undefined) options.transposeB = c.transposeB;
          for (let call = 0; call < (packed && c.reuse ? 2 : 1); call++) {
            const got = ops.matmul(a, packed ?? b, Object.keys(options).length > 0 ? options : undefined);
            assertCloseRef(`matmul call ${call}`, got, want);
            if (out) assert.equal(got.data, out.data, 'with out, the result is out.data');
          }
          assert.deepEqual(b.data, bCopy, 'b is not changed');
        } finally {
          packed?.dispose();
        }
        assert.equal(heldBytes(), held, 'memory held after the PackedMatrix is disposed');
      }),
    );
  });

  const linearCase = fc.record({
    lead: fc.array(fc.integer({ min: 0, max: 5 }), { maxLength: 3 }),
    inF: opSize,
    outF: opSize,
    bias: fc.constantFrom('tensor', 'tensor', 'null', 'undefined', 'omitted'),
    specials: fc.oneof({ weight: 9, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
    dataSeed: fc.nat(),
  });

  it(`ops.linear: x of rank 1 to 4, with and without bias (${RUNS.linear} cases)`, (t) => {
    check(
      t,
      RUNS.linear,
      fc.property(linearCase, (c) => {
        const rng = new Rng(c.dataSeed);
        const x = drawData(rng, [...c.lead, c.inF], c.specials);
        const w = drawData(rng, [c.outF, c.inF], c.specials);
        const bias = c.bias === 'tensor' ? drawData(rng, [c.outF], c.specials) : c.bias === 'null' ? null : undefined;
        const got = c.bias === 'omitted' ? ops.linear(x, w) : ops.linear(x, w, bias);
        assertCloseRef('linear', got, linear64(x, w, bias));
      }),
    );
  });

  const softmaxCase = fc
    .record({
      dims: fc.array(fc.oneof({ weight: 1, arbitrary: fc.constant(0) }, { weight: 8, arbitrary: fc.integer({ min: 1, max: 9 }) }, { weight: 1, arbitrary: fc.integer({ min: 30, max: 70 }) }), { maxLength: 4 }),
      /** Index into the valid dims, or the default (-1). */
      dimPick: sometimes(fc.integer({ min: 0, max: 7 }), 60),
      scale: fc.constantFrom(1, 10, 100),
      negInf: fc.constantFrom(0, 0, 0.3, 1),
      nan: fc.oneof({ weight: 9, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
      dataSeed: fc.nat(),
    })
    .map((c) => {
      // at most 50 000 elements: halve the largest axis until it fits
      const dims = c.dims.slice();
      while (count(dims) > 50_000) {
        const i = dims.indexOf(Math.max(...dims));
        dims[i] = Math.floor(dims[i] / 2);
      }
      const rank = Math.max(dims.length, 1);
      // every valid dim: -rank … rank - 1
      const dim = c.dimPick === undefined ? undefined : (c.dimPick % (2 * rank)) - rank;
      return { ...c, dims, dim };
    });

  it(`ops.softmax: random shapes and axes, large logits, -inf, NaN (${RUNS.softmax} cases)`, (t) => {
    check(
      t,
      RUNS.softmax,
      fc.property(softmaxCase, (c) => {
        const rng = new Rng(c.dataSeed);
        const x = randn(rng, c.dims, c.scale);
        for (let i = 0; i < x.data.length; i++) {
          if (rng.bool(c.negInf * 0.5)) x.data[i] = -Infinity;
          if (c.nan && rng.bool(0.05)) x.data[i] = NaN;
        }
        const got = c.dim === undefined ? ops.softmax(x) : ops.softmax(x, c.dim);
        assertCloseRef(`softmax dim ${c.dim ?? 'default'}`, got, softmax64(x, c.dim ?? -1));
      }),
    );
  });
});
