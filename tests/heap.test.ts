// The heap through the public API (memoryUsage): scratch reused call after
// call, growth only for a larger problem, dispose() giving memory back, the
// shared E of layerwise sharing living until its last user is disposed, and
// Symbol.dispose with `using`.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LinearMultiheadAttention, memoryUsage, MultiheadAttention, ops } from 'linformer-wasm';
import { initForTests } from './helpers/setup.js';
import { buildModules, buildOne, callInputs, checkGolden, goldenCase, stateDictOf, type Attention } from './helpers/cases.js';
import { assertCloseRef, referenceLinformer, referenceMHA, type RefConfig } from './helpers/reference.js';
import { boolMask, randn, randomStateDict, Rng } from './helpers/rng.js';

const MHA = 'mha/basic-E16-H4-N1-L5-S7';
const LIN = 'linformer/S<seqLen-N3';
const MHA_MASKS = 'mha/addBiasKV+addZeroAttn+keyPaddingMask-float+attnMask-float-3d';
const LIN_MASKS = 'linformer/addBiasKV+addZeroAttn+keyPaddingMask-bool+attnMask-float-2d';

before(async () => {
  await initForTests();
  // Make the scratch region larger than anything below needs, so that
  // allocatedBytes moves only with the modules' own buffers.
  const a = { data: new Float32Array(256 * 256), dims: [256, 256] };
  ops.matmul(a, a);
});

function sameOutput(a: Float32Array, b: Float32Array, what: string): void {
  assert.equal(a.length, b.length, what);
  for (let i = 0; i < a.length; i++) assert.ok(Object.is(a[i], b[i]), `${what}[${i}]: ${a[i]} then ${b[i]}`);
}

describe('scratch is reused', () => {
  for (const name of [MHA, LIN, MHA_MASKS, LIN_MASKS]) {
    it(`${name}: memoryUsage() is the same after the first call and after 10 000 identical calls`, () => {
      const m = buildOne(name);
      try {
        const { query, key, value, options } = callInputs(goldenCase(name).calls[0]);
        const first = m.forward(query, key, value, options);
        const after1 = memoryUsage();
        let last = first;
        for (let i = 0; i < 10_000; i++) last = m.forward(query, key, value, options);
        assert.deepEqual(memoryUsage(), after1);
        sameOutput(last.output.data, first.output.data, 'output of call 10 001 vs call 1');
        checkGolden(m, name);
      } finally {
        m.dispose();
      }
    });
  }

  it('ops: 10 000 identical matmul, linear and softmax calls keep memoryUsage() as it was', () => {
    const rng = new Rng(1);
    const a = randn(rng, [9, 17]);
    const b = randn(rng, [17, 5]);
    const w = randn(rng, [5, 17]);
    ops.matmul(a, b);
    ops.linear(a, w);
    ops.softmax(a);
    const u = memoryUsage();
    for (let i = 0; i < 10_000; i++) {
      ops.matmul(a, b);
      ops.linear(a, w);
      ops.softmax(a);
    }
    assert.deepEqual(memoryUsage(), u);
  });

  it('grows for a larger problem, then stays: more large calls and smaller calls add nothing', () => {
    const rng = new Rng(2);
    const cfg: RefConfig = { embedDim: 16, numHeads: 4 };
    const sd = randomStateDict(rng, cfg, false);
    const m = new MultiheadAttention(16, 4);
    try {
      m.loadStateDict(sd);
      const small = [randn(rng, [5, 1, 16]), randn(rng, [7, 1, 16])];
      m.forward(small[0], small[1], small[1]);
      const u1 = memoryUsage();
      // (N, H, L, S) weights of 2·4·100·600 floats: 1.9 MB, past the ~1 MiB of scratch warmed up above
      const q = randn(rng, [100, 2, 16]);
      const kv = randn(rng, [600, 2, 16]);
      const big = m.forward(q, kv, kv, { averageAttnWeights: false });
      const u2 = memoryUsage();
      // A call's scratch lives for that call: between calls only the weights are allocated.
      assert.equal(u1.scratchBytes, 0);
      assert.equal(u2.scratchBytes, 0);
      assert.equal(u2.allocatedBytes, u1.allocatedBytes, 'the large call left nothing allocated');
      assert.ok(u2.peakBytes >= u1.allocatedBytes + 2 * 4 * 100 * 600 * 4, 'its scratch, beside the weights, held the attention weights');
      assert.ok(u2.wasmBytes >= u2.peakBytes && u2.peakBytes > u1.peakBytes);
      for (let i = 0; i < 20; i++) m.forward(q, kv, kv, { averageAttnWeights: false });
      assert.deepEqual(memoryUsage(), u2, 'more large calls');
      m.forward(small[0], small[1], small[1]);
      m.forward(q, kv, kv, { needWeights: false });
      assert.deepEqual(memoryUsage(), u2, 'smaller calls');
      const ref = referenceMHA(cfg, sd, q, kv, kv, { averageAttnWeights: false });
      assertCloseRef('large output', big.output, ref.output);
      assertCloseRef('large weights', big.weights, ref.weights!);
    } finally {
      m.dispose();
    }
  });

  it('failed calls (bad input, a failed load) leave memoryUsage() as it was', () => {
    const m = buildOne(LIN);
    try {
      const { query, key, value } = callInputs(goldenCase(LIN).calls[0]);
      m.forward(query, key, value);
      const u = memoryUsage();
      assert.throws(() => m.forward(query, { data: key.data, dims: [7, 2, 24] }, value), RangeError);
      assert.throws(() => m.forward(query, key, value, { keyPaddingMask: { data: new Float32Array(21), dims: [3, 7] } }), TypeError);
      const bad = stateDictOf(goldenCase(LIN).modules[0]);
      bad.bias_e.data[0] = NaN;
      assert.throws(() => m.loadStateDict(bad), RangeError);
      assert.deepEqual(memoryUsage(), u);
      checkGolden(m, LIN);
    } finally {
      m.dispose();
    }
  });
});

