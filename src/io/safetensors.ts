import type { OutputTensor } from '../core/tensor.js';

// Reads the safetensors format (an 8-byte little-endian header length, a JSON
// header of { name: { dtype, shape, data_offsets }, __metadata__? }, then the
// raw data) into float32 tensors. F32 is copied; F16 and BF16 are widened on
// load. The format is small enough that a dependency would cost more than it
// saves.
//
// The reader trusts nothing in the file. It applies the format's rules as the
// reference reader (huggingface/safetensors) does: a header of at most 100 MB
// that is a UTF-8 JSON object starting with '{', no duplicate keys, known
// dtypes, shapes of non-negative integers, and data_offsets that tile the data
// section exactly (sorted by begin, from 0 to the end of the file, with no gap,
// no overlap and nothing after) with each tensor's byte length equal to its
// element count times its dtype's width. Every violation is a TypeError (the
// wrong kind of thing) or a RangeError (a number out of range) whose message
// starts with "safetensors:". Stricter than the reference: unknown fields in a
// tensor entry and a null __metadata__ are errors, not ignored.
//
// Tensors of dtypes the format defines but this package cannot use as float
// weights (I64, U8, BOOL, F64, …) are errors at parse time, after the whole
// layout has been checked: the result promises Float32Array data for every
// entry, and leaving a tensor out would turn "wrong dtype" into a misleading
// "missing key" in loadStateDict.

/** The reference reader's limit on the header length. */
const MAX_HEADER_BYTES = 100_000_000;

/** Bits per element of every dtype the format defines. */
const DTYPE_BITS: ReadonlyMap<string, number> = new Map([
  ['BOOL', 8],
  ['F4', 4],
  ['F6_E2M3', 6],
  ['F6_E3M2', 6],
  ['U8', 8],
  ['I8', 8],
  ['F8_E5M2', 8],
  ['F8_E4M3', 8],
  ['F8_E8M0', 8],
  ['F8_E4M3FNUZ', 8],
  ['F8_E5M2FNUZ', 8],
  ['I16', 16],
  ['U16', 16],
  ['F16', 16],
  ['BF16', 16],
  ['I32', 32],
  ['U32', 32],
  ['F32', 32],
  ['C64', 64],
  ['F64', 64],
  ['I64', 64],
  ['U64', 64],
]);

const READABLE = new Set(['F32', 'F16', 'BF16']);
const FIELDS = new Set(['dtype', 'shape', 'data_offsets']);
const MAX_HEADER_BIG = BigInt(MAX_HEADER_BYTES);
const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

const F16_TABLE_SIZE = 1 << 16;
let f16Table: Float32Array | null = null;

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

function f16ToF32(bytes: Uint8Array, count: number): Float32Array {
  if (!f16Table) {
    f16Table = new Float32Array(F16_TABLE_SIZE);
    for (let h = 0; h < F16_TABLE_SIZE; h++) f16Table[h] = halfToFloat(h);
  }
  const out = new Float32Array(count);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < count; i++) out[i] = f16Table[view.getUint16(2 * i, true)];
  return out;
}

function bf16ToF32(bytes: Uint8Array, count: number): Float32Array {
  const bits = new Uint32Array(count);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < count; i++) bits[i] = view.getUint16(2 * i, true) << 16;
  return new Float32Array(bits.buffer);
}

// ------------------------------------------------------------------ messages

/** Names and values from the file can be any length; messages show the start. */
function clip(s: string, max = 100): string {
  return s.length <= max ? s : `${s.slice(0, max)}…`;
}

const q = (name: string) => `'${clip(name)}'`;

/** A value from the parsed header as JSON (it always has a JSON form). */
function show(v: unknown): string {
  return v === undefined ? 'nothing' : clip(JSON.stringify(v), 80);
}

function shapeText(shape: readonly number[]): string {
  return shape.length > 16 ? `[${shape.slice(0, 16).join(', ')}, … (${shape.length} dims)]` : `[${shape.join(', ')}]`;
}

function fail<C extends typeof TypeError | typeof RangeError>(cls: C, message: string): InstanceType<C> {
  return new cls(`safetensors: ${message}`) as InstanceType<C>;
}

// ------------------------------------------------------------------ the header

