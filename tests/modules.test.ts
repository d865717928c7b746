// The two modules through the public API: torch-style initialisation, seeds,
// state dicts, input layouts, weight options, the seed's usage, 0-size
// dimensions. Random configurations against the float64 reference of
// tests/helpers/reference.ts are tests/properties.test.ts.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LinearMultiheadAttention, manualSeed, MultiheadAttention } from 'linformer-wasm';
import { initForTests } from './helpers/setup.js';
import { decode, f32 } from './helpers/golden.js';
import { goldenCases, type GoldenCase } from './helpers/cases.js';
import { assertCloseRef, referenceLinformer, referenceMHA, type RefConfig, type RefForward } from './helpers/reference.js';
import { boolMask, copyTensor, floatMask, randn, randomStateDict, Rng, type F32Tensor, type U8Tensor } from './helpers/rng.js';

before(() => initForTests());

type Attention = MultiheadAttention | LinearMultiheadAttention;
type Sharing = 'none' | 'layerwise' | 'kv' | 'per-head';

// ------------------------------------------------------------------ the reference itself

describe('the float64 reference agrees with the PyTorch goldens', () => {
  for (const file of ['mha.json', 'linformer.json'] as const) {
    it(file, () => {
      for (const c of goldenCases(file) as GoldenCase[]) {
        c.calls.forEach((call, i) => {
          const m = c.modules[call.module];
          const sd = Object.fromEntries(Object.entries(m.stateDict!).map(([k, t]) => [k, f32(t)]));
          const cfg: RefConfig = { embedDim: m.embedDim, numHeads: m.numHeads, ...(m.options as object) };
          const fo: RefForward = {
            needWeights: call.forwardOptions.needWeights,
            averageAttnWeights: call.forwardOptions.averageAttnWeights,
            keyPaddingMask: call.forwardOptions.keyPaddingMask ? (decode(call.forwardOptions.keyPaddingMask) as U8Tensor) : null,
            attnMask: call.forwardOptions.attnMask ? (decode(call.forwardOptions.attnMask) as U8Tensor) : null,
          };
          const q = f32(call.query);
          const k = f32(call.key);
          const v = f32(call.value);
          const ref =
            m.ctor === 'MultiheadAttention'
              ? referenceMHA(cfg, sd, q, k, v, fo)
              : referenceLinformer(cfg, sd, q, k, v, fo, m.shareWith === null ? undefined : f32(c.modules[m.shareWith].stateDict!.e_proj_weight));
          const what = `${c.name} call ${i}`;
          assertCloseRef(`${what} output`, ref.output, decode(call.expected.output), 1e-9, 1e-9);
          if (call.expected.weights === null) assert.equal(ref.weights, null);
          else assertCloseRef(`${what} weights`, ref.weights, decode(call.expected.weights), 1e-9, 1e-9);
        });
      }
    });
  }
});

// ------------------------------------------------------------------ initialisation

/** Sample statistics of a tensor's entries. */
function stats(data: ArrayLike<number>) {
  let sum = 0;
  let sq = 0;
  let maxAbs = 0;
  for (let i = 0; i < data.length; i++) {
    sum += data[i];
    sq += data[i] * data[i];
    maxAbs = Math.max(maxAbs, Math.abs(data[i]));
  }
  const n = data.length;
  const mean = sum / n;
  return { n, mean, variance: sq / n - mean * mean, maxAbs };
}

/** U(−bound, bound): inside the bound, reaching it, variance bound²/3, flat over 10 bins. */
function assertUniform(what: string, data: ArrayLike<number>, bound: number): void {
  const s = stats(data);
  // float32 rounding can put a value one ulp past the float64 bound
  assert.ok(s.maxAbs <= bound * (1 + 1e-6), `${what}: max |x| ${s.maxAbs} > bound ${bound}`);
  assert.ok(s.maxAbs >= bound * (1 - 20 / s.n), `${what}: max |x| ${s.maxAbs} does not reach bound ${bound}`);
  const v = (bound * bound) / 3;
  // the sample variance of a uniform has relative sd √(0.8/n); allow 6 sd
  assert.ok(Math.abs(s.variance / v - 1) < 6 * Math.sqrt(0.8 / s.n), `${what}: variance ${s.variance}, expected ${v}`);
  assert.ok(Math.abs(s.mean) < 6 * Math.sqrt(v / s.n), `${what}: mean ${s.mean}`);
  if (s.n >= 2000) {
    const bins = new Array(10).fill(0);
    for (let i = 0; i < data.length; i++) bins[Math.min(9, Math.floor(((data[i] / bound + 1) / 2) * 10))]++;
    const e = s.n / 10;
    for (const b of bins) assert.ok(Math.abs(b - e) < 6 * Math.sqrt(e), `${what}: histogram ${bins}`);
  }
}

