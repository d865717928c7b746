// ops.matmul, ops.linear and ops.softmax against plain float64 loops, for
// random shapes, the GEMM's edges (K, N around the 8-wide panel and M around
// the 4-row tile), 0-size dimensions as torch has them, and inputs chosen to
// break softmax. Inputs are never modified; outputs are new arrays.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ops } from 'linformer-wasm';
import { initForTests } from './helpers/setup.js';
import { assertCloseRef, linear64, matmul64, softmax64 } from './helpers/reference.js';
import { copyTensor, randn, Rng, type F32Tensor } from './helpers/rng.js';

before(() => initForTests());

function unchanged(what: string, t: F32Tensor, copy: F32Tensor): void {
  assert.deepEqual(t.dims, copy.dims, `${what}.dims changed`);
  for (let i = 0; i < t.data.length; i++) {
    assert.ok(Object.is(t.data[i], copy.data[i]), `${what}.data[${i}] changed: ${copy.data[i]} → ${t.data[i]}`);
  }
}

function checkMatmul(a: F32Tensor, b: F32Tensor, transposeB: boolean, what: string): void {
  const ca = copyTensor(a);
  const cb = copyTensor(b);
  const got = ops.matmul(a, b, { transposeB });
  assertCloseRef(what, got, matmul64(a, b, transposeB));
  assert.ok(got.data instanceof Float32Array, `${what}: Float32Array out`);
  assert.ok(got.data.buffer !== a.data.buffer && got.data.buffer !== b.data.buffer, `${what}: output aliases an input`);
  unchanged('a', a, ca);
  unchanged('b', b, cb);
}

describe('ops.prepack', () => {
  it('a prepacked B gives the float64 product for many A, both forms, and is not changed by use', () => {
    const rng = new Rng(21);
    for (const [K, N, tb] of [[1, 1, false], [7, 9, true], [33, 17, false], [64, 40, true]] as const) {
      const b = randn(rng, tb ? [N, K] : [K, N]);
      const cb = copyTensor(b);
      const packed = ops.prepack(b, { transposeB: tb });
      assert.deepEqual([...packed.dims], [K, N]);
      for (const M of [1, 4, 13]) {
        const a = randn(rng, [M, K]);
        assertCloseRef(`prepack K${K} N${N} M${M}${tb ? ' transposeB' : ''}`, ops.matmul(a, packed), matmul64(a, b, tb));
      }
      unchanged('b', b, cb);
      packed.dispose();
    }
  });

  it('a K mismatch is a RangeError naming both shapes; a disposed PackedMatrix is an error; the same call with a fresh one works', () => {
    const rng = new Rng(22);
    const b = randn(rng, [5, 3]);
    const packed = ops.prepack(b);
    assert.throws(() => ops.matmul(randn(rng, [2, 4]), packed), (e: Error) => e instanceof RangeError && /\(2, 4\)/.test(e.message) && /\(5, 3\)/.test(e.message));
    packed.dispose();
    const a = randn(rng, [2, 5]);
    assert.throws(() => ops.matmul(a, packed), /disposed/);
    const again = ops.prepack(b);
    assertCloseRef('after the errors', ops.matmul(a, again), matmul64(a, b, false));
    again.dispose();
  });
});