interface Entry {
  name: string;
  dtype: string;
  shape: number[];
  count: number;
  begin: number;
  end: number;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const isOffset = (v: number) => Number.isSafeInteger(v) && v >= 0;

function checkMetadata(v: unknown): void {
  if (!isObject(v)) throw fail(TypeError, `__metadata__ must be an object of strings, found ${show(v)}`);
  for (const [k, s] of Object.entries(v)) {
    if (typeof s !== 'string') throw fail(TypeError, `__metadata__ ${q(k)} must be a string, found ${show(s)}`);
  }
}

/** A tensor as messages describe it (built only for a message). */
function what(t: string, dtype: string, dims: readonly number[]): string {
  return `${t} (${dtype}, shape ${shapeText(dims)})`;
}

function checkEntry(name: string, v: unknown): Entry {
  const t = `tensor ${q(name)}`;
  if (!isObject(v)) throw fail(TypeError, `${t} must be an object { dtype, shape, data_offsets }, found ${show(v)}`);
  for (const k of Object.keys(v)) {
    if (!FIELDS.has(k)) throw fail(TypeError, `${t} has the unknown field ${q(k)}; a tensor has only dtype, shape and data_offsets`);
  }
  for (const k of FIELDS) if (!Object.hasOwn(v, k)) throw fail(TypeError, `${t} has no ${k}`);

  const { dtype, shape, data_offsets: offsets } = v;
  if (typeof dtype !== 'string') throw fail(TypeError, `${t} dtype must be a string such as "F32", found ${show(dtype)}`);
  const bits = DTYPE_BITS.get(dtype);
  if (bits === undefined) {
    throw fail(TypeError, `${t} has dtype ${show(dtype)}, which is not a safetensors dtype (${[...DTYPE_BITS.keys()].join(', ')})`);
  }

  if (!Array.isArray(shape)) throw fail(TypeError, `${t} shape must be an array of non-negative integers, found ${show(shape)}`);
  for (const d of shape) {
    if (typeof d !== 'number') throw fail(TypeError, `${t} shape must be an array of non-negative integers, found ${show(shape)}`);
  }
  const dims = shape as number[];
  for (let i = 0; i < dims.length; i++) {
    if (!isOffset(dims[i])) {
      throw fail(RangeError, `${t} shape ${shapeText(dims)} has ${dims[i]} at index ${i}; a dimension is an integer from 0 to 2^53 - 1`);
    }
  }

  if (!Array.isArray(offsets) || offsets.length !== 2 || typeof offsets[0] !== 'number' || typeof offsets[1] !== 'number') {
    throw fail(TypeError, `${t} data_offsets must be a pair [begin, end] of integers, found ${show(offsets)}`);
  }
  const [begin, end] = offsets as [number, number];
  if (!isOffset(begin) || !isOffset(end)) {
    const [which, o] = isOffset(begin) ? ['end', end] : ['begin', begin];
    throw fail(RangeError, `${t} data_offsets [${begin}, ${end}] ${which} at ${o}; an offset is an integer from 0 to 2^53 - 1`);
  }
  if (begin > end) throw fail(RangeError, `${t} data_offsets [${begin}, ${end}] end before they begin`);

  // The element count, checked against overflow at each step (a zero
  // anywhere makes it 0, whatever the other dims). A product of two safe
  // integers is exact up to 2^53 and rounds to at least 2^53 beyond, so
  // comparing the rounded product is an exact test.
  let count = dims.includes(0) ? 0 : 1;
  if (count) {
    for (const d of dims) {
      count *= d;
      if (count > MAX_SAFE) throw fail(RangeError, `${what(t, dtype, dims)} has more than 2^53 - 1 elements (its element count overflows)`);
    }
  }
  const nbits = count * bits;
  if (nbits > MAX_SAFE) throw fail(RangeError, `${what(t, dtype, dims)} is too large: its size in bits overflows 2^53 - 1`);
  if (nbits % 8) throw fail(RangeError, `${what(t, dtype, dims)} holds ${nbits} bits, not a whole number of bytes`);
  const nbytes = nbits / 8;
  if (end - begin !== nbytes) {
    throw fail(RangeError, `${what(t, dtype, dims)} needs ${nbytes} bytes of data, its data_offsets [${begin}, ${end}] give ${end - begin}`);
  }
  return { name, dtype, shape: dims, count, begin, end };
}

function byOffsets(a: Entry, b: Entry): number {
  return a.begin - b.begin || a.end - b.end;
}

/** Where scanHeader found a number not written in plain digits. */
interface OddNumber {
  path: string[];
  literal: string;
}

/**
 * JSON.parse keeps the last of two equal keys, and reads 4.0, 4e0 and -0 as
 * integers. The format forbids duplicate keys and the reference reader takes
 * only plain digits for shapes and offsets. One pass over the header text,
 * already known to be valid JSON, finds both: it throws on a duplicate key and
 * returns the first odd number, reported once the clearer checks have run.
 */
function scanHeader(text: string): OddNumber | null {
  // One frame per open object; an open array is a null frame.
  const frames: (KeyFrame | null)[] = [];
  let top: KeyFrame | null = null;
  let odd: OddNumber | null = null;
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x7b /* { */) {
      top = { keys: new Set(), key: '', expectKey: true };
      frames.push(top);
      i++;
    } else if (c === 0x5b /* [ */) {
      top = null;
      frames.push(null);
      i++;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      frames.pop();
      top = frames.length ? frames[frames.length - 1] : null;
      i++;
    } else if (c === 0x2c /* , */) {
      if (top) top.expectKey = true;
      i++;
    } else if (c === 0x22 /* " */) {
      // The closing quote is the first one after an even run of backslashes.
      let j = text.indexOf('"', i + 1);
      for (;;) {
        let k = j - 1;
        while (text.charCodeAt(k) === 0x5c) k--;
        if ((j - 1 - k) % 2 === 0) break;
        j = text.indexOf('"', j + 1);
      }
      if (top && top.expectKey) {
        const raw = text.slice(i + 1, j);
        const key: string = raw.includes('\\') ? JSON.parse(text.slice(i, j + 1)) : raw;
        if (top.keys.has(key)) throw duplicateKey(framePath(frames), frames.length, key);
        top.keys.add(key);
        top.key = key;
        top.expectKey = false;
      }
      i = j + 1;
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      let j = i;
      let plain = true;
      for (;;) {
        const d = text.charCodeAt(j);
        if (d >= 0x30 && d <= 0x39) j++;
        else if (d === 0x2d || d === 0x2b || d === 0x2e || d === 0x65 || d === 0x45) {
          plain = false;
          j++;
        } else break;
      }
      if (!plain && !odd) odd = { path: framePath(frames), literal: text.slice(i, j) };
      i = j;
    } else {
      i++; // whitespace, ':', and the letters of true, false and null
    }
  }
  return odd;
}

