// .safetensors bytes for the tests: well-formed files from tensors, any
// header text (well-formed or not) in front of any data, and a trusting
// reader and float decoder of their own, so that the tests check
// parseSafetensors against code that shares nothing with it.

export interface RawTensor {
  dtype: string;
  shape: number[];
  bytes: Uint8Array;
}

const encoder = new TextEncoder();

/** Pads header text with spaces so the data starts 8-aligned, as writers do. */
export function pad(text: string): string {
  const n = encoder.encode(text).length;
  return text + ' '.repeat((8 - (n % 8)) % 8);
}

/** 8-byte little-endian header length (default: the header's byte length), header bytes, data. */
export function assemble(header: string | Uint8Array, data: Uint8Array = new Uint8Array(0), headerLength?: bigint): Uint8Array<ArrayBuffer> {
  const h = typeof header === 'string' ? encoder.encode(header) : header;
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, headerLength ?? BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

/** A header object (JSON.stringify order) padded, then the data. */
export function withHeader(header: unknown, data: Uint8Array = new Uint8Array(0)): Uint8Array<ArrayBuffer> {
  return assemble(pad(JSON.stringify(header)), data);
}

/** A well-formed file: tensors in the given order, offsets consecutive from 0. */
export function writeSafetensors(tensors: Record<string, RawTensor>, metadata?: Record<string, string>): Uint8Array<ArrayBuffer> {
  const header: Record<string, unknown> = {};
  const parts: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.bytes.length] };
    parts.push(t.bytes);
    offset += t.bytes.length;
  }
  if (metadata) header.__metadata__ = metadata;
  return withHeader(header, concat(parts));
}

export function concat(parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Little-endian F32 bytes. */
export function f32Bytes(values: ArrayLike<number>): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(4 * values.length);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(4 * i, values[i], true);
  return out;
}

/** An F32 tensor holding 1, 2, 3, … */
export function f32Tensor(shape: number[]): RawTensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return { dtype: 'F32', shape, bytes: f32Bytes(Array.from({ length: n }, (_, i) => i + 1)) };
}

export interface SplitFile {
  headerLength: number;
  headerText: string;
  header: Record<string, any>;
  dataStart: number;
  data: Uint8Array;
}

/** Reads a file's parts trusting it (for files known to be good). */
export function splitSafetensors(file: Uint8Array): SplitFile {
  const headerLength = Number(new DataView(file.buffer, file.byteOffset, 8).getBigUint64(0, true));
  const headerText = new TextDecoder().decode(file.subarray(8, 8 + headerLength));
  return { headerLength, headerText, header: JSON.parse(headerText), dataStart: 8 + headerLength, data: file.subarray(8 + headerLength) };
}

/** IEEE half bits → float32 bits, by moving exponent and mantissa (subnormals renormalised). */
function halfBitsToFloatBits(h: number): number {
  const sign = (h & 0x8000) << 16;
  let exp = (h >> 10) & 0x1f;
  let man = h & 0x3ff;
  if (exp === 0x1f) return sign | 0x7f800000 | (man << 13);
  if (exp === 0) {
    if (man === 0) return sign;
    exp = 1;
    while (!(man & 0x400)) {
      man <<= 1;
      exp--;
    }
    man &= 0x3ff;
  }
  return sign | ((exp + 112) << 23) | (man << 13);
}

/** The float32 values of F32, F16 or BF16 bytes. */
export function decodeFloats(dtype: string, bytes: Uint8Array): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const scratch = new DataView(new ArrayBuffer(4));
  const width = dtype === 'F32' ? 4 : 2;
  const out = new Float32Array(bytes.length / width);
  for (let i = 0; i < out.length; i++) {
    if (dtype === 'F32') {
      out[i] = view.getFloat32(4 * i, true);
      continue;
    }
    const h = view.getUint16(2 * i, true);
    scratch.setUint32(0, dtype === 'F16' ? halfBitsToFloatBits(h) >>> 0 : (h << 16) >>> 0);
    out[i] = scratch.getFloat32(0);
  }
  return out;
}

/** Equal element by element, -0 apart from 0 and NaN equal to NaN. */
export function sameFloats(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}
