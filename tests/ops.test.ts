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

describe('ops.softmax(x, dim): torch.softmax over any axis', () => {
  /** Asserts fn throws exactly `cls` with exactly `message`. */
  const throwsExactly = (fn: () => unknown, cls: typeof TypeError | typeof RangeError, message: string) =>
    assert.throws(fn, (e: Error) => {
      assert.equal(e.constructor, cls, `${cls.name} expected, got ${e.constructor.name}: ${e.message}`);
      assert.equal(e.message, message);
      return true;
    });

  it('every dim of random 1-D to 4-D tensors, negative and positive, against the float64 reference; d and d − rank agree bit for bit', () => {
    const rng = new Rng(31);
    for (let i = 0; i < 60; i++) {
      const rank = 1 + (i % 4);
      const dims = Array.from({ length: rank }, () => rng.int(1, 7));
      const x = randn(rng, dims, rng.pick([0.1, 1, 10]));
      const copy = copyTensor(x);
      for (let dim = 0; dim < rank; dim++) {
        const what = `case ${i}: dims ${dims}, dim ${dim}`;
        const got = ops.softmax(x, dim);
        assertCloseRef(what, got, softmax64(x, dim));
        const negative = ops.softmax(x, dim - rank);
        assert.deepEqual(negative.dims, got.dims);
        for (let j = 0; j < got.data.length; j++) assert.ok(Object.is(negative.data[j], got.data[j]), `${what}: dim ${dim - rank} differs at ${j}`);
      }
      unchanged('x', x, copy);
    }
  });

  it('the reference itself: along dim 0 of a (3, 2) tensor each column sums to 1 and equals exp(x)/Σexp(x) by hand', () => {
    const x: F32Tensor = { data: Float32Array.from([0, 1, 1, 2, 2, 3]), dims: [3, 2] };
    const ref = softmax64(x, 0);
    const e = [Math.exp(0), Math.exp(1), Math.exp(2)];
    const s = e[0] + e[1] + e[2];
    for (let r = 0; r < 3; r++) for (let c = 0; c < 2; c++) assert.ok(Math.abs(ref.data[r * 2 + c] - e[r] / s) < 1e-15);
    assertCloseRef('dim 0', ops.softmax(x, 0), ref);
  });

  it('no dim and dim -1 are the last axis, bit for bit; a dim other than the last gives another result', () => {
    const x = randn(new Rng(32), [4, 5, 6]);
    const last = ops.softmax(x);
    for (const dim of [-1, 2]) {
      const y = ops.softmax(x, dim);
      for (let j = 0; j < y.data.length; j++) assert.ok(Object.is(y.data[j], last.data[j]), `dim ${dim} at ${j}`);
    }
    assert.ok(ops.softmax(x, 0).data.some((v, j) => v !== last.data[j]), 'dim 0 equals dim -1');
  });

  it('large logits, -inf entries and a fully -inf slice (NaN) along every axis of a 3-D tensor', () => {
    // The hard rows of the last-axis test, laid along axis 1 of a (2, 9, 3) tensor.
    const rows = [
      [1000, 999, 998, -1000, 0, 1e30, 1e30, -1e30, 3],
      [-Infinity, 0, -Infinity, 1, 2, -Infinity, 3, -Infinity, 4],
      [-Infinity, -Infinity, -Infinity, -Infinity, -Infinity, -Infinity, -Infinity, -Infinity, -Infinity],
      [88, 89, 90, 87, -87, -88, -89, -90, 0],
      [-1000, -1001, -999, -1e30, -2000, -999.5, -1000.25, -3000, -1e4],
      [5, 5, 5, 5, 5, 5, 5, 5, 5],
    ];
    const x: F32Tensor = { data: new Float32Array(2 * 9 * 3), dims: [2, 9, 3] };
    rows.forEach((row, r) => row.forEach((v, j) => (x.data[(Math.floor(r / 3) * 9 + j) * 3 + (r % 3)] = v)));
    const alongAxis1 = softmax64(x, 1);
    // the fully -inf slice is NaN in the reference, the others are not
    for (let j = 0; j < 9; j++) {
      assert.ok(Number.isNaN(alongAxis1.data[(0 * 9 + j) * 3 + 2]), 'the -inf slice is NaN');
      assert.ok(!Number.isNaN(alongAxis1.data[(1 * 9 + j) * 3 + 2]), 'a finite slice is not NaN');
    }
    for (let dim = -3; dim < 3; dim++) assertCloseRef(`dim ${dim}`, ops.softmax(x, dim), softmax64(x, dim));
  });

  it('4-D with size-1 axes and the softmax axis of length 1 (all ones)', () => {
    const x = randn(new Rng(33), [1, 3, 1, 5], 4);
    for (let dim = 0; dim < 4; dim++) assertCloseRef(`dim ${dim}`, ops.softmax(x, dim), softmax64(x, dim));
    const ones = ops.softmax(x, 2);
    assert.ok(ones.data.every((v) => v === 1));
  });

  it('0-size dimensions along any axis give empty tensors of the same shape; dim is still checked against the rank, as torch', () => {
    for (const [dims, dim] of [[[0, 4], 0], [[0, 4], 1], [[3, 0, 2], 0], [[3, 0, 2], 1], [[3, 0, 2], -1]] as const) {
      const y = ops.softmax({ data: new Float32Array(0), dims: [...dims] }, dim);
      assert.deepEqual(y.dims, dims);
      assert.equal(y.data.length, 0);
    }
    throwsExactly(() => ops.softmax({ data: new Float32Array(0), dims: [0, 4] }, 2), RangeError, 'ops.softmax: dim: expected an integer in [-2, 1], got number 2');
  });

  it('0-d: dim 0 and -1 as torch, the one value becomes 1; dim 1 is a RangeError', () => {
    const x: F32Tensor = { data: Float32Array.from([3.5]), dims: [] };
    for (const dim of [0, -1, undefined]) {
      const y = ops.softmax(x, dim);
      assert.deepEqual(y.dims, []);
      assert.deepEqual([...y.data], [1]);
    }
    throwsExactly(() => ops.softmax(x, 1), RangeError, 'ops.softmax: dim: expected an integer in [-1, 0], got number 1');
  });

  it('dim out of range is a RangeError naming the range, as torch; not an integer or not a number is an error too; a good call then works', () => {
    const rng = new Rng(34);
    const x = randn(rng, [3, 4]);
    throwsExactly(() => ops.softmax(x, 2), RangeError, 'ops.softmax: dim: expected an integer in [-2, 1], got number 2');
    throwsExactly(() => ops.softmax(x, -3), RangeError, 'ops.softmax: dim: expected an integer in [-2, 1], got number -3');
    throwsExactly(() => ops.softmax(x, 0.5), RangeError, 'ops.softmax: dim: expected an integer in [-2, 1], got number 0.5');
    throwsExactly(() => ops.softmax(x, NaN), RangeError, 'ops.softmax: dim: expected an integer in [-2, 1], got number NaN');
    throwsExactly(() => ops.softmax(x, '0' as unknown as number), TypeError, "ops.softmax: dim: expected an integer in [-2, 1], got string '0'");
    throwsExactly(() => ops.softmax(x, null as unknown as number), TypeError, 'ops.softmax: dim: expected an integer in [-2, 1], got null');
    throwsExactly(() => ops.softmax(x, { dim: 0 } as unknown as number), TypeError, 'ops.softmax: dim: expected an integer in [-2, 1], got Object');
    const x4 = randn(rng, [2, 2, 2, 2]);
    throwsExactly(() => ops.softmax(x4, 4), RangeError, 'ops.softmax: dim: expected an integer in [-4, 3], got number 4');
    assertCloseRef('after the errors', ops.softmax(x, 0), softmax64(x, 0));
  });
});