interface KeyFrame {
  keys: Set<string>;
  /** The key whose value is being read. */
  key: string;
  expectKey: boolean;
}

/** The keys leading to the current value, outermost first. */
function framePath(frames: readonly (KeyFrame | null)[]): string[] {
  const path: string[] = [];
  for (const f of frames) if (f) path.push(f.key);
  return path;
}

function duplicateKey(path: string[], depth: number, key: string): TypeError {
  if (depth === 1) {
    return fail(TypeError, key === '__metadata__' ? 'the header has __metadata__ twice' : `the header names tensor ${q(key)} twice`);
  }
  if (depth === 2 && path[0] === '__metadata__') return fail(TypeError, `__metadata__ has the key ${q(key)} twice`);
  if (depth === 2) return fail(TypeError, `tensor ${q(path[0])} has the field ${q(key)} twice`);
  return fail(TypeError, `the header has the key ${q(key)} twice, in ${path.map(q).join(' → ')}`);
}

// ------------------------------------------------------------------ the file

function fileBytes(file: unknown): Uint8Array {
  const view = ArrayBuffer.isView(file);
  const tag = Object.prototype.toString.call(file);
  if (!view && tag !== '[object ArrayBuffer]' && tag !== '[object SharedArrayBuffer]') {
    const found = file === null ? 'null' : typeof file === 'object' ? tag.slice(8, -1) : typeof file;
    throw fail(TypeError, `expected the bytes of a file (an ArrayBuffer or a typed array), found ${found}`);
  }
  try {
    return view ? new Uint8Array(file.buffer, file.byteOffset, file.byteLength) : new Uint8Array(file as ArrayBuffer);
  } catch {
    // a buffer handed to another thread (transferred) can no longer be read
    throw fail(TypeError, 'the file\'s ArrayBuffer is detached (transferred away); it has no bytes to read');
  }
}

/**
 * Parses a .safetensors file into float32 tensors, keyed by name. F32, F16
 * and BF16 tensors are read (the halves widened); a file that breaks any rule
 * of the format, or holds another dtype, is a TypeError or RangeError whose
 * message starts with "safetensors:". The returned tensors are copies: the
 * file's bytes are neither kept nor changed.
 */
