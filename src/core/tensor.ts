import { describe, describeDims, shapeError, shapeStr, typeError } from './errors.js';

/**
 * The data a tensor library's tensor may hold, as onnxruntime-web and
 * transformers.js type it: any typed array (any ArrayBufferView), or a plain
 * array (their string and boolean tensors).
 */
export type TensorData = ArrayBufferView | readonly (number | bigint | string | boolean)[];

/**
 * What the inputs accept: `{ data, dims }`, dense and row-major, such as an
 * onnxruntime-web or transformers.js `Tensor`. Their `data` is typed as a
 * union of every element type, so any {@link TensorData} type-checks here;
 * at run time `data` must be a `Float32Array` (a mask's may also be a
 * `Uint8Array`), and anything else is a `TypeError` naming the argument.
 */
export interface TensorLike {
  readonly data: TensorData;
  readonly dims: readonly number[];
}

/**
 * A dense row-major float32 tensor: the data every input must hold at run
 * time, and the shape of onnxruntime-web's and transformers.js's float32
 * tensors.
 */
export interface Tensor extends TensorLike {
  readonly data: Float32Array;
  readonly dims: readonly number[];
}

/**
 * A mask: `Uint8Array` data is boolean (non-zero = masked out),
 * `Float32Array` data is added to the attention scores.
 */
export interface MaskTensor extends TensorLike {
  readonly data: Uint8Array | Float32Array;
  readonly dims: readonly number[];
}

/** The tensors this package returns: always float32, with dims a fresh array. */
export interface OutputTensor extends Tensor {
  readonly data: Float32Array;
  readonly dims: number[];
}

export function product(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

export function makeTensor(data: Float32Array, dims: number[]): OutputTensor {
  return { data, dims };
}

function checkDims(arg: string, dims: unknown): readonly number[] {
  const expected = 'an array of non-negative integers';
  if (!Array.isArray(dims) && !(ArrayBuffer.isView(dims) && !(dims instanceof DataView))) {
    throw new TypeError(`${arg}.dims: expected ${expected}, got ${describeDims(dims)}`);
  }
  const list = Array.from(dims as ArrayLike<unknown>);
  list.forEach((d, i) => {
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 0) {
      throw new TypeError(`${arg}.dims: expected ${expected}, got ${describeDims(dims)} (entry ${i} is ${describe(d)})`);
    }
  });
  return list as number[];
}

/** Checks `{ data: Float32Array, dims }` with data.length = ∏dims; returns its dims. */
export function checkTensor(arg: string, t: unknown): readonly number[] {
  if (t === null || typeof t !== 'object') throw typeError(arg, 'a tensor { data: Float32Array, dims }', t);
  const { data, dims } = t as { data: unknown; dims: unknown };
  if (!(data instanceof Float32Array)) throw typeError(`${arg}.data`, 'Float32Array', data);
  const d = checkDims(arg, dims);
  if (data.length !== product(d)) {
    throw new RangeError(`${arg}: data length ${data.length} does not match dims ${shapeStr(d)} (${product(d)} elements)`);
  }
  return d;
}

/** Checks a mask tensor; returns its dims and whether it is boolean. */
export function checkMask(arg: string, t: unknown): { dims: readonly number[]; boolean: boolean } {
  if (t === null || typeof t !== 'object') throw typeError(arg, 'a mask { data: Uint8Array | Float32Array, dims }', t);
  const { data, dims } = t as { data: unknown; dims: unknown };
  if (!(data instanceof Uint8Array) && !(data instanceof Float32Array)) {
    throw typeError(`${arg}.data`, 'Uint8Array (boolean mask) or Float32Array (additive mask)', data);
  }
  const d = checkDims(arg, dims);
  if (data.length !== product(d)) {
    throw new RangeError(`${arg}: data length ${data.length} does not match dims ${shapeStr(d)} (${product(d)} elements)`);
  }
  return { dims: d, boolean: data instanceof Uint8Array };
}

/** Throws unless dims equal one of the expected shapes (given as arrays). */
export function expectShape(arg: string, dims: readonly number[], ...expected: (readonly number[])[]): void {
  for (const e of expected) {
    if (e.length === dims.length && e.every((v, i) => v === dims[i])) return;
  }
  throw shapeError(arg, expected.map(shapeStr).join(' or '), dims);
}

/** Throws a RangeError if any element is NaN or ±Infinity. */
export function checkFinite(arg: string, data: Float32Array): void {
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) {
      throw new RangeError(`${arg}: element ${i} is ${data[i]}; weights must be finite`);
    }
  }
}
