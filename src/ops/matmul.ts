import { shapeError, shapeStr } from '../core/errors.js';
import { disposeSymbol } from '../core/dispose.js';
import type { Heap } from '../core/heap.js';
import { getHeap } from '../core/loader.js';
import { packedSize } from '../core/kernels.js';
import { Plan } from '../plan/plan.js';
import { runPlan } from '../plan/run.js';
import { readOptions, rule, type SchemaOf } from '../core/options.js';
import { ScratchLayout } from '../core/scratch.js';
import { expectShape, makeTensor, readTensor, type OutputTensor, type Tensor, type TensorLike, type TensorView } from '../core/tensor.js';

// ops.matmul ↔ assembly/gemm/gemm_f32.ts (4×8 or 6×8 tiles), B packed by
// assembly/packw/pack_b_f32_x8.ts: into scratch on every call, or once by
// ops.prepack for a B that is used again (a weight, an ONNX initializer).

/** Options of ops.prepack and ops.matmul. */
export interface MatmulOptions {
  /** Take b as (N, K) and multiply by its transpose. @defaultValue false */
  transposeB?: boolean;
}

/** Options of ops.matmul. */
export interface MatmulOutOptions extends MatmulOptions {
  /**
   * A (M, N) tensor to write the product into, as torch.matmul's `out=`:
   * no new array is allocated, which saves a fresh array's page faults on
   * every call. It may share memory with `a` or `b` (they are copied in
   * first). The returned tensor's data is `out.data`.
   */
  out?: Tensor;
}

/**
 * A right-hand matrix packed once into wasm memory (ops.prepack), for
 * products with many left-hand matrices. It holds wasm memory until
 * dispose().
 */
export class PackedMatrix {
  /** The (K, N) shape it multiplies as. */
  readonly dims: readonly [number, number];
  private ptr: number;

  /** @internal Use ops.prepack. */
  constructor(
    private readonly heap: Heap,
    ptr: number,
    k: number,
    n: number,
  ) {
    this.ptr = ptr;
    this.dims = [k, n];
  }

  /** @internal The packed panels' byte offset. */
  get packedPtr(): number {
    if (this.ptr === 0) throw new Error('ops.matmul: b: this PackedMatrix has been disposed; pack the matrix again with ops.prepack');
    return this.ptr;
  }

  /** Frees its wasm memory. Using it afterwards is an error. */
  dispose(): void {
    if (this.ptr === 0) return;
    this.heap.call('PackedMatrix.dispose', () => {
      this.heap.release(this.ptr);
      this.ptr = 0;
    });
  }

  [disposeSymbol](): void {
    this.dispose();
  }
}

const PREPACK_OPTIONS = { transposeB: rule.boolean } as const satisfies SchemaOf<MatmulOptions>;

/** torch.matmul's out= is None by default: null is no out. */
const MATMUL_OPTIONS = {
  transposeB: rule.boolean,
  out: rule.tensorOrNull<Tensor>('a tensor { data: Float32Array, dims }'),
} as const satisfies SchemaOf<MatmulOutOptions>;

/** b as read, and the (K, N) it multiplies as, checked. */
function readRhs(b: unknown, transposeB: boolean): { tb: TensorView; k: number; n: number } {
  const tb = readTensor('b', b);
  const db = tb.dims;
  if (db.length !== 2) throw shapeError('b', transposeB ? '(N, K)' : '(K, N)', db);
  const [k, n] = transposeB ? [db[1], db[0]] : [db[0], db[1]];
  return { tb, k, n };
}