/** N(0, std²): sample std, mean, and the share within ±1 std (0.683 for a normal, 0.577 for a uniform). */
function assertNormal(what: string, data: ArrayLike<number>, std: number): void {
  const s = stats(data);
  assert.ok(Math.abs(Math.sqrt(s.variance) / std - 1) < 6 / Math.sqrt(2 * s.n), `${what}: std ${Math.sqrt(s.variance)}, expected ${std}`);
  assert.ok(Math.abs(s.mean) < 6 * (std / Math.sqrt(s.n)), `${what}: mean ${s.mean}`);
  let inside = 0;
  for (let i = 0; i < data.length; i++) if (Math.abs(data[i]) <= std) inside++;
  const share = inside / s.n;
  assert.ok(Math.abs(share - 0.6827) < 6 * Math.sqrt((0.6827 * 0.3173) / s.n), `${what}: share within ±1 std ${share}`);
}

function concat(arrays: ArrayLike<number>[]): Float64Array {
  const out = new Float64Array(arrays.reduce((a, b) => a + b.length, 0));
  let o = 0;
  for (const a of arrays) {
    out.set(a as ArrayLike<number>, o);
    o += a.length;
  }
  return out;
}

describe('torch-style initialisation', () => {
  it('MultiheadAttention: keys in torch order, xavier in_proj, Linear out_proj, zero biases', () => {
    const E = 256;
    const m = new MultiheadAttention(E, 8, { seed: 11, addBiasKV: true });
    try {
      const sd = m.stateDict();
      assert.deepEqual(Object.keys(sd), ['in_proj_weight', 'in_proj_bias', 'bias_k', 'bias_v', 'out_proj.weight', 'out_proj.bias']);
      assert.deepEqual(sd.in_proj_weight.dims, [3 * E, E]);
      assertUniform('in_proj_weight', sd.in_proj_weight.data, Math.sqrt(6 / (E + 3 * E)));
      assert.deepEqual(sd['out_proj.weight'].dims, [E, E]);
      assertUniform('out_proj.weight', sd['out_proj.weight'].data, 1 / Math.sqrt(E));
      assert.deepEqual(sd.in_proj_bias.dims, [3 * E]);
      assert.ok(sd.in_proj_bias.data.every((x) => x === 0), 'in_proj_bias zero');
      assert.deepEqual(sd['out_proj.bias'].dims, [E]);
      assert.ok(sd['out_proj.bias'].data.every((x) => x === 0), 'out_proj.bias zero');
      assert.deepEqual(sd.bias_k.dims, [1, 1, E]);
      assert.deepEqual(sd.bias_v.dims, [1, 1, E]);
    } finally {
      m.dispose();
    }
  });

  it('bias_k, bias_v ~ N(0, 1/E) (xavier-normal over (1, 1, E)), pooled over seeds', () => {
    const E = 256;
    const samples: ArrayLike<number>[] = [];
    for (let seed = 1; seed <= 8; seed++) {
      const m = new MultiheadAttention(E, 4, { seed, addBiasKV: true });
      const sd = m.stateDict();
      samples.push(sd.bias_k.data, sd.bias_v.data);
      m.dispose();
    }
    assertNormal('bias_k/bias_v', concat(samples), 1 / Math.sqrt(E));
  });

  it('kdim/vdim: separate q/k/v weights, each xavier-uniform over its own fans; bias false has no bias keys', () => {
    const E = 96;
    const m = new MultiheadAttention(E, 4, { seed: 3, kdim: 40, vdim: 200, bias: false });
    try {
      const sd = m.stateDict();
      assert.deepEqual(Object.keys(sd), ['q_proj_weight', 'k_proj_weight', 'v_proj_weight', 'out_proj.weight']);
      assert.deepEqual(sd.q_proj_weight.dims, [E, E]);
      assert.deepEqual(sd.k_proj_weight.dims, [E, 40]);
      assert.deepEqual(sd.v_proj_weight.dims, [E, 200]);
      assertUniform('q_proj_weight', sd.q_proj_weight.data, Math.sqrt(6 / (E + E)));
      assertUniform('k_proj_weight', sd.k_proj_weight.data, Math.sqrt(6 / (E + 40)));
      assertUniform('v_proj_weight', sd.v_proj_weight.data, Math.sqrt(6 / (E + 200)));
    } finally {
      m.dispose();
    }
  });

  it("LinearMultiheadAttention 'none': E and F xavier over (k, seqLen), separate; bias_e, bias_f ~ N(0, 1/k)", () => {
    const k = 64;
    const seqLen = 200;
    const pooled: ArrayLike<number>[] = [];
    for (let seed = 1; seed <= 8; seed++) {
      const m = new LinearMultiheadAttention(32, 4, { seed, seqLen, projK: k });
      const sd = m.stateDict();
      if (seed === 1) {
        assert.deepEqual(
          Object.keys(sd).sort(),
          ['bias_e', 'bias_f', 'e_proj_weight', 'f_proj_weight', 'in_proj_bias', 'in_proj_weight', 'out_proj.bias', 'out_proj.weight'],
        );
        assert.deepEqual(sd.e_proj_weight.dims, [k, seqLen]);
        assert.deepEqual(sd.f_proj_weight.dims, [k, seqLen]);
        assertUniform('e_proj_weight', sd.e_proj_weight.data, Math.sqrt(6 / (k + seqLen)));
        assertUniform('f_proj_weight', sd.f_proj_weight.data, Math.sqrt(6 / (k + seqLen)));
        assert.notDeepEqual(sd.e_proj_weight.data, sd.f_proj_weight.data);
        assertUniform('in_proj_weight', sd.in_proj_weight.data, Math.sqrt(6 / (32 + 96)));
        assertUniform('out_proj.weight', sd['out_proj.weight'].data, 1 / Math.sqrt(32));
        assert.ok(sd.in_proj_bias.data.every((x) => x === 0));
        assert.ok(sd['out_proj.bias'].data.every((x) => x === 0));
        assert.deepEqual(sd.bias_e.dims, [1, 1, k]);
        assert.deepEqual(sd.bias_f.dims, [1, 1, k]);
      }
      pooled.push(sd.bias_e.data, sd.bias_f.data);
      m.dispose();
    }
    assertNormal('bias_e/bias_f', concat(pooled), 1 / Math.sqrt(k));
  });

  it("'per-head': each (k, seqLen) slice of E and F is xavier-bounded on its own", () => {
    const H = 4;
    const k = 40;
    const seqLen = 120;
    const m = new LinearMultiheadAttention(32, H, { seed: 5, seqLen, projK: k, paramSharing: 'per-head' });
    try {
      const sd = m.stateDict();
      for (const key of ['e_proj_weight', 'f_proj_weight'] as const) {
        assert.deepEqual(sd[key].dims, [H, k, seqLen]);
        const slices = [];
        for (let h = 0; h < H; h++) {
          const s = sd[key].data.subarray(h * k * seqLen, (h + 1) * k * seqLen);
          assertUniform(`${key}[${h}]`, s, Math.sqrt(6 / (k + seqLen)));
          slices.push(Array.from(s));
        }
        for (let h = 1; h < H; h++) assert.notDeepEqual(slices[h], slices[0], `${key}: slice ${h} equals slice 0`);
      }
      assert.deepEqual(sd.bias_e.dims, [1, 1, k]);
      assert.deepEqual(sd.bias_f.dims, [1, 1, k]);
    } finally {
      m.dispose();
    }
  });

  it("'layerwise' and 'kv' hold E only; a shareWith module holds neither; bias false keeps bias_e, bias_f", () => {
    const owner = new LinearMultiheadAttention(16, 4, { seed: 1, seqLen: 12, projK: 6, paramSharing: 'layerwise' });
    const sharer = new LinearMultiheadAttention(16, 4, { seed: 2, seqLen: 12, projK: 6, paramSharing: 'layerwise', shareWith: owner, bias: false });
    const kv = new LinearMultiheadAttention(16, 4, { seed: 3, seqLen: 12, projK: 6, paramSharing: 'kv' });
    try {
      assert.deepEqual(Object.keys(owner.stateDict()).sort(), ['bias_e', 'bias_f', 'e_proj_weight', 'in_proj_bias', 'in_proj_weight', 'out_proj.bias', 'out_proj.weight']);
      assert.deepEqual(Object.keys(kv.stateDict()).sort(), ['bias_e', 'bias_f', 'e_proj_weight', 'in_proj_bias', 'in_proj_weight', 'out_proj.bias', 'out_proj.weight']);
      assert.deepEqual(Object.keys(sharer.stateDict()).sort(), ['bias_e', 'bias_f', 'in_proj_weight', 'out_proj.weight']);
    } finally {
      sharer.dispose();
      owner.dispose();
      kv.dispose();
    }
  });

  it("a fresh module's forward uses the weights its stateDict reports", () => {
    const rng = new Rng(77);
    const q = randn(rng, [5, 2, 16]);
    const kv = randn(rng, [9, 2, 16]);
    const mha = new MultiheadAttention(16, 4, { seed: 9, addBiasKV: true });
    const lin = new LinearMultiheadAttention(16, 4, { seed: 9, seqLen: 12, projK: 5, addBiasKV: true });
    try {
      const a = mha.forward(q, kv, kv);
      const ra = referenceMHA({ embedDim: 16, numHeads: 4, addBiasKV: true }, mha.stateDict(), q, kv, kv);
      assertCloseRef('mha output', a.output, ra.output);
      assertCloseRef('mha weights', a.weights, ra.weights!);
      const b = lin.forward(q, kv, kv);
      const rb = referenceLinformer({ embedDim: 16, numHeads: 4, seqLen: 12, projK: 5, addBiasKV: true }, lin.stateDict(), q, kv, kv);
      assertCloseRef('linformer output', b.output, rb.output);
      assertCloseRef('linformer weights', b.weights, rb.weights!);
    } finally {
      mha.dispose();
      lin.dispose();
    }
  });
});