describe('ops.matmul', () => {
  it('out: the product is written into it and returned, for fresh and prepacked B, also when out is a or b', () => {
    const rng = new Rng(23);
    for (const [M, K, N] of [[1, 1, 1], [5, 9, 9], [13, 33, 17], [64, 40, 64]] as const) {
      const a = randn(rng, [M, K]);
      const b = randn(rng, [K, N]);
      const want = matmul64(a, b, false);
      const out = randn(rng, [M, N]);
      const got = ops.matmul(a, b, { out });
      assert.equal(got.data, out.data, `${M}x${K}x${N}: returns out.data`);
      assert.deepEqual(got.dims, [M, N]);
      assertCloseRef(`out ${M}x${K}x${N}`, got, want);
      const packed = ops.prepack(b);
      out.data.fill(NaN);
      assertCloseRef(`out, prepacked ${M}x${K}x${N}`, ops.matmul(a, packed, { out }), want);
      packed.dispose();
    }
    // In place: a square A times B into A itself, and A times B into B.
    const a = randn(rng, [9, 9]);
    const b = randn(rng, [9, 9]);
    const intoA = matmul64(a, b, false);
    const a2 = copyTensor(a);
    assertCloseRef('out = a', ops.matmul(a2, b, { out: a2 }), intoA);
    const b2 = copyTensor(b);
    assertCloseRef('out = b', ops.matmul(a, b2, { out: b2 }), intoA);
  });

  it('edge shapes: M around the 4-row tile, N around the 8-column panel, K from 1 to past 64', () => {
    const rng = new Rng(1);
    for (const M of [1, 2, 3, 4, 5, 7, 8, 9, 13, 16, 130])
      for (const N of [1, 3, 4, 7, 8, 9, 15, 16, 17, 24, 33])
        for (const K of [1, 2, 4, 7, 8, 9, 31, 64, 67]) {
          if (M * N * K > 60000) continue;
          const tb = (M + N + K) % 2 === 0;
          const a = randn(rng, [M, K]);
          const b = randn(rng, tb ? [N, K] : [K, N]);
          checkMatmul(a, b, tb, `M${M} K${K} N${N}${tb ? ' transposeB' : ''}`);
        }
  });

  it('random shapes, both forms', () => {
    const rng = new Rng(2);
    for (let i = 0; i < 150; i++) {
      const M = rng.int(1, 40);
      const K = rng.int(1, 48);
      const N = rng.int(1, 40);
      const tb = rng.bool();
      checkMatmul(randn(rng, [M, K]), randn(rng, tb ? [N, K] : [K, N]), tb, `case ${i}: M${M} K${K} N${N}${tb ? ' transposeB' : ''}`);
    }
  });

  it('transposeB defaults to false; (M,K)·(N,K)ᵀ equals (M,K)·(K,N) with B transposed by hand', () => {
    const rng = new Rng(3);
    const a = randn(rng, [6, 5]);
    const bt = randn(rng, [9, 5]);
    const b: F32Tensor = { data: new Float32Array(45), dims: [5, 9] };
    for (let j = 0; j < 9; j++) for (let p = 0; p < 5; p++) b.data[p * 9 + j] = bt.data[j * 5 + p];
    const x = ops.matmul(a, b);
    const y = ops.matmul(a, bt, { transposeB: true });
    assertCloseRef('default vs transposeB', x, matmul64(a, b));
    assertCloseRef('transposeB', y, matmul64(a, b));
  });

  it('0-size dimensions as torch: (0,K)·(K,N) → (0,N), (M,K)·(K,0) → (M,0), (M,0)·(0,N) → zeros (M,N)', () => {
    const rng = new Rng(4);
    const cases: [number, number, number][] = [[0, 3, 4], [3, 4, 0], [3, 0, 4], [0, 0, 0], [5, 0, 9], [0, 5, 0]];
    for (const [M, K, N] of cases) {
      for (const tb of [false, true]) {
        const a = randn(rng, [M, K]);
        const b = randn(rng, tb ? [N, K] : [K, N]);
        const got = ops.matmul(a, b, { transposeB: tb });
        assert.deepEqual(got.dims, [M, N], `(${M},${K})·(${K},${N})`);
        assert.ok(got.data.every((x) => x === 0), `(${M},${K})·(${K},${N}): zeros`);
        assert.equal(got.data.length, M * N);
      }
    }
  });

  it('NaN and ±Infinity propagate as IEEE arithmetic does', () => {
    // a (4,2) with NaN in row 0 and +inf in row 3; b (2,4) with a zero under the inf
    const a: F32Tensor = { data: Float32Array.from([1, NaN, 2, 0, 3, 4, Infinity, 1]), dims: [4, 2] };
    const b2: F32Tensor = { data: Float32Array.from([1, 2, -1, 0, 3, 0, 0, 1]), dims: [2, 4] };
    checkMatmul(a, b2, false, 'NaN/Inf in a');
  });
});

