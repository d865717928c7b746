import { shapeError, shapeStr } from '../core/errors.js';
import { getHeap } from '../core/loader.js';
import { packedSize } from '../core/kernels.js';
import { checkArgument, rule } from '../core/options.js';
import { ScratchLayout } from '../core/scratch.js';
import { checkTensor, makeTensor, product, type OutputTensor, type Tensor, type TensorLike } from '../core/tensor.js';

// ops.linear ↔ assembly/gemm/gemm_f32_4x8_simd.ts, weight packed with its
// bias by assembly/packw/pack_b_f32_x8.ts.

/** F.linear's bias=None: null (or leaving it out) is no bias. */
const BIAS = rule.tensorOrNull<TensorLike>('a tensor { data: Float32Array, dims }');

/** torch's F.linear: x·weightᵀ + bias over the last axis; x (…, in), weight (out, in), bias (out). */
export function linear(x: TensorLike, weight: TensorLike, bias?: TensorLike | null): OutputTensor {
  const heap = getHeap();
  if (bias !== undefined) checkArgument('ops.linear', 'bias', BIAS, bias);
  const dx = checkTensor('x', x);
  const dw = checkTensor('weight', weight);
  if (dx.length < 1) throw shapeError('x', '(…, in_features)', dx);
  if (dw.length !== 2) throw shapeError('weight', '(out_features, in_features)', dw);
  const k = dx[dx.length - 1];
  const [n, kw] = dw;
  if (kw !== k) throw new RangeError(`weight: expected shape (out_features, ${k}) to match x ${shapeStr(dx)}, got ${shapeStr(dw)}`);
  if (bias != null) {
    const db = checkTensor('bias', bias);
    if (db.length !== 1 || db[0] !== n) throw shapeError('bias', `(${n},)`, db);
  }
  const m = product(dx.slice(0, -1));
  const layout = new ScratchLayout();
  const sx = layout.floats(m * k);
  const sw = layout.floats(n * k);
  const sb = layout.floats(n);
  const packed = layout.floats(packedSize(k, n));
  const sy = layout.floats(m * n);
  layout.place(heap, () => `linear: x ${shapeStr(dx)}, weight ${shapeStr(dw)}`);
  // checkTensor has made sure every data is a Float32Array.
  heap.write(sx.ptr, (x as Tensor).data);
  heap.write(sw.ptr, (weight as Tensor).data);
  if (bias != null) heap.write(sb.ptr, (bias as Tensor).data);
  const kern = heap.kernels;
  kern.pack_b_f32_x8(packed.ptr, sw.ptr, k, k, n, 1, bias != null ? sb.ptr : 0);
  kern.gemm_f32_4x8_simd(sy.ptr, n, sx.ptr, k, packed.ptr, m, n, k, 0);
  return makeTensor(heap.read(sy.ptr, m * n), [...dx.slice(0, -1), n]);
}
