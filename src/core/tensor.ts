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

/**
 * What a call read of a tensor argument: `data` as a plain fixed-length
 * Float32Array over the caller's memory, and a copy of `dims`. Each is read
 * from the argument once (a getter or Proxy runs once), checked, and only
 * this is used afterwards, so nothing the caller's objects do later can
 * change the sizes the call planned with.
 */
export interface TensorView {
  readonly data: Float32Array;
  readonly dims: readonly number[];
  /** `data` as the caller gave it, for an output written in place (ops.matmul's out). */
  readonly given: Float32Array;
}

/** What a call read of a mask argument (see TensorView); `boolean` for Uint8Array data. */
export interface MaskView {
  readonly data: Uint8Array | Float32Array;
  readonly dims: readonly number[];
  readonly boolean: boolean;
}

// The typed-array accessors themselves: a subclass may override `length`
// and friends on its own prototype, these cannot be.
const TypedArrayPrototype = Object.getPrototypeOf(Uint8Array.prototype) as object;
const intrinsic = (name: string) => Object.getOwnPropertyDescriptor(TypedArrayPrototype, name)!.get!;
const lengthOf = intrinsic('length') as (this: ArrayBufferView) => number;
const bufferOf = intrinsic('buffer') as (this: ArrayBufferView) => ArrayBufferLike;
const byteOffsetOf = intrinsic('byteOffset') as (this: ArrayBufferView) => number;

/** A plain view of exactly the elements `a` has now, whatever `a` is a subclass of or tracks. */
function fixedView<T extends Float32Array | Uint8Array>(a: T): T {
  const View = (a instanceof Float32Array ? Float32Array : Uint8Array) as unknown as new (b: ArrayBufferLike, o: number, n: number) => T;
  return new View(bufferOf.call(a), byteOffsetOf.call(a), lengthOf.call(a));
}

/** Reads `{ data, dims }` off `t`, each once; `data` must pass `isData`. */
function readOnce(arg: string, t: unknown, what: string): { data: unknown; dims: readonly number[] } {
  if (t === null || typeof t !== 'object') throw typeError(arg, what, t);
  const data = (t as { data: unknown }).data;
  const dims = checkDims(arg, (t as { dims: unknown }).dims);
  return { data, dims };
}

function checkLength(arg: string, length: number, dims: readonly number[]): void {
  if (length !== product(dims)) {
    throw new RangeError(`${arg}: data length ${length} does not match dims ${shapeStr(dims)} (${product(dims)} elements)`);
  }
}

/** Reads and checks `{ data: Float32Array, dims }` with data.length = ∏dims. */
export function readTensor(arg: string, t: unknown): TensorView {
  const { data, dims } = readOnce(arg, t, 'a tensor { data: Float32Array, dims }');
  // instanceof alone lets a Proxy of a Float32Array through, whose elements could change as they are read.
  if (!(data instanceof Float32Array) || !ArrayBuffer.isView(data)) throw typeError(`${arg}.data`, 'Float32Array', data);
  const view = fixedView(data);
  checkLength(arg, view.length, dims);
  return { data: view, dims, given: data };
}

/** Reads and checks a mask: Uint8Array (boolean) or Float32Array (additive) data. */
export function readMask(arg: string, t: unknown): MaskView {
  const { data, dims } = readOnce(arg, t, 'a mask { data: Uint8Array | Float32Array, dims }');
  if ((!(data instanceof Uint8Array) && !(data instanceof Float32Array)) || !ArrayBuffer.isView(data)) {
    throw typeError(`${arg}.data`, 'Uint8Array (boolean mask) or Float32Array (additive mask)', data);
  }
  const view = fixedView(data);
  checkLength(arg, view.length, dims);
  return { data: view, dims, boolean: view instanceof Uint8Array };
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