describe('dispose() returns memory', () => {
  it('allocatedBytes is back where it was after modules of every kind are disposed, in any order', () => {
    const base = memoryUsage();
    const mods: Attention[] = [
      new MultiheadAttention(16, 4, { addBiasKV: true }),
      new MultiheadAttention(12, 3, { kdim: 5, vdim: 20, bias: false }),
      new LinearMultiheadAttention(16, 4, { seqLen: 12, projK: 6 }),
      new LinearMultiheadAttention(16, 4, { seqLen: 12, projK: 6, paramSharing: 'per-head', addBiasKV: true }),
      new LinearMultiheadAttention(16, 4, { seqLen: 12, projK: 6, paramSharing: 'kv' }),
    ];
    mods.push(new LinearMultiheadAttention(16, 4, { seqLen: 12, projK: 6, paramSharing: 'layerwise' }));
    mods.push(new LinearMultiheadAttention(16, 4, { seqLen: 12, projK: 6, paramSharing: 'layerwise', shareWith: mods[5] as LinearMultiheadAttention }));
    const rng = new Rng(3);
    for (const m of mods) {
      const q = randn(rng, [4, 2, 16].map((d, i) => (i === 2 ? m.embedDim : d)));
      const k = randn(rng, [6, 2, m.kdim]);
      const v = randn(rng, [6, 2, m.vdim]);
      m.forward(q, k, v);
    }
    assert.ok(memoryUsage().allocatedBytes > base.allocatedBytes);
    for (const i of [3, 0, 5, 6, 1, 4, 2]) mods[i].dispose();
    const after = memoryUsage();
    assert.equal(after.allocatedBytes, base.allocatedBytes, 'allocatedBytes');
    assert.equal(after.scratchBytes, base.scratchBytes, 'scratchBytes');
  });

  it('500 create / forward / dispose rounds do not grow the wasm memory (freed blocks are reused)', () => {
    const rng = new Rng(4);
    const q = randn(rng, [4, 2, 16]);
    const kv = randn(rng, [6, 2, 16]);
    const round = (i: number) => {
      const m =
        i % 2 === 0
          ? new MultiheadAttention(16, 4, { addBiasKV: i % 4 === 0 })
          : new LinearMultiheadAttention(16, 4, { seqLen: 8 + (i % 3), projK: 4, paramSharing: i % 3 === 0 ? 'per-head' : 'none' });
      m.forward(q, kv, kv);
      m.dispose();
    };
    for (let i = 0; i < 10; i++) round(i);
    const u = memoryUsage();
    for (let i = 0; i < 500; i++) round(i);
    assert.deepEqual(memoryUsage(), u);
  });
});