// ------------------------------------------------------------------ seeds

function shapeText(dims: readonly number[]): string {
  return `(${dims.join(', ')})`;
}

function sameDicts(a: Record<string, { data: Float32Array }>, b: Record<string, { data: Float32Array }>): boolean {
  const ka = Object.keys(a);
  if (ka.join() !== Object.keys(b).join()) return false;
  return ka.every((k) => a[k].data.length === b[k].data.length && a[k].data.every((x, i) => Object.is(x, b[k].data[i])));
}

describe('seeds', () => {
  const makers: [string, (o: { seed?: number }) => Attention][] = [
    ['MultiheadAttention', (o) => new MultiheadAttention(16, 4, { addBiasKV: true, ...o })],
    ['LinearMultiheadAttention', (o) => new LinearMultiheadAttention(16, 4, { seqLen: 10, projK: 4, paramSharing: 'per-head', addBiasKV: true, ...o })],
  ];
  for (const [name, make] of makers) {
    it(`${name}: the same seed gives the same weights, another seed others`, () => {
      const a = make({ seed: 42 });
      const b = make({ seed: 42 });
      const c = make({ seed: 43 });
      try {
        assert.ok(sameDicts(a.stateDict(), b.stateDict()), 'seed 42 twice');
        const sa = a.stateDict();
        const sc = c.stateDict();
        for (const key of Object.keys(sa)) {
          if (sa[key].data.every((x) => x === 0)) continue; // zero-initialised biases
          assert.notDeepEqual(Array.from(sa[key].data), Array.from(sc[key].data), `${key}: seeds 42 and 43 agree`);
        }
      } finally {
        a.dispose();
        b.dispose();
        c.dispose();
      }
    });

    it(`${name}: manualSeed resets the default generator`, () => {
      manualSeed(1234);
      const a = make({});
      manualSeed(1234);
      const b = make({});
      const c = make({}); // the generator moved on
      try {
        assert.ok(sameDicts(a.stateDict(), b.stateDict()), 'manualSeed(1234) twice');
        assert.ok(!sameDicts(b.stateDict(), c.stateDict()), 'the next module got the same weights');
      } finally {
        a.dispose();
        b.dispose();
        c.dispose();
      }
    });
  }
});

