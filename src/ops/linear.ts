import { shapeError, shapeStr } from '../core/errors.js';
import { getHeap } from '../core/loader.js';
import { packedSize } from '../core/kernels.js';
import { checkArgument, rule } from '../core/options.js';
import { ScratchLayout } from '../core/scratch.js';
import { makeTensor, product, readTensor, type OutputTensor, type TensorLike } from '../core/tensor.js';
import { Plan } from '../plan/plan.js';
import { runPlan } from '../plan/run.js';

// ops.linear ↔ assembly/gemm/gemm_f32.ts (4×8 or 6×8 tiles), weight packed with its
// bias by assembly/packw/pack_b_f32_x8.ts.

/** F.linear's bias=None: null (or leaving it out) is no bias. */
const BIAS = rule.tensorOrNull<TensorLike>('a tensor { data: Float32Array, dims }');

/** torch's F.linear: x·weightᵀ + bias over the last axis; x (…, in), weight (out, in), bias (out). */
export function linear(x: TensorLike, weight: TensorLike, bias?: TensorLike | null): OutputTensor {
  const heap = getHeap();
  return heap.call('ops.linear', () => {
  if (bias !== undefined) checkArgument('ops.linear', 'bias', BIAS, bias);
  const tx = readTensor('x', x);
  const tw = readTensor('weight', weight);
  const dx = tx.dims;
  const dw = tw.dims;
  if (dx.length < 1) throw shapeError('x', '(…, in_features)', dx);
  if (dw.length !== 2) throw shapeError('weight', '(out_features, in_features)', dw);
  const k = dx[dx.length - 1];
  const [n, kw] = dw;
  if (kw !== k) throw new RangeError(`weight: expected shape (out_features, ${k}) to match x ${shapeStr(dx)}, got ${shapeStr(dw)}`);
  const tb = bias == null ? null : readTensor('bias', bias);
  if (tb && (tb.dims.length !== 1 || tb.dims[0] !== n)) throw shapeError('bias', `(${n},)`, tb.dims);
  const m = product(dx.slice(0, -1));
  const layout = new ScratchLayout();
  const sx = layout.floats(m * k);
  const sw = layout.floats(n * k);
  const sb = layout.floats(n);
  const packed = layout.floats(packedSize(k, n));
  const sy = layout.floats(m * n);
  layout.place(heap, () => `linear: x ${shapeStr(dx)}, weight ${shapeStr(dw)}`);
  const plan = new Plan('ops.linear');
  plan.onCaller('copy in', () => {
    heap.write(sx.ptr, tx.data);
    heap.write(sw.ptr, tw.data);
    if (tb) heap.write(sb.ptr, tb.data);
  });
  plan.pack('ops', { out: packed.ptr, b: sw.ptr, ldb: k, k, n, transposed: true, bias: tb ? sb.ptr : 0 });
  plan.gemm('ops', { c: sy.ptr, ldc: n, a: sx.ptr, lda: k, b: packed.ptr, m, n, k });
  let y: Float32Array = new Float32Array(0);
  plan.onCaller('copy out', () => (y = heap.read(sy.ptr, m * n)));
  runPlan(heap, plan);
  return makeTensor(y, [...dx.slice(0, -1), n]);
  });
}