export function parseSafetensors(file: ArrayBuffer | ArrayBufferView): Map<string, OutputTensor> {
  const bytes = fileBytes(file);
  const size = bytes.length;
  if (size < 8) throw fail(RangeError, `the file is ${size} bytes; it needs at least 8, for the header length`);
  const n = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (n > MAX_HEADER_BIG) throw fail(RangeError, `the header length ${n} is over the limit of ${MAX_HEADER_BYTES} bytes`);
  const headerLength = Number(n);
  const dataStart = 8 + headerLength;
  if (dataStart > size) {
    throw fail(RangeError, `the header length ${headerLength} runs past the end of the file: the header would end at byte ${dataStart}, the file ends at byte ${size}`);
  }
  if (headerLength === 0 || bytes[8] !== 0x7b) {
    const first = headerLength === 0 ? 'is empty' : `starts with byte 0x${bytes[8].toString(16).padStart(2, '0')}`;
    throw fail(TypeError, `the header must be a JSON object, starting with '{'; it ${first}`);
  }

  let text: string;
  try {
    // TextDecoder refuses views of shared memory: those are copied first.
    const shared = typeof SharedArrayBuffer !== 'undefined' && bytes.buffer instanceof SharedArrayBuffer;
    text = utf8.decode(shared ? bytes.slice(8, dataStart) : bytes.subarray(8, dataStart));
  } catch {
    throw fail(TypeError, `the header (bytes 8 to ${dataStart}) is not valid UTF-8`);
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    throw fail(TypeError, `the header is not valid JSON (${clip(String((e as Error).message), 200)})`);
  }
  if (!isObject(header)) throw fail(TypeError, `the header must be a JSON object, found ${show(header)}`);
  const odd = scanHeader(text);

  const entries: Entry[] = [];
  for (const [name, v] of Object.entries(header)) {
    if (name === '__metadata__') checkMetadata(v);
    else entries.push(checkEntry(name, v));
  }
  if (odd) {
    const [name, field] = odd.path;
    const where = name !== undefined && field !== undefined && name !== '__metadata__' ? `tensor ${q(name)} ${field}` : 'the header';
    throw fail(RangeError, `${where} has the number ${clip(odd.literal, 40)}; shape and data_offsets are written in plain digits (no sign, fraction or exponent)`);
  }

  // Sorted by begin, the tensors must tile [0, data length) exactly.
  const sorted = entries.slice().sort(byOffsets);
  let cursor = 0;
  let prev: Entry | null = null;
  for (const e of sorted) {
    if (e.begin < cursor) {
      throw fail(RangeError, `tensor ${q(e.name)} data_offsets [${e.begin}, ${e.end}] overlap tensor ${q(prev!.name)} data_offsets [${prev!.begin}, ${prev!.end}]`);
    }
    if (e.begin > cursor) {
      const before = prev ? `tensor ${q(prev.name)} ends at ${cursor}` : 'the data starts at 0';
      throw fail(RangeError, `data bytes [${cursor}, ${e.begin}) belong to no tensor: ${before}, tensor ${q(e.name)} begins at ${e.begin} (tensors must cover the data without gaps)`);
    }
    cursor = e.end;
    prev = e;
  }
  const dataLength = size - dataStart;
  if (cursor > dataLength) {
    const past = sorted.find((e) => e.end > dataLength)!;
    throw fail(RangeError, `the file ends at byte ${size} but tensor ${q(past.name)} runs to byte ${dataStart + past.end} (truncated?)`);
  }
  if (cursor < dataLength) {
    const extra = dataLength - cursor;
    throw fail(RangeError, `the file has ${extra} byte${extra === 1 ? '' : 's'} after the last tensor's data: the tensors end at byte ${dataStart + cursor}, the file at byte ${size}`);
  }

  for (const e of entries) {
    if (!READABLE.has(e.dtype)) {
      throw fail(TypeError, `tensor ${q(e.name)} has dtype ${e.dtype}; only F32, F16 and BF16 tensors are read (as float32 weights)`);
    }
  }

  const out = new Map<string, OutputTensor>();
  for (const e of entries) {
    const raw = bytes.subarray(dataStart + e.begin, dataStart + e.end);
    let data: Float32Array;
    if (e.dtype === 'F32') {
      data = new Float32Array(raw.slice().buffer); // a copy, 4-aligned at 0 whatever the file's alignment
    } else if (e.dtype === 'F16') {
      data = f16ToF32(raw, e.count);
    } else {
      data = bf16ToF32(raw, e.count);
    }
    out.set(e.name, { data, dims: e.shape.slice() });
  }
  return out;
}