describe("layerwise sharing: the shared E lives until its last user is disposed", () => {
  const name = 'linformer/paramSharing-layerwise-shareWith'; // owner (call 0) and sharer (call 1); seqLen 10, k 5

  function build() {
    const c = goldenCase(name);
    const base = memoryUsage().allocatedBytes;
    const owner = new LinearMultiheadAttention(16, 4, c.modules[0].options);
    owner.loadStateDict(stateDictOf(c.modules[0]));
    const withOwner = memoryUsage().allocatedBytes;
    const sharer = new LinearMultiheadAttention(16, 4, { ...c.modules[1].options, shareWith: owner });
    sharer.loadStateDict(stateDictOf(c.modules[1]));
    const withBoth = memoryUsage().allocatedBytes;
    return { owner, sharer, base, ownerBytes: withOwner - base, sharerBytes: withBoth - withOwner };
  }

  /** Modules that reuse freed blocks and write other values into them. */
  /** Runs `check` while four other modules hold (and have written) the memory freed before it. */
  function whileClobbered(check: () => void): void {
    const rng = new Rng(5);
    const mods: Attention[] = [];
    for (let i = 0; i < 4; i++) {
      const m = new LinearMultiheadAttention(16, 4, { seqLen: 10, projK: 5, paramSharing: 'layerwise' });
      m.loadStateDict(randomStateDict(rng, { embedDim: 16, numHeads: 4, seqLen: 10, projK: 5, paramSharing: 'layerwise' }, true));
      const x = randn(rng, [5, 2, 16]);
      m.forward(x, x, x);
      mods.push(m);
    }
    try {
      check();
    } finally {
      for (const m of mods) m.dispose();
    }
  }

  it('owner disposed first: E (k·seqLen floats) stays allocated, the sharer still matches its golden; all back after the sharer goes', () => {
    const { owner, sharer, base, ownerBytes, sharerBytes } = build();
    const eBytes = 5 * 10 * 4;
    assert.ok(sharerBytes > 0 && ownerBytes > sharerBytes);
    checkGolden(sharer, name, 1);
    owner.dispose();
    const held = memoryUsage().allocatedBytes - base;
    assert.ok(held >= sharerBytes + eBytes, `after the owner's dispose ${held} bytes held, the sharer needs ${sharerBytes} + E ${eBytes}`);
    assert.ok(held < sharerBytes + ownerBytes, 'the owner freed nothing');
    whileClobbered(() => checkGolden(sharer, name, 1));
    sharer.dispose();
    assert.equal(memoryUsage().allocatedBytes, base);
  });

  it('sharer disposed first: the owner still matches its golden; all back after the owner goes', () => {
    const { owner, sharer, base } = build();
    sharer.dispose();
    whileClobbered(() => checkGolden(owner, name, 0));
    owner.dispose();
    assert.equal(memoryUsage().allocatedBytes, base);
  });

  it('three modules (owner, two sharers): dispose the owner, then one sharer; the last still matches its golden', () => {
    const c = goldenCase('linformer/paramSharing-layerwise-shareWith-owner-with-f+three-modules');
    const base = memoryUsage().allocatedBytes;
    const [owner, s1, s2] = buildModules(c);
    owner.dispose();
    checkGolden(s1, c.name, 1);
    checkGolden(s2, c.name, 2);
    s1.dispose();
    whileClobbered(() => checkGolden(s2, c.name, 2));
    s2.dispose();
    assert.equal(memoryUsage().allocatedBytes, base);
  });

  it('a sharer built on a sharer uses the same E; any disposal order works', () => {
    const rng = new Rng(6);
    const cfg: RefConfig = { embedDim: 8, numHeads: 2, seqLen: 9, projK: 3, paramSharing: 'layerwise' };
    const base = memoryUsage().allocatedBytes;
    const a = new LinearMultiheadAttention(8, 2, { seqLen: 9, projK: 3, paramSharing: 'layerwise' });
    const sdA = randomStateDict(rng, cfg, true);
    a.loadStateDict(sdA);
    const b = new LinearMultiheadAttention(8, 2, { seqLen: 9, projK: 3, paramSharing: 'layerwise', shareWith: a });
    const c = new LinearMultiheadAttention(8, 2, { seqLen: 9, projK: 3, paramSharing: 'layerwise', shareWith: b });
    const sdC = randomStateDict(rng, { ...cfg, sharesE: true }, true);
    c.loadStateDict(sdC);
    a.dispose();
    b.dispose();
    whileClobbered(() => {
      const q = randn(rng, [3, 2, 8]);
      const kv = randn(rng, [7, 2, 8]);
      const kpm = boolMask(rng, [2, 7], 0.3);
      const got = c.forward(q, kv, kv, { keyPaddingMask: kpm });
      const ref = referenceLinformer(cfg, sdC, q, kv, kv, { keyPaddingMask: kpm }, sdA.e_proj_weight);
      assertCloseRef('output', got.output, ref.output);
    });
    c.dispose();
    assert.equal(memoryUsage().allocatedBytes, base);
  });
});

