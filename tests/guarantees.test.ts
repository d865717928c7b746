// What every public call guarantees at its edges: inputs read once, calls
// that cannot nest, all-or-nothing under memory pressure (every allocation
// and memory grow of every entry made to fail in turn), and memory given
// back. Each test here is one of the ways these used to break.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { backendInfo, LinearMultiheadAttention, memoryUsage, MultiheadAttention, ops, type OutputTensor } from 'linformer-wasm';
import { initForTests } from './helpers/setup.js';
import { buildOne, callInputs, goldenCase, stateDictOf, type Attention } from './helpers/cases.js';
import { goldenDir } from './helpers/golden.js';
import { randn, Rng } from './helpers/rng.js';
import { readFileSync } from 'node:fs';

before(() => initForTests());

const FAULTS = Symbol.for('linformer-wasm.failAllocation');
type FaultSwitch = { at: number; seen?: number };
const faults = globalThis as unknown as { [FAULTS]?: FaultSwitch };

/** Runs `call` with the n-th allocation or memory grow failing; returns the error, or null if the call made fewer than n. */
function withFaultAt(n: number, call: () => unknown): unknown {
  const f: FaultSwitch = { at: n };
  faults[FAULTS] = f;
  try {
    call();
    return null;
  } catch (e) {
    if ((f.seen ?? 0) < n) throw e; // not the injected failure
    return e;
  } finally {
    delete faults[FAULTS];
  }
}

/**
 * Makes the 1st, 2nd, … allocation of `call` fail until it makes no more.
 * After each failure: a RangeError naming the injected failure, memory in
 * use as before, and `check()` (the module computes as before).
 */
function everyFault(call: () => unknown, check: () => void): number {
  for (let n = 1; ; n++) {
    const before = memoryUsage().allocatedBytes;
    const e = withFaultAt(n, call);
    if (e === null) return n - 1;
    assert.ok(e instanceof RangeError, `allocation ${n}: ${String(e)}`);
    assert.match(e.message, /injected allocation failure/);
    assert.equal(memoryUsage().allocatedBytes, before, `allocation ${n}: memory in use as before the call`);
    check();
  }
}

const sameBits = (a: Float32Array, b: Float32Array, what: string) =>
  assert.deepEqual(new Uint32Array(a.buffer, a.byteOffset, a.length), new Uint32Array(b.buffer, b.byteOffset, b.length), what);

const MHA = 'mha/keyPaddingMask-bool+attnMask-float-3d';
const LIN = 'linformer/addBiasKV+addZeroAttn+keyPaddingMask-bool+attnMask-float-2d';

/** The golden call of `name` on `m`. */
function goldenForward(m: Attention, name: string): OutputTensor {
  const { query, key, value, options } = callInputs(goldenCase(name).calls[0]);
  return m.forward(query, key, value, options).output;
}

describe('inputs are read once', () => {
  let a: Attention;
  let b: Attention;
  before(() => {
    a = new MultiheadAttention(8, 2, { seed: 1 });
    b = buildOne(MHA);
  });
  after(() => {
    a.dispose();
    b.dispose();
  });

  it("a data getter that returns a longer array on its second read cannot write past the call's buffers", () => {
    const want = goldenForward(b, MHA);
    let reads = 0;
    const evil = { dims: [2, 1, 8], get data() { return ++reads === 1 ? new Float32Array(16).fill(0.5) : new Float32Array(4096).fill(1e30); } };
    const x = { dims: [2, 1, 8], data: new Float32Array(16).fill(0.5) };
    const { output } = a.forward(evil, evil, evil, { needWeights: false });
    assert.equal(reads, 1, 'data is read once');
    sameBits(output.data, a.forward(x, x, x, { needWeights: false }).output.data, 'computed from what was read');
    sameBits(goldenForward(b, MHA).data, want.data, "the other module's output");
  });

  it('dims from a Proxy that changes between reads: the dims read first are the ones used', () => {
    let reads = 0;
    const dims = new Proxy([2, 1, 8], { get: (t, p) => (p === '0' && ++reads > 1 ? 4096 : Reflect.get(t, p)) });
    const x = { dims, data: new Float32Array(16).fill(0.25) };
    const plain = { dims: [2, 1, 8], data: new Float32Array(16).fill(0.25) };
    sameBits(a.forward(x, x, x).output.data, a.forward(plain, plain, plain).output.data, 'output');
  });

  it('a Float32Array subclass that lies about its length is read by its real length', () => {
    class Liar extends Float32Array {
      override get length(): number {
        return 4096;
      }
    }
    const x = { dims: [2, 1, 8], data: new Liar(16).fill(0.5) };
    const plain = { dims: [2, 1, 8], data: new Float32Array(16).fill(0.5) };
    sameBits(a.forward(x, x, x).output.data, a.forward(plain, plain, plain).output.data, 'output');
  });

  it('a Proxy of a Float32Array as data is a TypeError naming the argument (its elements could change as they are read)', () => {
    const x = { dims: [2, 1, 8], data: new Float32Array(16) };
    const proxied = { dims: [2, 1, 8], data: new Proxy(new Float32Array(16), {}) };
    assert.throws(() => a.forward(proxied, x, x), { name: 'TypeError', message: /^query\.data: expected Float32Array/ });
    const mask = { dims: [1, 2], data: new Proxy(new Uint8Array(2), {}) };
    assert.throws(() => a.forward(x, x, x, { keyPaddingMask: mask }), { name: 'TypeError', message: /^keyPaddingMask\.data: expected Uint8Array/ });
    assert.throws(() => ops.softmax({ dims: [16], data: proxied.data }), { name: 'TypeError', message: /^x\.data: expected Float32Array/ });
  });

  it('a state dict whose tensors change between reads loads what was read and checked', () => {
    const sd = a.stateDict();
    let reads = 0;
    const w = sd['in_proj_weight'];
    const shifty = { dims: w.dims, get data() { return ++reads === 1 ? w.data : new Float32Array(w.data.length).fill(NaN); } };
    const m = new MultiheadAttention(8, 2);
    try {
      m.loadStateDict({ ...sd, in_proj_weight: shifty });
      sameBits(m.stateDict()['in_proj_weight'].data, w.data, 'the weights read once');
      const x = { dims: [3, 8], data: new Float32Array(24).fill(0.1) };
      sameBits(m.forward(x, x, x).output.data, a.forward(x, x, x).output.data, 'forward with them');
    } finally {
      m.dispose();
    }
  });
});