// ------------------------------------------------------------------ state dicts

interface Setup {
  name: string;
  ctor: (o: Record<string, unknown>) => Attention;
  cfg: RefConfig;
  linformer: boolean;
}

const setups: Setup[] = [
  { name: 'MultiheadAttention', ctor: (o) => new MultiheadAttention(16, 4, { addBiasKV: true, ...o }), cfg: { embedDim: 16, numHeads: 4, addBiasKV: true }, linformer: false },
  { name: 'MultiheadAttention kdim/vdim', ctor: (o) => new MultiheadAttention(12, 3, { kdim: 5, vdim: 7, ...o }), cfg: { embedDim: 12, numHeads: 3, kdim: 5, vdim: 7 }, linformer: false },
  ...(['none', 'layerwise', 'kv', 'per-head'] as const).map(
    (s): Setup => ({
      name: `LinearMultiheadAttention '${s}'`,
      ctor: (o) => new LinearMultiheadAttention(16, 4, { seqLen: 12, projK: 5, paramSharing: s, addBiasKV: true, ...o }),
      cfg: { embedDim: 16, numHeads: 4, seqLen: 12, projK: 5, paramSharing: s, addBiasKV: true },
      linformer: true,
    }),
  ),
];

function inputsFor(s: Setup, rng: Rng, L = 5, N = 2, S = 8) {
  return {
    query: randn(rng, [L, N, s.cfg.embedDim]),
    key: randn(rng, [S, N, s.cfg.kdim ?? s.cfg.embedDim]),
    value: randn(rng, [S, N, s.cfg.vdim ?? s.cfg.embedDim]),
  };
}