describe('Symbol.dispose', () => {
  it('`using` disposes at the end of the block (reverse order: sharer, then owner)', () => {
    const base = memoryUsage().allocatedBytes;
    let escapedOwner: LinearMultiheadAttention;
    let escapedSharer: LinearMultiheadAttention;
    const c = goldenCase('linformer/paramSharing-layerwise-shareWith');
    {
      using owner = new LinearMultiheadAttention(16, 4, c.modules[0].options);
      owner.loadStateDict(stateDictOf(c.modules[0]));
      using sharer = new LinearMultiheadAttention(16, 4, { ...c.modules[1].options, shareWith: owner });
      sharer.loadStateDict(stateDictOf(c.modules[1]));
      escapedOwner = owner;
      escapedSharer = sharer;
      checkGolden(owner, c.name, 0);
      checkGolden(sharer, c.name, 1);
    }
    const { query, key, value } = callInputs(c.calls[0]);
    assert.throws(() => escapedOwner.forward(query, key, value), /disposed/);
    assert.throws(() => escapedSharer.forward(query, key, value), /disposed/);
    assert.equal(memoryUsage().allocatedBytes, base);
  });

  it('calling [Symbol.dispose]() directly is dispose()', () => {
    const base = memoryUsage().allocatedBytes;
    const m = buildOne(MHA) as MultiheadAttention;
    checkGolden(m, MHA);
    assert.equal(typeof m[Symbol.dispose], 'function');
    m[Symbol.dispose]();
    assert.equal(memoryUsage().allocatedBytes, base);
    const { query, key, value } = callInputs(goldenCase(MHA).calls[0]);
    assert.throws(() => m.forward(query, key, value), /disposed/);
    m[Symbol.dispose](); // twice is fine
  });
});
