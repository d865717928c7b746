import { shapeStr } from '../core/errors.js';
import { getHeap } from '../core/loader.js';
import { checkArgument, rule } from '../core/options.js';
import { ScratchLayout } from '../core/scratch.js';
import { makeTensor, product, readTensor, type OutputTensor, type TensorLike } from '../core/tensor.js';
import { Plan } from '../plan/plan.js';
import { runPlan } from '../plan/run.js';

// ops.softmax ↔ assembly/softmax/softmax_f32_simd.ts, which works on rows:
// for another axis the copy into wasm moves that axis last, and the copy
// out moves it back.

/**
 * Softmax over axis `dim`, as torch.softmax(x, dim): negative counts from
 * the end, default -1 (the last axis). A slice of all -inf gives NaN, as
 * torch. A 0-d x is one value (dim 0 or -1), as torch takes it.
 */
export function softmax(x: TensorLike, dim: number = -1): OutputTensor {
  const heap = getHeap();
  return heap.call('ops.softmax', () => {
  const tx = readTensor('x', x);
  const dx = tx.dims;
  const rank = dx.length;
  // torch: a 0-d tensor has the one dim 0 (or -1)
  const lowest = -Math.max(rank, 1);
  checkArgument('ops.softmax', 'dim', rule.integerIn(lowest, -lowest - 1), dim);
  const axis = dim < 0 ? dim + Math.max(rank, 1) : dim;
  const cols = rank > 0 ? dx[axis] : 1;
  const outer = product(dx.slice(0, axis));
  const inner = product(dx.slice(axis + 1));
  const rows = outer * inner;
  const data = tx.data;
  if (data.length === 0) return makeTensor(new Float32Array(0), dx.slice());
  const layout = new ScratchLayout();
  const sx = layout.floats(rows * cols);
  const sums = layout.floats(rows);
  layout.place(heap, () => `ops.softmax: x ${shapeStr(dx)}, dim ${dim}`);
  const plan = new Plan('ops.softmax');
  plan.onCaller('copy in', () => {
    if (inner === 1) heap.write(sx.ptr, data);
    else moveAxis(data, heap.f32, sx.ptr >>> 2, outer, cols, inner, 'last');
  });
  plan.softmax(sx.ptr, rows, cols, sums.ptr);
  let out: Float32Array = new Float32Array(0);
  plan.onCaller('copy out', () => {
    if (inner === 1) out = heap.read(sx.ptr, rows * cols);
    else moveAxis(heap.f32, (out = new Float32Array(data.length)), sx.ptr >>> 2, outer, cols, inner, 'back');
  });
  runPlan(heap, plan);
  return makeTensor(out, dx.slice());
  });
}

/**
 * Between x as (outer, cols, inner) and the rows (outer, inner, cols) the
 * kernel takes: 'last' copies src (x) into dst at `base`, 'back' copies the
 * rows at `base` of src into dst (x).
 */
function moveAxis(src: Float32Array, dst: Float32Array, base: number, outer: number, cols: number, inner: number, way: 'last' | 'back'): void {
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < cols; c++) {
      const xAt = (o * cols + c) * inner;
      const rowAt = base + o * inner * cols + c;
      if (way === 'last') for (let i = 0; i < inner; i++) dst[rowAt + i * cols] = src[xAt + i];
      else for (let i = 0; i < inner; i++) dst[xAt + i] = src[rowAt + i * cols];
    }
  }
}