describe('flags and the generator are checked where they are read', () => {
  it('a bad env flag is a TypeError or RangeError naming it, before any work; manualSeed checks its seed', async () => {
    const { env, manualSeed } = await import('linformer-wasm');
    const m = buildOne(LIN);
    try {
      const want = goldenForward(m, LIN);
      for (const [key, value, kind] of [
        ['scoreBlockFloats', 0, RangeError],
        ['scoreBlockFloats', 'many', TypeError],
        ['sequenceProjection', 'sideways', RangeError],
      ] as const) {
        const before = (env as Record<string, unknown>)[key];
        (env as Record<string, unknown>)[key] = value;
        try {
          assert.throws(() => goldenForward(m, LIN), (e: unknown) => e instanceof kind && (e as Error).message.startsWith(`linformer-wasm: env: ${key}: expected`));
        } finally {
          (env as Record<string, unknown>)[key] = before;
        }
        sameBits(goldenForward(m, LIN).data, want.data, `after env.${key} = ${String(value)}`);
      }
      for (const [seed, kind] of [[-1, RangeError], [0.5, RangeError], [2 ** 32, RangeError], [NaN, RangeError], ['7', TypeError], [null, TypeError], [7n, TypeError]] as const) {
        assert.throws(() => manualSeed(seed as number), (e: unknown) => e instanceof kind && /^manualSeed: seed: expected an integer/.test((e as Error).message), String(seed));
      }
      manualSeed(7);
    } finally {
      m.dispose();
    }
  });
});

describe('calls cannot nest', () => {
  it("a getter that calls another module's forward gets an Error, and neither result is wrong", () => {
    const a = buildOne(MHA);
    const b = buildOne(LIN);
    try {
      const wantA = goldenForward(a, MHA);
      const wantB = goldenForward(b, LIN);
      const { query, key, value, options } = callInputs(goldenCase(MHA).calls[0]);
      let inner: unknown = null;
      const sneaky = {
        dims: query.dims,
        get data() {
          try {
            goldenForward(b, LIN);
          } catch (e) {
            inner = e;
          }
          return query.data;
        },
      };
      const got = a.forward(sneaky, key, value, options).output;
      assert.ok(inner instanceof Error, 'the nested call threw');
      assert.match((inner as Error).message, /LinearMultiheadAttention\.forward was called while MultiheadAttention\.forward is running.*cannot nest/);
      sameBits(got.data, wantA.data, 'the outer result');
      sameBits(goldenForward(b, LIN).data, wantB.data, 'the other module afterwards');
    } finally {
      a.dispose();
      b.dispose();
    }
  });

  it('disposing the module from a getter of its own call is refused', () => {
    const m = buildOne(MHA);
    try {
      const { query, key, value, options } = callInputs(goldenCase(MHA).calls[0]);
      let inner: unknown = null;
      const q = { dims: query.dims, get data() { try { m.dispose(); } catch (e) { inner = e; } return query.data; } };
      m.forward(q, key, value, options);
      assert.match(String(inner), /MultiheadAttention\.dispose was called while MultiheadAttention\.forward is running/);
      goldenForward(m, MHA); // still alive
    } finally {
      m.dispose();
    }
  });
});

