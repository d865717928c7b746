// parseSafetensors against the format's rules: one test per rule, built from
// small hand-written files; the torch exports in tests/golden keep loading;
// a bad file given to loadStateDict changes nothing; and a short fuzz run of
// mutated golden files (the long one: scripts/fuzz-safetensors.mjs).
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { LinearMultiheadAttention, parseSafetensors } from 'linformer-wasm';
import { initForTests } from './helpers/setup.js';
import { goldenDir, loadGolden, type GoldenCase } from './helpers/golden.js';
import { buildModules, callInputs, checkGoldenCall } from './helpers/cases.js';
import {
  assemble,
  concat,
  decodeFloats,
  f32Bytes,
  f32Tensor,
  pad,
  sameBytes,
  sameFloats,
  splitSafetensors,
  withHeader,
  writeSafetensors,
} from './helpers/safetensors-writer.js';
import { fuzzSafetensors } from './fuzz/safetensors.js';

before(initForTests);

const GOLDEN_FILES = ['linformer-f32.safetensors', 'linformer-f16.safetensors', 'linformer-bf16.safetensors'];
const golden = (name: string) => new Uint8Array(readFileSync(goldenDir + name));
const F32 = () => golden('linformer-f32.safetensors');

type ErrorClass = typeof TypeError | typeof RangeError;

/** What fn threw; fails if it returned. */
function thrown(fn: () => unknown, what: string): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  assert.fail(`${what}: nothing was thrown`);
}

/**
 * parseSafetensors(file) throws exactly `cls` with a message that starts with
 * "safetensors:" and holds every needle, or equals `exact`.
 */
function rejects(file: unknown, cls: ErrorClass, needles: (string | RegExp)[] | { exact: string }, what: string): Error {
  const e = thrown(() => parseSafetensors(file as Uint8Array), what) as Error;
  assert.ok(e instanceof Error, `${what}: threw a non-Error ${String(e)}`);
  assert.equal(e.constructor, cls, `${what}: expected ${cls.name}, got ${e.constructor.name}: ${e.message}`);
  assert.ok(e.message.startsWith('safetensors: '), `${what}: "${e.message}" does not start with "safetensors: "`);
  if (Array.isArray(needles)) {
    for (const n of needles) {
      const ok = typeof n === 'string' ? e.message.includes(n) : n.test(e.message);
      assert.ok(ok, `${what}: "${e.message}" does not name ${String(n)}`);
    }
  } else {
    assert.equal(e.message, needles.exact, what);
  }
  return e;
}

/** The golden F32 file with its header edited (re-serialised, offsets as edited). */
function editedGolden(edit: (header: Record<string, any>) => void, name = 'linformer-f32.safetensors'): Uint8Array {
  const { header, data } = splitSafetensors(golden(name));
  edit(header);
  return withHeader(header, data);
}

/** One F32 tensor 'x' of shape [4] (16 bytes) under a header entry of the caller's. */
const x16 = (entry: unknown) => withHeader({ x: entry }, f32Bytes([1, 2, 3, 4]));

// ------------------------------------------------------------------ the goldens