function sameOutputs(a: ReturnType<Attention['forward']>, b: ReturnType<Attention['forward']>, what: string): void {
  assert.deepEqual(a.output.dims, b.output.dims, `${what}: output dims`);
  assert.deepEqual(Array.from(a.output.data), Array.from(b.output.data), `${what}: output`);
  assert.deepEqual(a.weights?.dims, b.weights?.dims, `${what}: weights dims`);
  assert.deepEqual(Array.from(a.weights?.data ?? []), Array.from(b.weights?.data ?? []), `${what}: weights`);
}

describe('state dicts', () => {
  for (const s of setups) {
    it(`${s.name}: stateDict() → loadStateDict() gives identical outputs; a Map and a prefix load the same`, () => {
      const rng = new Rng(101);
      const { query, key, value } = inputsFor(s, rng);
      const a = s.ctor({ seed: 1 });
      const b = s.ctor({ seed: 2 });
      const c = s.ctor({ seed: 3 });
      const d = s.ctor({ seed: 4 });
      try {
        const ya = a.forward(query, key, value);
        const yb0 = b.forward(query, key, value);
        assert.notDeepEqual(Array.from(ya.output.data), Array.from(yb0.output.data), 'seeds 1 and 2 give the same output');
        const sd = a.stateDict();
        b.loadStateDict(sd);
        sameOutputs(b.forward(query, key, value), ya, 'plain object');
        c.loadStateDict(new Map(Object.entries(sd)));
        sameOutputs(c.forward(query, key, value), ya, 'Map');
        // a whole model's state dict: this layer's keys under a prefix, another layer's and other keys beside them
        const other = randomStateDict(rng, s.cfg, s.linformer);
        const model: Record<string, F32Tensor> = { 'embed.weight': randn(rng, [7, 3]), 'layer.0.norm.weight': randn(rng, [16]) };
        for (const [k, t] of Object.entries(sd)) model[`layer.0.attn.${k}`] = t;
        for (const [k, t] of Object.entries(other)) model[`layer.1.attn.${k}`] = t;
        d.loadStateDict(model, { prefix: 'layer.0.attn.' });
        sameOutputs(d.forward(query, key, value), ya, "prefix 'layer.0.attn.'");
        // and against the reference, from the dict
        const ref = s.linformer ? referenceLinformer(s.cfg, sd, query, key, value) : referenceMHA(s.cfg, sd, query, key, value);
        assertCloseRef('output', ya.output, ref.output);
        assertCloseRef('weights', ya.weights, ref.weights!);
      } finally {
        for (const m of [a, b, c, d]) m.dispose();
      }
    });
  }

  it('stateDict() returns copies: changing them changes nothing', () => {
    const rng = new Rng(5);
    const m = new LinearMultiheadAttention(16, 4, { seed: 1, seqLen: 10, projK: 4 });
    try {
      const q = randn(rng, [3, 1, 16]);
      const kv = randn(rng, [6, 1, 16]);
      const before = m.forward(q, kv, kv);
      const sd = m.stateDict();
      for (const t of Object.values(sd)) t.data.fill(7);
      sameOutputs(m.forward(q, kv, kv), before, 'after mutating a stateDict copy');
      assert.ok(!m.stateDict().in_proj_weight.data.every((x) => x === 7));
    } finally {
      m.dispose();
    }
  });

  it('loadStateDict copies its tensors: changing them afterwards changes nothing', () => {
    const rng = new Rng(6);
    const cfg: RefConfig = { embedDim: 16, numHeads: 4, seqLen: 10, projK: 4 };
    const sd = randomStateDict(rng, cfg, true);
    const m = new LinearMultiheadAttention(16, 4, { seqLen: 10, projK: 4 });
    try {
      m.loadStateDict(sd);
      const q = randn(rng, [3, 1, 16]);
      const kv = randn(rng, [6, 1, 16]);
      const ref = referenceLinformer(cfg, sd, q, kv, kv);
      for (const t of Object.values(sd)) t.data.fill(0.5);
      const y = m.forward(q, kv, kv);
      assertCloseRef('output', y.output, ref.output);
    } finally {
      m.dispose();
    }
  });
});