describe('all-or-nothing: every allocation and memory grow of each entry made to fail in turn', () => {
  it('the constructors leave no memory behind, with and without shareWith', () => {
    const owner = new LinearMultiheadAttention(16, 4, { seqLen: 12, projK: 4, paramSharing: 'layerwise', seed: 3 });
    const x = { dims: [5, 1, 16], data: Float32Array.from({ length: 80 }, (_, i) => Math.sin(i)) };
    const want = owner.forward(x, x, x).output.data;
    const made: Attention[] = [];
    const ctors: [string, () => Attention][] = [
      ['MultiheadAttention', () => new MultiheadAttention(16, 4, { addBiasKV: true, kdim: 8, vdim: 12 })],
      ['LinearMultiheadAttention none', () => new LinearMultiheadAttention(16, 4, { seqLen: 12, projK: 4 })],
      ['LinearMultiheadAttention per-head', () => new LinearMultiheadAttention(16, 4, { seqLen: 12, projK: 4, paramSharing: 'per-head' })],
      ['LinearMultiheadAttention shareWith', () => new LinearMultiheadAttention(16, 4, { seqLen: 12, projK: 4, paramSharing: 'layerwise', shareWith: owner })],
    ];
    try {
      for (const [what, make] of ctors) {
        const n = everyFault(() => made.push(make()), () => sameBits(owner.forward(x, x, x).output.data, want, `${what}: the owner`));
        assert.ok(n >= 2, `${what}: ${n} allocations`);
        assert.equal(made.length, 1, `${what}: built once, when nothing failed`);
        made.pop()!.dispose();
      }
      // The owner's E was never retained by a failed shareWith: disposing the
      // owner and then its one real sharer frees all of it.
      const before = memoryUsage().allocatedBytes;
      const sharer = new LinearMultiheadAttention(16, 4, { seqLen: 12, projK: 4, paramSharing: 'layerwise', shareWith: owner });
      sharer.dispose();
      assert.equal(memoryUsage().allocatedBytes, before);
    } finally {
      owner.dispose();
      for (const m of made) m.dispose();
    }
  });

  it('loadStateDict: a failure keeps the old weights, in stateDict() and in forward alike', () => {
    const c = goldenCase(LIN).modules[0];
    const sources: [string, () => Attention, unknown][] = [
      ['a dict of tensors', () => new LinearMultiheadAttention(c.embedDim, c.numHeads, { ...c.options, seed: 9 }), stateDictOf(c)],
      // the configuration tests/golden/safetensors.json loads these files into
      ['.safetensors (F16)', () => new LinearMultiheadAttention(16, 4, { seqLen: 10, projK: 5, addBiasKV: true, seed: 9 }), readFileSync(goldenDir + 'linformer-f16.safetensors')],
    ];
    for (const [what, make, source] of sources) {
      const m = make();
      try {
        const oldDict = m.stateDict();
        const x = { dims: [4, 1, m.embedDim], data: Float32Array.from({ length: 4 * m.embedDim }, (_, i) => Math.cos(i)) };
        const oldOut = m.forward(x, x, x).output.data;
        const n = everyFault(() => m.loadStateDict(source as never), () => {
          for (const [k, t] of Object.entries(m.stateDict())) sameBits(t.data, oldDict[k].data, `${what}: stateDict ${k}`);
          sameBits(m.forward(x, x, x).output.data, oldOut, `${what}: forward`);
        });
        assert.ok(n >= 1, `${what}: ${n} allocations`);
        assert.notDeepEqual(m.stateDict()['bias_e'].data, oldDict['bias_e'].data, `${what}: loaded once nothing failed`);
      } finally {
        m.dispose();
      }
    }
  });

  it('forward, the ops and prepack: a failure leaves nothing allocated, and the next call is right', () => {
    const rng = new Rng(4);
    const a = randn(rng, [9, 17]);
    const b = randn(rng, [17, 5]);
    const w = randn(rng, [5, 17]);
    const packed = ops.prepack(b);
    const mods = [buildOne(MHA), buildOne(LIN)];
    try {
      const names = [MHA, LIN];
      const wants = mods.map((m, i) => goldenForward(m, names[i]).data);
      const calls: [string, () => unknown, () => Float32Array][] = [
        ...mods.map((m, i) => [`forward ${names[i]}`, () => goldenForward(m, names[i]), () => goldenForward(m, names[i]).data] as [string, () => unknown, () => Float32Array]),
        ['ops.matmul', () => ops.matmul(a, b), () => ops.matmul(a, b).data],
        ['ops.matmul prepacked', () => ops.matmul(a, packed), () => ops.matmul(a, packed).data],
        ['ops.linear', () => ops.linear(a, w), () => ops.linear(a, w).data],
        ['ops.softmax', () => ops.softmax(a, 0), () => ops.softmax(a, 0).data],
      ];
      for (const [what, call, result] of calls) {
        const want = result();
        const n = everyFault(call, () => {
          sameBits(result(), want, `${what}: the next call`);
          mods.forEach((m, i) => sameBits(goldenForward(m, names[i]).data, wants[i], `${what}: module ${i}`));
        });
        assert.ok(n >= 1, `${what}: ${n} allocations`);
      }
      const made: { dispose(): void }[] = [];
      const n = everyFault(() => made.push(ops.prepack(w, { transposeB: true })), () => sameBits(ops.matmul(a, packed).data, ops.matmul(a, b).data, 'prepack'));
      assert.ok(n >= 2 && made.length === 1, `prepack: ${n} allocations`);
      made[0].dispose();
    } finally {
      packed.dispose();
      for (const m of mods) m.dispose();
    }
  });
});