/** Packs b (K, N) — or (N, K) with `transposeB` — once, for ops.matmul(a, packed). */
export function prepack(b: TensorLike, options?: MatmulOptions | null): PackedMatrix {
  const heap = getHeap();
  return heap.call('ops.prepack', () => {
    const { transposeB = false } = readOptions('ops.prepack', PREPACK_OPTIONS, options);
    const { tb, k, n } = readRhs(b, transposeB);
    const layout = new ScratchLayout();
    const sb = layout.floats(k * n);
    layout.place(heap, () => `prepack: b ${shapeStr(tb.dims)}`);
    // The scratch is had first: if the packed buffer cannot be, nothing is left behind.
    const ptr = heap.alloc(packedSize(k, n) * 4, `prepack: b ${shapeStr(tb.dims)}`);
    const plan = new Plan('ops.prepack');
    plan.onCaller('copy in', () => heap.write(sb.ptr, tb.data));
    plan.pack('ops', { out: ptr, b: sb.ptr, ldb: transposeB ? k : n, k, n, transposed: transposeB });
    try {
      runPlan(heap, plan);
    } catch (e) {
      heap.release(ptr);
      throw e;
    }
    return new PackedMatrix(heap, ptr, k, n);
  });
}

/**
 * (M, K)·(K, N) → (M, N); with `transposeB`, (M, K)·(N, K)ᵀ. `b` may be a
 * PackedMatrix from ops.prepack, which skips packing it again. With `out`,
 * the product is written into it rather than into a new array.
 */
export function matmul(a: TensorLike, b: TensorLike | PackedMatrix, options?: MatmulOutOptions | null): OutputTensor {
  const heap = getHeap();
  return heap.call('ops.matmul', () => multiply(heap, a, b, options));
}

function multiply(heap: Heap, a: unknown, b: unknown, options: unknown): OutputTensor {
  const { transposeB = false, out = null } = readOptions('ops.matmul', MATMUL_OPTIONS, options);
  const ta = readTensor('a', a);
  const da = ta.dims;
  if (da.length !== 2) throw shapeError('a', '(M, K)', da);
  const [m, k] = da;
  const prepacked = b instanceof PackedMatrix ? b : null;
  // Read before anything is written: throws if it has been disposed.
  const prepackedPanels = prepacked ? prepacked.packedPtr : 0;
  if (prepacked && transposeB) {
    // It was packed in its orientation; a transposeB here would be silently ignored.
    throw new RangeError('ops.matmul: transposeB: expected false or undefined with a PackedMatrix b (ops.prepack(b, { transposeB }) sets its orientation), got true');
  }
  const rhs = prepacked ? null : readRhs(b, transposeB);
  const [kb, n] = rhs ? [rhs.k, rhs.n] : prepacked!.dims;
  if (kb !== k) {
    const got = rhs ? shapeStr(rhs.tb.dims) : `a PackedMatrix of (${kb}, ${n})`;
    throw new RangeError(
      `b: expected shape ${transposeB && !prepacked ? `(N, ${k})` : `(${k}, N)`} to match a ${shapeStr(da)}, got ${got}`,
    );
  }
  const tout = out === null ? null : readTensor('out', out);
  if (tout) expectShape('out', tout.dims, [m, n]);
  const layout = new ScratchLayout();
  const sa = layout.floats(m * k);
  const sb = prepacked ? null : layout.floats(k * n);
  const packed = prepacked ? null : layout.floats(packedSize(k, n));
  const sc = layout.floats(m * n);
  layout.place(heap, () => `matmul: a ${shapeStr(da)}, b ${rhs ? shapeStr(rhs.tb.dims) : `packed (${kb}, ${n})`}${transposeB ? ' (transposeB)' : ''}`);
  const plan = new Plan('ops.matmul');
  plan.onCaller('copy in', () => {
    heap.write(sa.ptr, ta.data);
    if (rhs) heap.write(sb!.ptr, rhs.tb.data);
  });
  if (!prepacked) plan.pack('ops', { out: packed!.ptr, b: sb!.ptr, ldb: transposeB ? k : n, k, n, transposed: transposeB });
  plan.gemm('ops', { c: sc.ptr, ldc: n, a: sa.ptr, lda: k, b: prepacked ? prepackedPanels : packed!.ptr, m, n, k });
  let result: Float32Array | null = null;
  plan.onCaller('copy out', () => {
    if (tout === null) result = heap.read(sc.ptr, m * n);
    else heap.readInto(sc.ptr, tout.data);
  });
  runPlan(heap, plan);
  return makeTensor(result ?? tout!.given, [m, n]);
}
