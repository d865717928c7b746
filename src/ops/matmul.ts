import { shapeError, shapeStr } from '../core/errors.js';
import { getHeap } from '../core/loader.js';
import { packedSize } from '../core/kernels.js';
import { ScratchLayout } from '../core/scratch.js';
import { checkTensor, makeTensor, type OutputTensor, type Tensor } from '../core/tensor.js';

// ops.matmul ↔ assembly/gemm/gemm_f32_4x8_simd.ts (B packed by
// assembly/packw/pack_b_f32_x8.ts into scratch first).

export interface MatmulOptions {
  /** Take b as (N, K) and multiply by its transpose. @defaultValue false */
  transposeB?: boolean;
}

/** (M, K)·(K, N) → (M, N); with `transposeB`, (M, K)·(N, K)ᵀ. */
export function matmul(a: Tensor, b: Tensor, options: MatmulOptions = {}): OutputTensor {
  const heap = getHeap();
  const da = checkTensor('a', a);
  const db = checkTensor('b', b);
  const transposeB = options.transposeB ?? false;
  if (da.length !== 2) throw shapeError('a', '(M, K)', da);
  if (db.length !== 2) throw shapeError('b', transposeB ? '(N, K)' : '(K, N)', db);
  const [m, k] = da;
  const kb = transposeB ? db[1] : db[0];
  const n = transposeB ? db[0] : db[1];
  if (kb !== k) {
    throw new RangeError(
      `b: expected shape ${transposeB ? `(N, ${k})` : `(${k}, N)`} to match a ${shapeStr(da)}, got ${shapeStr(db)}`,
    );
  }
  const layout = new ScratchLayout();
  const sa = layout.floats(m * k);
  const sb = layout.floats(k * n);
  const packed = layout.floats(packedSize(k, n));
  const sc = layout.floats(m * n);
  layout.place(heap, () => `matmul: a ${shapeStr(da)}, b ${shapeStr(db)}${transposeB ? ' (transposeB)' : ''}`);
  heap.write(sa.ptr, a.data);
  heap.write(sb.ptr, b.data);
  const kern = heap.kernels;
  kern.pack_b_f32_x8(packed.ptr, sb.ptr, transposeB ? k : n, k, n, transposeB ? 1 : 0, 0);
  kern.gemm_f32_4x8_simd(sc.ptr, n, sa.ptr, k, packed.ptr, m, n, k, 0);
  return makeTensor(heap.read(sc.ptr, m * n), [m, n]);
}