describe('memory is given back', () => {
  it("a large call's scratch goes back when it ends, and the weights made after it reuse it", () => {
    const m = new MultiheadAttention(16, 4, { seed: 5 });
    try {
      const rng = new Rng(6);
      const q = randn(rng, [300, 2, 16]);
      const kv = randn(rng, [700, 2, 16]);
      const base = memoryUsage();
      m.forward(q, kv, kv, { averageAttnWeights: false }); // (2, 4, 300, 700) weights: 6.7 MB of scratch
      const after1 = memoryUsage();
      assert.equal(after1.allocatedBytes, base.allocatedBytes);
      assert.equal(after1.scratchBytes, 0);
      assert.ok(after1.wasmBytes > base.wasmBytes + 6e6);
      // Eight more modules fit where that scratch was: the memory does not grow.
      const more = Array.from({ length: 8 }, () => new MultiheadAttention(128, 4, { seed: 7 }));
      assert.equal(memoryUsage().wasmBytes, after1.wasmBytes);
      for (const x of more) x.dispose();
    } finally {
      m.dispose();
    }
  });

  it('when the last module is disposed, a large memory is dropped and the next use starts small (one thread), or kept for the workers', () => {
    const threaded = backendInfo().threads > 1;
    const live = memoryUsage();
    assert.equal(live.allocatedBytes, 0, 'nothing else is alive in this process now');
    const m = new LinearMultiheadAttention(256, 4, { seqLen: 2048, projK: 256 });
    const rng = new Rng(8);
    const x = randn(rng, [2048, 1, 256]);
    m.forward(x, x, x);
    assert.ok(memoryUsage().wasmBytes > 16 * 2 ** 20, `wasm memory ${memoryUsage().wasmBytes}`);
    m.dispose();
    const fresh = memoryUsage();
    assert.equal(fresh.allocatedBytes, 0);
    // Workers hold the shared memory they were given: it stays until stopThreads().
    if (threaded) assert.ok(fresh.wasmBytes > 16 * 2 ** 20, 'the workers keep their memory');
    else assert.equal(fresh.wasmBytes, 65536, 'a new one-page memory');
    const again = new MultiheadAttention(16, 4, { seed: 1 });
    const y = { dims: [3, 16], data: new Float32Array(48).fill(0.5) };
    const first = again.forward(y, y, y).output.data;
    again.dispose();
    const other = new MultiheadAttention(16, 4, { seed: 1 });
    sameBits(other.forward(y, y, y).output.data, first, 'the same numbers on the new instance');
    other.dispose();
  });
});

describe('under a capped memory (node --wasm-max-mem-pages=512, 32 MiB)', () => {
  it('failed constructions leak nothing, a failed load keeps the old weights, and requests past the cap fail without trying', async () => {
    const child = fileURLToPath(new URL('../../tests/fixtures/capped-memory.mjs', import.meta.url));
    const { stdout } = await promisify(execFile)(process.execPath, ['--wasm-max-mem-pages=512', child], { encoding: 'utf8', timeout: 60_000 });
    const r = JSON.parse(stdout.trim().split('\n').pop()!);
    assert.equal(r.failedConstructions, 200);
    assert.equal(r.leakedBytes, 0, 'allocatedBytes after 200 failed constructions');
    assert.ok(r.errors.every((e: string) => /RangeError: LinearMultiheadAttention.*(could not grow|past)/.test(e)), r.errors[0]);
    assert.equal(r.loadKeptOldWeights, true);
    assert.equal(r.stillComputes, true);
  });
});