// ------------------------------------------------------------------ layouts and weights

describe('input layouts and weight options', () => {
  for (const s of setups) {
    it(`${s.name}: unbatched input equals batched N = 1, squeezed (with masks)`, () => {
      const rng = new Rng(202);
      const m = s.ctor({ seed: 1 });
      try {
        const L = 4;
        const S = 7;
        const H = s.cfg.numHeads;
        const { query, key, value } = inputsFor(s, rng, L, 1, S);
        const kpmB = boolMask(rng, [1, S], 0.3);
        const width = s.linformer ? s.cfg.projK! : S;
        const amB = floatMask(rng, [H, L, width], 0.2);
        const batched = m.forward(query, key, value, { keyPaddingMask: kpmB, attnMask: amB, averageAttnWeights: false });
        const sq = (t: { data: Float32Array | Uint8Array; dims: number[] }) => ({ ...t, dims: t.dims.filter((_, i) => i !== 1) });
        const un = m.forward(sq(query) as F32Tensor, sq(key) as F32Tensor, sq(value) as F32Tensor, {
          keyPaddingMask: { data: kpmB.data, dims: [S] },
          attnMask: amB,
          averageAttnWeights: false,
        });
        assert.deepEqual(un.output.dims, [L, s.cfg.embedDim]);
        assertCloseRef('output', un.output, { data: batched.output.data, dims: [L, s.cfg.embedDim] }, 1e-6, 1e-6);
        assert.deepEqual(un.weights!.dims, batched.weights!.dims.slice(1));
        assertCloseRef('weights', un.weights, { data: batched.weights!.data, dims: batched.weights!.dims.slice(1) }, 1e-6, 1e-6);
        const ref = (s.linformer ? referenceLinformer : referenceMHA)(s.cfg, m.stateDict(), sq(query), sq(key), sq(value), {
          keyPaddingMask: { data: kpmB.data, dims: [S] },
          attnMask: amB,
          averageAttnWeights: false,
        });
        assertCloseRef('unbatched output vs reference', un.output, ref.output);
      } finally {
        m.dispose();
      }
    });

    it(`${s.name}: batchFirst equals sequence-first, transposed`, () => {
      const rng = new Rng(303);
      const seqFirst = s.ctor({ seed: 1 });
      const bf = s.ctor({ seed: 2, batchFirst: true });
      try {
        bf.loadStateDict(seqFirst.stateDict());
        const L = 5;
        const N = 3;
        const S = 6;
        const { query, key, value } = inputsFor(s, rng, L, N, S);
        const t = (x: F32Tensor): F32Tensor => {
          const [A, B, C] = x.dims;
          const data = new Float32Array(x.data.length);
          for (let a = 0; a < A; a++) for (let b = 0; b < B; b++) for (let c = 0; c < C; c++) data[(b * A + a) * C + c] = x.data[(a * B + b) * C + c];
          return { data, dims: [B, A, C] };
        };
        const kpm = boolMask(rng, [N, S], 0.3);
        const y1 = seqFirst.forward(query, key, value, { keyPaddingMask: kpm });
        const y2 = bf.forward(t(query), t(key), t(value), { keyPaddingMask: kpm });
        assert.deepEqual(y2.output.dims, [N, L, s.cfg.embedDim]);
        assertCloseRef('output', t(y2.output), y1.output, 1e-6, 1e-6);
        assertCloseRef('weights', y2.weights, y1.weights!, 1e-6, 1e-6);
      } finally {
        seqFirst.dispose();
        bf.dispose();
      }
    });

    it(`${s.name}: per-head weights averaged by hand equal the averaged weights; needWeights false gives null`, () => {
      const rng = new Rng(404);
      const m = s.ctor({ seed: 1 });
      try {
        const { query, key, value } = inputsFor(s, rng, 5, 2, 6);
        const avg = m.forward(query, key, value);
        const per = m.forward(query, key, value, { averageAttnWeights: false });
        const none = m.forward(query, key, value, { needWeights: false });
        const noneNoAvg = m.forward(query, key, value, { needWeights: false, averageAttnWeights: false });
        const [N, H, L, P] = per.weights!.dims;
        assert.equal(H, s.cfg.numHeads);
        assert.deepEqual(avg.weights!.dims, [N, L, P]);
        const byHand = new Float64Array(N * L * P);
        for (let n = 0; n < N; n++)
          for (let h = 0; h < H; h++)
            for (let i = 0; i < L * P; i++) byHand[n * L * P + i] += per.weights!.data[(n * H + h) * L * P + i] / H;
        assertCloseRef('averaged by hand', avg.weights, { data: byHand, dims: [N, L, P] }, 1e-6, 1e-5);
        // each row of the weights is a distribution
        for (let r = 0; r < N * H * L; r++) {
          let sum = 0;
          for (let j = 0; j < P; j++) sum += per.weights!.data[r * P + j];
          assert.ok(Math.abs(sum - 1) < 1e-5, `row ${r} sums to ${sum}`);
        }
        assert.equal(none.weights, null);
        assert.equal(noneNoAvg.weights, null);
        assertCloseRef('output without weights', none.output, avg.output, 1e-6, 1e-6);
        assertCloseRef('output, per-head weights', per.output, avg.output, 1e-6, 1e-6);
      } finally {
        m.dispose();
      }
    });

    it(`${s.name}: inputs and masks are not modified`, () => {
      const rng = new Rng(505);
      const m = s.ctor({ seed: 1 });
      try {
        const { query, key, value } = inputsFor(s, rng, 4, 2, 6);
        const kpm = boolMask(rng, [2, 6], 0.3);
        const am = floatMask(rng, [4, s.linformer ? s.cfg.projK! : 6], 0.2);
        const copies = [query, key, value, kpm, am].map((t) => copyTensor(t));
        m.forward(query, key, value, { keyPaddingMask: kpm, attnMask: am });
        [query, key, value, kpm, am].forEach((t, i) => {
          assert.deepEqual(Array.from(t.data), Array.from(copies[i].data), `input ${i} changed`);
          assert.deepEqual(t.dims, copies[i].dims);
        });
      } finally {
        m.dispose();
      }
    });
  }

  it('self-attention with one tensor object for query, key and value equals three copies', () => {
    const rng = new Rng(606);
    for (const s of setups.filter((x) => x.cfg.kdim === undefined)) {
      const m = s.ctor({ seed: 1 });
      try {
        const x = randn(rng, [6, 2, 16]);
        const same = m.forward(x, x, x);
        const copies = m.forward(copyTensor(x), copyTensor(x), copyTensor(x));
        sameOutputs(same, copies, s.name);
      } finally {
        m.dispose();
      }
    }
  });
});