describe('the torch exports in tests/golden', () => {
  for (const name of GOLDEN_FILES) {
    it(`${name}: every tensor, with its shape and values, as copies; the file unchanged`, () => {
      const file = golden(name);
      const before = file.slice();
      const { header, dataStart } = splitSafetensors(file);
      const tensors = parseSafetensors(file);
      const names = Object.keys(header).filter((k) => k !== '__metadata__');
      assert.deepEqual([...tensors.keys()].sort(), names.sort());
      assert.equal(names.length, 10);
      for (const k of names) {
        const { dtype, shape, data_offsets: [b, e] } = header[k];
        const t = tensors.get(k)!;
        assert.deepEqual(t.dims, shape, k);
        assert.ok(t.data instanceof Float32Array, k);
        assert.notEqual(t.data.buffer, file.buffer, `${k} aliases the file`);
        assert.ok(sameFloats(t.data, decodeFloats(dtype, file.subarray(dataStart + b, dataStart + e))), `${k}: values`);
      }
      assert.ok(sameBytes(file, before), 'the file was modified');
    });
  }

  it('F16 and BF16 hold the F32 weights to their precision', () => {
    const f32 = parseSafetensors(F32());
    for (const [name, tol] of [['linformer-f16.safetensors', 2 ** -11], ['linformer-bf16.safetensors', 2 ** -8]] as const) {
      for (const [k, t] of parseSafetensors(golden(name))) {
        const ref = f32.get(k)!.data;
        t.data.forEach((v, i) => assert.ok(Math.abs(v - ref[i]) <= tol * Math.abs(ref[i]) + 1e-7, `${name} ${k}[${i}]: ${v} vs ${ref[i]}`));
      }
    }
  });

  it('the golden modules load them and match torch (F32, F16, BF16)', () => {
    const cases = loadGolden<GoldenCase>('safetensors.json').cases;
    assert.equal(cases.length, 3);
    for (const c of cases) {
      const [m] = buildModules(c);
      try {
        checkGoldenCall(m, c.calls[0], c.name);
      } finally {
        m.dispose();
      }
    }
  });
});

// ------------------------------------------------------------------ the rules