describe('ops.linear', () => {
  it('random shapes of x (1-D to 4-D), with and without bias', () => {
    const rng = new Rng(5);
    for (let i = 0; i < 120; i++) {
      const rank = rng.int(1, 4);
      const lead = Array.from({ length: rank - 1 }, () => rng.int(1, 5));
      const inF = rng.int(1, 40);
      const outF = rng.int(1, 40);
      const x = randn(rng, [...lead, inF]);
      const w = randn(rng, [outF, inF], 1 / Math.sqrt(inF));
      const b = rng.bool() ? randn(rng, [outF]) : undefined;
      const copies = [x, w, ...(b ? [b] : [])].map((t) => copyTensor(t));
      const got = ops.linear(x, w, b);
      assertCloseRef(`case ${i}: x ${x.dims} weight ${w.dims}${b ? ' bias' : ''}`, got, linear64(x, w, b));
      [x, w, ...(b ? [b] : [])].forEach((t, j) => unchanged(`input ${j}`, t, copies[j]));
    }
  });

  it('bias null and undefined both mean no bias', () => {
    const rng = new Rng(6);
    const x = randn(rng, [3, 7]);
    const w = randn(rng, [5, 7]);
    assertCloseRef('null', ops.linear(x, w, null), linear64(x, w));
    assertCloseRef('undefined', ops.linear(x, w), linear64(x, w));
  });

  it('0-size dimensions as torch: x (2,0,5) → (2,0,out); in_features 0 → the bias broadcast (zeros without bias)', () => {
    const rng = new Rng(7);
    const w = randn(rng, [3, 5]);
    const y = ops.linear({ data: new Float32Array(0), dims: [2, 0, 5] }, w, randn(rng, [3]));
    assert.deepEqual(y.dims, [2, 0, 3]);
    assert.equal(y.data.length, 0);
    const bias = randn(rng, [3]);
    const z = ops.linear({ data: new Float32Array(0), dims: [2, 0] }, { data: new Float32Array(0), dims: [3, 0] }, bias);
    assertCloseRef('in_features 0 with bias', z, { data: Float64Array.from([...bias.data, ...bias.data]), dims: [2, 3] });
    const u = ops.linear({ data: new Float32Array(0), dims: [2, 0] }, { data: new Float32Array(0), dims: [3, 0] });
    assertCloseRef('in_features 0 without bias', u, { data: new Float64Array(6), dims: [2, 3] });
    const v = ops.linear({ data: new Float32Array(8), dims: [2, 4] }, { data: new Float32Array(0), dims: [0, 4] }, { data: new Float32Array(0), dims: [0] });
    assert.deepEqual(v.dims, [2, 0]);
  });
});

describe('ops.softmax', () => {
  it('random shapes (1-D to 4-D), values up to ±30', () => {
    const rng = new Rng(8);
    for (let i = 0; i < 120; i++) {
      const rank = rng.int(1, 4);
      const dims = Array.from({ length: rank }, (_, j) => (j === rank - 1 ? rng.int(1, 70) : rng.int(1, 4)));
      const x = randn(rng, dims, rng.pick([0.1, 1, 10]));
      const copy = copyTensor(x);
      const got = ops.softmax(x);
      assertCloseRef(`case ${i}: dims ${dims}`, got, softmax64(x));
      unchanged('x', x, copy);
      assert.ok(got.data !== x.data, 'softmax writes a new array');
    }
  });

  it('large logits (the max is subtracted), -inf entries, a fully -inf row → NaN, NaN → NaN row, +inf → NaN row', () => {
    const rows = [
      [1000, 999, 998, -1000, 0, 1e30, 1e30, -1e30, 3],
      [-1000, -1001, -999, -1e30, -2000, -999.5, -1000.25, -3000, -1e4],
      [-Infinity, 0, -Infinity, 1, 2, -Infinity, 3, -Infinity, 4],
      [-Infinity, -Infinity, -Infinity, -Infinity, -Infinity, -Infinity, -Infinity, -Infinity, -Infinity],
      [0, 1, 2, NaN, 4, 5, 6, 7, 8],
      [0, 1, Infinity, 3, 4, 5, 6, 7, 8],
      [88, 89, 90, 87, -87, -88, -89, -90, 0],
      [5, 5, 5, 5, 5, 5, 5, 5, 5],
    ];
    const x: F32Tensor = { data: Float32Array.from(rows.flat()), dims: [rows.length, 9] };
    const ref = softmax64(x);
    // the reasoning behind the reference, spelled out
    for (let j = 0; j < 9; j++) {
      assert.ok(Number.isNaN(ref.data[3 * 9 + j]) && Number.isNaN(ref.data[4 * 9 + j]) && Number.isNaN(ref.data[5 * 9 + j]));
    }
    assertCloseRef('hard rows', ops.softmax(x), ref);
  });

  it('every row length from 1 to 40 (SIMD body and scalar tail)', () => {
    const rng = new Rng(9);
    for (let n = 1; n <= 40; n++) {
      const x = randn(rng, [3, n], 3);
      assertCloseRef(`n ${n}`, ops.softmax(x), softmax64(x));
    }
  });

  it('0-size dimensions as torch: (0,), (3,0), (0,4) give empty tensors of the same shape', () => {
    for (const dims of [[0], [3, 0], [0, 4], [2, 0, 5]]) {
      const y = ops.softmax({ data: new Float32Array(0), dims });
      assert.deepEqual(y.dims, dims);
      assert.equal(y.data.length, 0);
    }
  });
});