// ------------------------------------------------------------------ the seed's usage

describe("the three lines from PyTorch (README)", () => {
  it("new LinearMultiheadAttention(E, H, { seqLen: 512, projK: 256, paramSharing: 'layerwise' }), loadStateDict, forward", () => {
    const embedDim = 32;
    const numHeads = 4;
    const rng = new Rng(2024);
    const cfg: RefConfig = { embedDim, numHeads, seqLen: 512, projK: 256, paramSharing: 'layerwise' };
    const stateDict = randomStateDict(rng, cfg, true);
    const query = randn(rng, [64, 1, embedDim]);
    const key = randn(rng, [512, 1, embedDim]);
    const value = randn(rng, [512, 1, embedDim]);

    const attn = new LinearMultiheadAttention(embedDim, numHeads, { seqLen: 512, projK: 256, paramSharing: 'layerwise' });
    attn.loadStateDict(stateDict);
    const { output, weights } = attn.forward(query, key, value);
    try {
      const ref = referenceLinformer(cfg, stateDict, query, key, value);
      assertCloseRef('output', output, ref.output);
      assertCloseRef('weights', weights, ref.weights!);
    } finally {
      attn.dispose();
    }
  });
});

// ------------------------------------------------------------------ 0-size dimensions
// (random configurations against the reference: tests/properties.test.ts)

