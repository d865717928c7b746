import type { OutputTensor } from '../core/tensor.js';

// Reads the safetensors format (an 8-byte little-endian header length, a JSON
// header of { name: { dtype, shape, data_offsets } }, then the raw data) into
// float32 tensors. F32 is copied; F16 and BF16 are widened on load. The
// format is small enough that a dependency would cost more than it saves.

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

const WIDTH: Record<string, number> = { F32: 4, F16: 2, BF16: 2 };

/** Parses a .safetensors file into float32 tensors, keyed by name. */
export function parseSafetensors(file: ArrayBuffer | ArrayBufferView): Map<string, OutputTensor> {
  const bytes =
    file instanceof ArrayBuffer ? new Uint8Array(file) : new Uint8Array(file.buffer, file.byteOffset, file.byteLength);
  if (bytes.length < 8) throw new RangeError(`safetensors: file of ${bytes.length} bytes is too short`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  if (8 + headerLength > bytes.length) {
    throw new RangeError(`safetensors: header length ${headerLength} runs past the file (${bytes.length} bytes)`);
  }
  let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
  } catch (e) {
    throw new TypeError(`safetensors: header is not JSON (${(e as Error).message})`);
  }
  const dataStart = 8 + headerLength;
  const out = new Map<string, OutputTensor>();
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const width = WIDTH[entry.dtype];
    if (!width) throw new TypeError(`safetensors: tensor '${name}' has dtype ${entry.dtype}; expected F32, F16 or BF16`);
    const count = entry.shape.reduce((a, b) => a * b, 1);
    const [begin, end] = entry.data_offsets;
    if (end - begin !== count * width || dataStart + end > bytes.length) {
      throw new RangeError(
        `safetensors: tensor '${name}' (${entry.dtype}, shape [${entry.shape}]) has ${end - begin} bytes of data, expected ${count * width}`,
      );
    }
    const raw = bytes.subarray(dataStart + begin, dataStart + end);
    let data: Float32Array;
    if (entry.dtype === 'F32') {
      data = new Float32Array(count);
      new Uint8Array(data.buffer).set(raw);
    } else if (entry.dtype === 'F16') {
      data = f16ToF32(raw, count);
    } else {
      data = bf16ToF32(raw, count);
    }
    out.set(name, { data, dims: entry.shape.slice() });
  }
  return out;
}
