import { getHeap } from '../core/loader.js';
import { ScratchLayout } from '../core/scratch.js';
import { checkTensor, makeTensor, product, type OutputTensor, type Tensor } from '../core/tensor.js';

// ops.softmax ↔ assembly/softmax/softmax_f32_simd.ts

/**
 * Softmax over the last axis (torch.softmax(x, -1)); a row of all -inf gives
 * NaN, as torch. A 0-d x is one row of one value, as torch takes it.
 */
export function softmax(x: Tensor): OutputTensor {
  const heap = getHeap();
  const dx = checkTensor('x', x);
  const cols = dx.length > 0 ? dx[dx.length - 1] : 1;
  const rows = product(dx.slice(0, -1));
  const layout = new ScratchLayout();
  const sx = layout.floats(rows * cols);
  const sums = layout.floats(rows);
  layout.place(heap);
  heap.write(sx.ptr, x.data);
  heap.kernels.softmax_f32_simd(sx.ptr, cols, rows, cols, 0, 0, 0, sums.ptr);
  return makeTensor(heap.read(sx.ptr, rows * cols), dx.slice());
}