describe('parseSafetensors: the format rules', () => {
  it('takes bytes only: an ArrayBuffer, a SharedArrayBuffer or any view, at any offset', () => {
    for (const bad of [null, undefined, 'file', 42, {}, [0, 0, 0, 0, 0, 0, 0, 0]]) {
      rejects(bad, TypeError, ['bytes'], String(bad));
    }
    const detached = F32();
    structuredClone(detached.buffer, { transfer: [detached.buffer] });
    rejects(detached, TypeError, ['detached'], 'a view of a transferred buffer');
    rejects(detached.buffer, TypeError, ['detached'], 'a transferred buffer');
    const file = F32();
    const expected = parseSafetensors(file);
    const shared = new SharedArrayBuffer(file.length + 3);
    new Uint8Array(shared).set(file, 3);
    const odd = new Uint8Array(file.length + 1);
    odd.set(file, 1);
    const sharedBuffer = new SharedArrayBuffer(file.length);
    new Uint8Array(sharedBuffer).set(file);
    const views = {
      'an ArrayBuffer': file.buffer.slice(file.byteOffset, file.byteOffset + file.length),
      'a SharedArrayBuffer': sharedBuffer,
      'a view of shared memory at byte 3': new Uint8Array(shared, 3),
      'a Uint8Array at byte 1': odd.subarray(1),
      'a DataView at byte 1': new DataView(odd.buffer, 1),
      'a Node Buffer': Buffer.from(file),
    };
    for (const [what, v] of Object.entries(views)) {
      const got = parseSafetensors(v as ArrayBuffer);
      assert.deepEqual([...got.keys()], [...expected.keys()], what);
      for (const [k, t] of got) assert.ok(sameFloats(t.data, expected.get(k)!.data), `${what}: ${k}`);
    }
  });

  it('the 8-byte header length: at least 8 bytes of file, at most 100000000, not past the end of the file', () => {
    rejects(new Uint8Array(5), RangeError, ['5 bytes', '8'], 'a 5-byte file');
    rejects(new Uint8Array(0), RangeError, ['0 bytes'], 'an empty file');
    const file = F32();
    const withLength = (n: bigint) => {
      const f = file.slice();
      new DataView(f.buffer).setBigUint64(0, n, true);
      return f;
    };
    rejects(withLength(2n ** 64n - 1n), RangeError, { exact: 'safetensors: the header length 18446744073709551615 is over the limit of 100000000 bytes' }, '2^64 - 1');
    rejects(withLength(100_000_001n), RangeError, { exact: 'safetensors: the header length 100000001 is over the limit of 100000000 bytes' }, 'limit + 1');
    const past = BigInt(file.length - 8 + 1);
    rejects(
      withLength(past),
      RangeError,
      { exact: `safetensors: the header length ${past} runs past the end of the file: the header would end at byte ${file.length + 1}, the file ends at byte ${file.length}` },
      'one byte past the file',
    );
    // the limit itself is allowed: a header of 100000000 bytes ('{}' and padding) is read
    const big = new Uint8Array(100_000_000).fill(0x20);
    big.set([0x7b, 0x7d]);
    assert.equal(parseSafetensors(assemble(big)).size, 0);
  });

  it('the header: valid UTF-8, valid JSON, an object beginning with "{"', () => {
    rejects(assemble(''), TypeError, ["starting with '{'", 'empty'], 'an empty header');
    rejects(assemble(' {}'), TypeError, ["starting with '{'", '0x20'], 'a space before {');
    rejects(assemble('\ufeff{}'), TypeError, ["starting with '{'", '0xef'], 'a byte-order mark');
    for (const top of ['[]', 'null', '"x"', '12']) rejects(assemble(top), TypeError, ["starting with '{'"], top);
    for (const broken of ['{', '{"a":}', '{} x', '{"a":1,}', "{'a':1}", '{"a":NaN}']) {
      rejects(assemble(broken), TypeError, ['not valid JSON'], broken);
    }
    // a tensor name with a 0xff byte in it: JSON text otherwise, and a good tensor
    const head = new TextEncoder().encode(pad('{"x\u0001":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}'));
    head[head.indexOf(1)] = 0xff;
    rejects(assemble(head, f32Bytes([1, 2, 3, 4])), TypeError, ['not valid UTF-8'], 'a 0xff byte');
    // padding after the object is whitespace, as writers pad to 8 bytes
    assert.equal(parseSafetensors(assemble('{}       ')).size, 0);
    assert.equal(parseSafetensors(assemble('{}\n\t\r ')).size, 0);
  });

  it('a tensor entry is an object { dtype, shape, data_offsets }, with nothing missing and nothing else', () => {
    const good = { dtype: 'F32', shape: [4], data_offsets: [0, 16] };
    for (const entry of [null, 7, 'F32', [good]]) rejects(x16(entry), TypeError, ["tensor 'x' must be an object", JSON.stringify(entry).slice(0, 10)], String(entry));
    for (const field of ['dtype', 'shape', 'data_offsets']) {
      const entry: Record<string, unknown> = { ...good };
      delete entry[field];
      rejects(x16(entry), TypeError, { exact: `safetensors: tensor 'x' has no ${field}` }, `no ${field}`);
    }
    rejects(x16({ ...good, offset: 0 }), TypeError, ["tensor 'x'", "unknown field 'offset'"], 'an extra field');
    assert.equal(parseSafetensors(x16(good)).get('x')!.data[3], 4);
  });

  it('dtype: one of the format\'s; F32, F16 and BF16 are read, the others are a TypeError naming the tensor and dtype', () => {
    for (const dtype of ['F33', 'f32', 'float32', '', 'constructor', 'toString', '__proto__']) {
      rejects(x16({ dtype, shape: [4], data_offsets: [0, 16] }), TypeError, ["tensor 'x'", `"${dtype}"`, 'not a safetensors dtype'], dtype);
    }
    for (const dtype of [4, null, ['F32'], { F32: true }]) {
      rejects(x16({ dtype, shape: [4], data_offsets: [0, 16] }), TypeError, ["tensor 'x' dtype must be a string", JSON.stringify(dtype)], String(dtype));
    }
    // valid format dtypes this package cannot use as float weights, each with the right byte count
    const widths: Record<string, number> = { BOOL: 1, U8: 1, I8: 1, F8_E4M3: 1, I16: 2, U16: 2, I32: 4, U32: 4, F64: 8, I64: 8, U64: 8, C64: 8 };
    for (const [dtype, w] of Object.entries(widths)) {
      const file = withHeader({ w: { dtype, shape: [2, 3], data_offsets: [0, 6 * w] } }, new Uint8Array(6 * w));
      rejects(file, TypeError, { exact: `safetensors: tensor 'w' has dtype ${dtype}; only F32, F16 and BF16 tensors are read (as float32 weights)` }, dtype);
    }
    // F4 is 4 bits: two per byte, and an odd count is not a whole number of bytes
    rejects(withHeader({ w: { dtype: 'F4', shape: [4], data_offsets: [0, 2] } }, new Uint8Array(2)), TypeError, ["'w' has dtype F4"], 'F4 x 4');
    rejects(withHeader({ w: { dtype: 'F4', shape: [3], data_offsets: [0, 2] } }, new Uint8Array(2)), RangeError, ["tensor 'w' (F4, shape [3]) holds 12 bits"], 'F4 x 3');
    // the layout is checked with the dtype's own width before the dtype is refused
    rejects(withHeader({ w: { dtype: 'I64', shape: [2], data_offsets: [0, 8] } }, new Uint8Array(8)), RangeError, { exact: "safetensors: tensor 'w' (I64, shape [2]) needs 16 bytes of data, its data_offsets [0, 8] give 8" }, 'I64 short');
    const gapAfterI64 = withHeader(
      { w: { dtype: 'I64', shape: [1], data_offsets: [0, 8] }, x: { dtype: 'F32', shape: [1], data_offsets: [12, 16] } },
      new Uint8Array(16),
    );
    rejects(gapAfterI64, RangeError, ['data bytes [8, 12) belong to no tensor'], 'a gap after an I64');
    // and the three that are read
    const half = new Uint8Array([0x00, 0x3c, 0x00, 0xc0]); // F16 1, -2
    const brain = new Uint8Array([0x80, 0x3f, 0x40, 0xc0]); // BF16 1, -3
    const got = parseSafetensors(writeSafetensors({ a: { dtype: 'F16', shape: [2], bytes: half }, b: { dtype: 'BF16', shape: [2], bytes: brain }, c: f32Tensor([2]) }));
    assert.deepEqual([...got.get('a')!.data], [1, -2]);
    assert.deepEqual([...got.get('b')!.data], [1, -3]);
    assert.deepEqual([...got.get('c')!.data], [1, 2]);
  });

  it('shape: an array of non-negative safe integers; [] is a scalar and a 0 makes an empty tensor', () => {
    for (const shape of ['4', 4, null, { 0: 4 }, [1, '4'], [null], [[4]], [true]]) {
      rejects(x16({ dtype: 'F32', shape, data_offsets: [0, 16] }), TypeError, ["tensor 'x' shape must be an array of non-negative integers", JSON.stringify(shape)], JSON.stringify(shape));
    }
    for (const [shape, at, value] of [
      [[-4], 0, '-4'],
      [[2, 1.5], 1, '1.5'],
      [[2 ** 53], 0, '9007199254740992'],
      [[1, 1e21], 1, '1e+21'],
    ] as const) {
      rejects(x16({ dtype: 'F32', shape, data_offsets: [0, 16] }), RangeError, ["tensor 'x' shape", `has ${value} at index ${at}`], JSON.stringify(shape));
    }
    const scalar = parseSafetensors(withHeader({ s: { dtype: 'F32', shape: [], data_offsets: [0, 4] } }, f32Bytes([7])));
    assert.deepEqual(scalar.get('s'), { data: new Float32Array([7]), dims: [] });
    const empty = parseSafetensors(withHeader({ e: { dtype: 'F32', shape: [3, 0], data_offsets: [0, 0] } }));
    assert.deepEqual(empty.get('e'), { data: new Float32Array(0), dims: [3, 0] });
  });

  it('the element count and the byte count do not overflow 2^53 - 1', () => {
    rejects(
      withHeader({ x: { dtype: 'F32', shape: [2 ** 30, 2 ** 30, 2 ** 30], data_offsets: [0, 16] } }, new Uint8Array(16)),
      RangeError,
      ["tensor 'x' (F32, shape [1073741824, 1073741824, 1073741824])", 'element count overflows'],
      '2^90 elements',
    );
    rejects(withHeader({ x: { dtype: 'F64', shape: [2 ** 51], data_offsets: [0, 16] } }, new Uint8Array(16)), RangeError, ["tensor 'x' (F64, shape [2251799813685248])", 'overflows'], '2^51 F64');
    // 2^40 F32 elements is a count, just not one this file has the bytes for
    rejects(x16({ dtype: 'F32', shape: [2 ** 40], data_offsets: [0, 16] }), RangeError, ['needs 4398046511104 bytes of data, its data_offsets [0, 16] give 16'], '2^40 F32');
    // a zero dimension makes the tensor empty, however large the others
    assert.equal(parseSafetensors(withHeader({ x: { dtype: 'F32', shape: [2 ** 40, 2 ** 40, 0], data_offsets: [0, 0] } })).get('x')!.data.length, 0);
  });

  it('data_offsets: a pair [begin, end] of integers with 0 <= begin <= end (the issue: [-256, 0] read the header as weights)', () => {
    // The issue's file: 64 F32 weights whose offsets point back into the header.
    const issue = withHeader({ x: { dtype: 'F32', shape: [64], data_offsets: [-256, 0] } }, new Uint8Array(256));
    rejects(issue, RangeError, { exact: "safetensors: tensor 'x' data_offsets [-256, 0] begin at -256; an offset is an integer from 0 to 2^53 - 1" }, '[-256, 0]');
    rejects(x16({ dtype: 'F32', shape: [4], data_offsets: [0.5, 16.5] }), RangeError, ['begin at 0.5'], 'fractional begin');
    rejects(x16({ dtype: 'F32', shape: [4], data_offsets: [0, 16.25] }), RangeError, ['end at 16.25'], 'fractional end');
    rejects(x16({ dtype: 'F32', shape: [4], data_offsets: [0, 2 ** 53] }), RangeError, ['end at 9007199254740992'], '2^53');
    rejects(x16({ dtype: 'F32', shape: [0], data_offsets: [16, 0] }), RangeError, { exact: "safetensors: tensor 'x' data_offsets [16, 0] end before they begin" }, 'reversed');
    for (const offsets of [[0], [0, 16, 32], '0,16', null, { 0: 0, 1: 16 }, [0, '16'], [null, 16]]) {
      rejects(x16({ dtype: 'F32', shape: [4], data_offsets: offsets }), TypeError, ["tensor 'x' data_offsets must be a pair [begin, end] of integers", JSON.stringify(offsets)], JSON.stringify(offsets));
    }
  });

  it('the byte length is the element count times the dtype width', () => {
    const file = withHeader({ bias_e: { dtype: 'F32', shape: [1, 1, 4], data_offsets: [0, 12] } }, new Uint8Array(12));
    rejects(file, RangeError, { exact: "safetensors: tensor 'bias_e' (F32, shape [1, 1, 4]) needs 16 bytes of data, its data_offsets [0, 12] give 12" }, 'F32 short');
    rejects(withHeader({ h: { dtype: 'F16', shape: [3], data_offsets: [0, 8] } }, new Uint8Array(8)), RangeError, { exact: "safetensors: tensor 'h' (F16, shape [3]) needs 6 bytes of data, its data_offsets [0, 8] give 8" }, 'F16 long');
    // a golden tensor re-typed: BF16 is half the bytes of the F32 data it points at
    const retyped = editedGolden((h) => (h.bias_e.dtype = 'BF16'));
    rejects(retyped, RangeError, { exact: "safetensors: tensor 'bias_e' (BF16, shape [1, 1, 5]) needs 10 bytes of data, its data_offsets [0, 20] give 20" }, 'F32 data as BF16');
  });

  it('the tensors tile the data section: no overlap, no gap, nothing after, nothing missing (truncation)', () => {
    const data = new Uint8Array(36);
    const two = (a: [number, number], b: [number, number]) =>
      withHeader({ a: { dtype: 'F32', shape: [(a[1] - a[0]) / 4], data_offsets: a }, b: { dtype: 'F32', shape: [(b[1] - b[0]) / 4], data_offsets: b } }, data.subarray(0, Math.max(a[1], b[1])));
    rejects(two([0, 16], [8, 24]), RangeError, { exact: "safetensors: tensor 'b' data_offsets [8, 24] overlap tensor 'a' data_offsets [0, 16]" }, 'overlap');
    rejects(two([0, 16], [0, 16]), RangeError, ["tensor 'b' data_offsets [0, 16] overlap tensor 'a' data_offsets [0, 16]"], 'the same bytes twice');
    rejects(two([0, 16], [20, 36]), RangeError, { exact: "safetensors: data bytes [16, 20) belong to no tensor: tensor 'a' ends at 16, tensor 'b' begins at 20 (tensors must cover the data without gaps)" }, 'a gap');
    rejects(withHeader({ a: { dtype: 'F32', shape: [4], data_offsets: [4, 20] } }, data.subarray(0, 20)), RangeError, ['data bytes [0, 4) belong to no tensor', "'a' begins at 4"], 'a gap at the start');

    const file = F32();
    const { header, dataStart } = splitSafetensors(file);
    const [lastName, last] = Object.entries(header)
      .filter(([k]) => k !== '__metadata__')
      .sort(([, p], [, q]) => q.data_offsets[1] - p.data_offsets[1])[0] as [string, { data_offsets: number[] }];
    assert.equal(dataStart + last.data_offsets[1], file.length); // the golden is exactly tiled
    rejects(file.subarray(0, file.length - 10), RangeError, { exact: `safetensors: the file ends at byte ${file.length - 10} but tensor '${lastName}' runs to byte ${file.length} (truncated?)` }, 'truncated');
    rejects(file.subarray(0, dataStart), RangeError, [`the file ends at byte ${dataStart}`, '(truncated?)'], 'no data at all');
    rejects(concat([file, new Uint8Array(4)]), RangeError, { exact: `safetensors: the file has 4 bytes after the last tensor's data: the tensors end at byte ${file.length}, the file at byte ${file.length + 4}` }, 'trailing bytes');
    rejects(assemble(pad('{}'), new Uint8Array(1)), RangeError, ['the file has 1 byte after'], 'data without tensors');

    // the header's order is free; empty tensors sit anywhere, even at the end
    const shuffled = withHeader(
      {
        b: { dtype: 'F32', shape: [2], data_offsets: [8, 16] },
        z0: { dtype: 'F32', shape: [0], data_offsets: [0, 0] },
        a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
        z1: { dtype: 'BF16', shape: [0, 5], data_offsets: [8, 8] },
        z2: { dtype: 'F16', shape: [0], data_offsets: [16, 16] },
      },
      f32Bytes([1, 2, 3, 4]),
    );
    const got = parseSafetensors(shuffled);
    assert.deepEqual([...got.get('a')!.data], [1, 2]);
    assert.deepEqual([...got.get('b')!.data], [3, 4]);
    assert.deepEqual(['z0', 'z1', 'z2'].map((k) => got.get(k)!.data.length), [0, 0, 0]);
  });

  it('__metadata__, if present, is an object of strings', () => {
    const t = { dtype: 'F32', shape: [4], data_offsets: [0, 16] };
    for (const [meta, needles] of [
      [{ format: 5 }, ["__metadata__ 'format' must be a string", '5']],
      [{ format: 'pt', nested: { a: 'b' } }, ["__metadata__ 'nested' must be a string", '{"a":"b"}']],
      [{ a: null }, ["__metadata__ 'a' must be a string", 'null']],
      ['pt', ['__metadata__ must be an object of strings', '"pt"']],
      [null, ['__metadata__ must be an object of strings', 'null']],
      [['pt'], ['__metadata__ must be an object of strings', '["pt"]']],
    ] as const) {
      rejects(withHeader({ x: t, __metadata__: meta }, f32Bytes([1, 2, 3, 4])), TypeError, needles as unknown as string[], JSON.stringify(meta));
    }
    assert.equal(parseSafetensors(withHeader({ __metadata__: {}, x: t }, f32Bytes([1, 2, 3, 4]))).size, 1);
    assert.equal(parseSafetensors(withHeader({ __metadata__: { format: 'pt', '': '' } })).size, 0);
  });

  it('a duplicate key is an error at every level (JSON.parse would keep the last)', () => {
    const entry = (o: number) => `{"dtype":"F32","shape":[1],"data_offsets":[${o},${o + 4}]}`;
    const data = f32Bytes([1, 2]);
    const cases: [string, string][] = [
      [`{"a":${entry(0)},"a":${entry(4)}}`, "the header names tensor 'a' twice"],
      [`{"a":${entry(0)},"b":${entry(4)},"\\u0061":${entry(0)}}`, "the header names tensor 'a' twice"],
      [`{"a":{"dtype":"I32","dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, "tensor 'a' has the field 'dtype' twice"],
      [`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"__metadata__":{"k":"1","k":"2"}}`, "__metadata__ has the key 'k' twice"],
      [`{"__metadata__":{},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"__metadata__":{}}`, 'the header has __metadata__ twice'],
    ];
    for (const [text, message] of cases) rejects(assemble(pad(text), data), TypeError, { exact: `safetensors: ${message}` }, text);
    // equal keys in different objects are fine, and so is a tensor named like a field
    const ok = `{"dtype":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"shape":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},"__metadata__":{"dtype":"x"}}`;
    assert.deepEqual([...parseSafetensors(assemble(pad(ok), data)).keys()], ['dtype', 'shape']);
  });

  it('shape and data_offsets are written in plain digits: 4.0, 1.6e1 and -0 are not integers of the format', () => {
    for (const [text, literal, field] of [
      ['{"x":{"dtype":"F32","shape":[4.0],"data_offsets":[0,16]}}', '4.0', 'shape'],
      ['{"x":{"dtype":"F32","shape":[4],"data_offsets":[0,1.6e1]}}', '1.6e1', 'data_offsets'],
      ['{"x":{"dtype":"F32","shape":[4],"data_offsets":[0,16E0]}}', '16E0', 'data_offsets'],
      ['{"x":{"dtype":"F32","shape":[4],"data_offsets":[-0,16]}}', '-0', 'data_offsets'],
    ]) {
      rejects(assemble(pad(text), f32Bytes([1, 2, 3, 4])), RangeError, { exact: `safetensors: tensor 'x' ${field} has the number ${literal}; shape and data_offsets are written in plain digits (no sign, fraction or exponent)` }, text);
    }
  });

  it('the file is never modified and the tensors never alias it', () => {
    for (const name of GOLDEN_FILES) {
      const file = golden(name);
      const before = file.slice();
      const first = parseSafetensors(file);
      for (const t of first.values()) {
        assert.notEqual(t.data.buffer, file.buffer);
        t.data.fill(123);
        (t.dims as number[]).push(9);
      }
      assert.ok(sameBytes(file, before), `${name} was modified`);
      for (const [k, t] of parseSafetensors(file)) assert.ok(t.data[0] !== 123 && t.dims.at(-1) !== 9, `${name} ${k}`);
    }
  });
});

// ------------------------------------------------------------------ through loadStateDict

describe('loadStateDict(bad .safetensors bytes)', () => {
  const GOLDEN = loadGolden<GoldenCase>('safetensors.json').cases;
  const bits = (a: Float32Array) => new Uint8Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength));

  /** The golden F32 file with edits, each with the error parseSafetensors gives for it. */
  const bad: [string, () => Uint8Array, ErrorClass][] = [
    ['negative offsets: bias_e at [-20, 0] (the header bytes)', () => editedGolden((h) => (h.bias_e.data_offsets = [-20, 0])), RangeError],
    ['f_proj_weight on e_proj_weight\'s bytes', () => editedGolden((h) => (h.f_proj_weight.data_offsets = h.e_proj_weight.data_offsets)), RangeError],
    ['fractional offsets', () => editedGolden((h) => (h.bias_k.data_offsets = [40.5, 104.5])), RangeError],
    ['truncated by 10 bytes', () => F32().subarray(0, -10), RangeError],
    ['bias_e as I32 (20 bytes: its layout holds)', () => editedGolden((h) => (h.bias_e.dtype = 'I32')), TypeError],
    ['a shape entry a string', () => editedGolden((h) => (h.in_proj_bias.shape = ['48'])), TypeError],
    ['entry null', () => editedGolden((h) => (h.bias_v = null)), TypeError],
    ['__metadata__ with a number', () => editedGolden((h) => (h.__metadata__.format = 1)), TypeError],
    ['header length past the file', () => {
      const f = F32();
      new DataView(f.buffer).setBigUint64(0, BigInt(f.length), true);
      return f;
    }, RangeError],
  ];

  it('throws what parseSafetensors throws, and the module keeps its weights: stateDict() and forward() bit for bit', () => {
    const [c16, c32] = [GOLDEN.find((c) => c.name.endsWith('f16'))!, GOLDEN.find((c) => c.name.endsWith('f32'))!];
    const [m] = buildModules(c16) as LinearMultiheadAttention[];
    try {
      const { query, key, value, options } = callInputs(c16.calls[0]);
      const sd0 = m.stateDict();
      const out0 = m.forward(query, key, value, options);
      for (const [what, make, cls] of bad) {
        const file = make();
        const copy = file.slice();
        const direct = rejects(file, cls, [], what);
        const viaModule = thrown(() => m.loadStateDict(file), what) as Error;
        assert.equal(viaModule.constructor, direct.constructor, what);
        assert.equal(viaModule.message, direct.message, what);
        assert.ok(sameBytes(file, copy), `${what}: the file was modified`);
        const sd = m.stateDict();
        assert.deepEqual(Object.keys(sd), Object.keys(sd0));
        for (const [k, t] of Object.entries(sd)) {
          assert.deepEqual(t.dims, sd0[k].dims, `${what}: ${k} dims`);
          assert.ok(sameBytes(bits(t.data), bits(sd0[k].data)), `${what}: ${k} changed`);
        }
        const out = m.forward(query, key, value, options);
        assert.ok(sameBytes(bits(out.output.data), bits(out0.output.data)), `${what}: output changed`);
        assert.ok(sameBytes(bits(out.weights!.data), bits(out0.weights!.data)), `${what}: weights changed`);
      }
      // and a good file still loads into it: the F32 export gives torch's F32 answer
      m.loadStateDict(F32());
      checkGoldenCall(m, c32.calls[0], 'F32 after the bad files');
    } finally {
      m.dispose();
    }
  });
});

// ------------------------------------------------------------------ fuzzing

describe('fuzzing (short run; the long one is scripts/fuzz-safetensors.mjs)', () => {
  it('mutated golden files parse to tensors inside the data section or fail with a safetensors: TypeError/RangeError', { timeout: 120_000 }, (t) => {
    const seed = process.env.SAFETENSORS_FUZZ_SEED ? Number(process.env.SAFETENSORS_FUZZ_SEED) : Date.now() % 2 ** 31;
    const runs = Number(process.env.SAFETENSORS_FUZZ_RUNS ?? 3000);
    t.diagnostic(`fuzz seed ${seed} (SAFETENSORS_FUZZ_SEED=${seed} repeats it), ${runs} runs`);
    const r = fuzzSafetensors({ runs, seed });
    t.diagnostic(`${r.runs} runs: ${r.parsed} parsed (${r.loaded} loaded, ${r.loadRejected} refused by loadStateDict), ${r.rejected} rejected, ${r.ms.toFixed(0)} ms, slowest parse ${r.slowestMs.toFixed(2)} ms`);
    assert.deepEqual(r.failures, [], `seed ${seed}`);
    assert.equal(r.runs, runs);
    // both outcomes are exercised, and loading too
    assert.ok(r.parsed > runs / 20 && r.rejected > runs / 4, `parsed ${r.parsed}, rejected ${r.rejected}`);
    assert.ok(r.loaded > 0 && r.loadRejected > 0, `loaded ${r.loaded}, refused ${r.loadRejected}`);
  });
});
