// Packing a module's weights into the GEMM's panel layout, when they are
// loaded: a plan of its own (copy in, then the packing cut into tasks).
import type { Heap } from '../core/heap.js';
import { ScratchLayout } from '../core/scratch.js';
import { Plan } from './plan.js';
import { runPlan } from './run.js';

/** The scratch one packLinear() of an (out, in) Linear takes. */
function linearLayout(out: number, inFeatures: number) {
  const layout = new ScratchLayout();
  return { layout, weight: layout.floats(out * inFeatures), bias: layout.floats(out) };
}

/** Bytes of scratch packLinear() takes for the largest of `shapes` ((out, in) each). */
export function packLinearScratchBytes(shapes: readonly [number, number][]): number {
  return Math.max(...shapes.map(([out, inFeatures]) => linearLayout(out, inFeatures).layout.totalBytes));
}

/** Packs a torch Linear (weight (out, in), bias (out) or null) into `dst` (packedSize(in, out) floats). */
export function packLinear(heap: Heap, dst: number, weight: Float32Array, bias: Float32Array | null, out: number, inFeatures: number): void {
  const slots = linearLayout(out, inFeatures);
  slots.layout.place(heap);
  const plan = new Plan(heap.callName ?? 'packing weights');
  plan.onCaller('copy in', () => {
    heap.write(slots.weight.ptr, weight);
    if (bias) heap.write(slots.bias.ptr, bias);
  });
  plan.pack('in-projection', {
    out: dst, b: slots.weight.ptr, ldb: inFeatures, k: inFeatures, n: out, transposed: true, bias: bias ? slots.bias.ptr : 0,
  });
  runPlan(heap, plan);
}