describe('0-size dimensions', () => {
  for (const linformer of [false, true]) {
    for (const [qd, kd] of [
      [[0, 2, 8], [5, 2, 8]],
      [[3, 0, 8], [5, 0, 8]],
      [[3, 2, 8], [0, 2, 8]],
      [[0, 8], [4, 8]],
      [[3, 8], [0, 8]],
    ]) {
      const what = `${linformer ? 'LinearMultiheadAttention' : 'MultiheadAttention'}: query ${shapeText(qd)}, key ${shapeText(kd)}`;
      it(`0-size dimensions as torch: ${what} (output as the reference; weights an empty tensor, not null)`, () => {
        const rng = new Rng(808);
        const cfg: RefConfig = linformer ? { embedDim: 8, numHeads: 2, seqLen: 6, projK: 3 } : { embedDim: 8, numHeads: 2 };
        const sd = randomStateDict(rng, cfg, linformer);
        const m = linformer ? new LinearMultiheadAttention(8, 2, { seqLen: 6, projK: 3 }) : new MultiheadAttention(8, 2);
        try {
          m.loadStateDict(sd);
          const q = randn(rng, qd);
          const kv = randn(rng, kd);
          const got = m.forward(q, kv, kv);
          const ref = (linformer ? referenceLinformer : referenceMHA)(cfg, sd, q, kv, kv);
          assertCloseRef('output', got.output, ref.output);
          assert.ok(got.weights !== null, 'weights null although needWeights is true');
          assertCloseRef('weights', got.weights, ref.weights!);
        } finally {
          m.dispose();
        }
      });
    }
  }
});

// ------------------------------------------------------------------ torch's module API: eval, train, training, names

describe("torch's eval(), train(mode) and training; class names", () => {
  const kinds = [
    ['MultiheadAttention', () => new MultiheadAttention(16, 4, { seed: 2 })],
    ['LinearMultiheadAttention', () => new LinearMultiheadAttention(16, 4, { seed: 2, seqLen: 9, projK: 4 })],
  ] as const;

  for (const [cls, make] of kinds) {
    it(`${cls}: eval() and train(false) return the module and change nothing; training is false`, () => {
      const m = make();
      try {
        const rng = new Rng(5);
        const x = randn(rng, [6, 2, 16]);
        const before = m.forward(x, x, x);
        assert.equal(m.training, false);
        assert.equal(m.eval(), m, 'eval() returns the module');
        assert.equal(m.train(false), m, 'train(false) returns the module');
        assert.equal(m.eval().train(false).eval(), m, 'chained');
        assert.equal(m.training, false);
        sameOutputs(m.forward(x, x, x), before, `${cls} after eval()`);
      } finally {
        m.dispose();
      }
    });

    it(`${cls}: train() and train(true) throw an Error saying only eval mode exists; a non-boolean mode is a TypeError; the module keeps working`, () => {
      const m = make();
      try {
        const x = randn(new Rng(6), [4, 16]);
        const before = m.forward(x, x, x);
        const evalOnly = `${cls}.train: only inference (eval mode) exists: dropout is never applied and there is no backward pass; use eval() or train(false)`;
        for (const call of [() => m.train(), () => m.train(true)]) {
          assert.throws(call, (e: Error) => e.constructor === Error && e.message === evalOnly);
        }
        for (const [mode, got] of [[1, 'number 1'], ['false', "string 'false'"], [null, 'null']] as const) {
          assert.throws(
            () => m.train(mode as unknown as boolean),
            (e: Error) => e.constructor === TypeError && e.message === `${cls}.train: mode: expected a boolean, got ${got}`,
          );
        }
        assert.equal(m.training, false);
        sameOutputs(m.forward(x, x, x), before, `${cls} after train() failed`);
      } finally {
        m.dispose();
      }
    });
  }

  it("exported classes keep their names, in the Node build and in the minified browser bundle (linformer-wasm/inline)", async () => {
    const inline = await import('linformer-wasm/inline');
    for (const lib of [{ LinearMultiheadAttention, MultiheadAttention }, inline]) {
      assert.equal(lib.LinearMultiheadAttention.name, 'LinearMultiheadAttention');
      assert.equal(lib.MultiheadAttention.name, 'MultiheadAttention');
    }
    assert.equal(inline.ops.PackedMatrix.name, 'PackedMatrix');
  });
});
