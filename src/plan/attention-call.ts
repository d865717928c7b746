// One attention forward call in wasm terms: its buffers, laid out before
// anything is written, and the plan of steps over them. The modules say
// what to compute (torch's semantics: which projections, which masks, how
// many keys); this class says where each buffer lives and which steps
// compute it. Both modules share the in-projections, the masks, the
// packing of each (batch, head), the attention, the out-projection and the
// copies in and out; Linformer adds its sequence projection
// (projectSequence).
import { residentFloats, type Heap } from '../core/heap.js';
import { packedSize } from '../core/kernels.js';
import { ScratchLayout, type Slot } from '../core/scratch.js';
import type { MaskView, OutputTensor, TensorView } from '../core/tensor.js';
import { threadsInUse } from '../threads/threads.js';
import { attentionScratch, Plan, type AttentionScratch, type GemmBatch } from './plan.js';
import { runPlan } from './run.js';
import type { Stage } from './steps.js';

/** A call's sizes, as the module checked them. */
export interface CallDims {
  batched: boolean;
  /** Target length, batch size, source length. */
  L: number;
  N: number;
  S: number;
  E: number;
  H: number;
  kdim: number;
  vdim: number;
  batchFirst: boolean;
  /** The caller's tensors are (rows, N, features): batched, not batchFirst, N > 1. */
  sequenceFirst: boolean;
}

/**
 * A (N, rows, features) activation in wasm: batch-major (rows of one batch
 * item contiguous), or sequence-first as the caller gave it, (rows, N,
 * features).
 */
export interface Rows {
  ptr: number;
  N: number;
  rows: number;
  features: number;
  sequenceFirst: boolean;
}

/** Floats between batch items and between rows of an activation. */
export function strides(x: Rows): { batch: number; row: number } {
  return x.sequenceFirst ? { batch: x.features, row: x.N * x.features } : { batch: x.rows * x.features, row: x.features };
}

/** query, key and value as the call read them (the same view for one object passed twice). */
export interface Inputs {
  query: TensorView;
  key: TensorView;
  value: TensorView;
}

export interface AttentionResult {
  output: OutputTensor;
  weights: OutputTensor | null;
}

export class AttentionCall {
  readonly plan: Plan;
  readonly layout = new ScratchLayout();
  /** The inputs copied in as given; one slot for an object passed twice. */
  private readonly inputSlots: Map<TensorView, Slot>;
  /** Queries, attention output (N, L, E) batch-major; the output in its final layout. */
  private readonly q: Slot;
  private readonly attn: Slot;
  private readonly out: Slot;
  private readonly kHeads: Slot;
  private readonly vHeads: Slot;
  private readonly threadScratch: Slot;
  private readonly scratch: AttentionScratch;
  private readonly weights: Slot | null;
  private readonly weightFloats: number;
  private readonly average: boolean;
  /** Work on the calling thread before the first step: the copies in, and rows the steps do not write. */
  private readonly copies: (() => void)[] = [];
  private result: AttentionResult | null = null;
  /** The arrays the copy out fills, made beside the first parallel step. */
  private outputData: Float32Array<ArrayBuffer> | null = null;
  private weightsData: Float32Array<ArrayBuffer> | null = null;
  /** Steps that need placed buffers, added by place(). */
  private readonly deferred: (() => void)[] = [];

  /**
   * Lays out what every call needs for P keys per batch item; `weights`
   * null when none are wanted. The module adds its own buffers with
   * floats(), then calls place().
   */
  constructor(
    private readonly heap: Heap,
    call: string,
    readonly dims: CallDims,
    /** query, key and value as the module read them. */
    readonly inputs: Inputs,
    readonly P: number,
    weights: { average: boolean } | null,
    scoreBlockFloats: number,
  ) {
    this.plan = new Plan(call);
    const { N, L, E, H } = dims;
    const d = E / H;
    const layout = this.layout;
    this.inputSlots = new Map();
    for (const t of [inputs.query, inputs.key, inputs.value]) {
      if (!this.inputSlots.has(t)) this.inputSlots.set(t, layout.floats(t.data.length));
    }
    this.q = layout.floats(N * L * E);
    this.attn = layout.floats(N * L * E);
    this.out = layout.floats(N * L * E);
    this.kHeads = layout.floats(N * H * Plan.headFloats(P, d));
    this.vHeads = layout.floats(N * H * Plan.headFloats(P, d));
    this.scratch = attentionScratch(N, L, H, P, E, scoreBlockFloats, weights?.average ?? false);
    this.threadScratch = layout.floats((this.scratch.bytesPerThread / 4) * threadsInUse());
    this.weightFloats = weights === null ? 0 : weights.average ? N * L * P : N * H * L * P;
    this.weights = weights === null ? null : layout.floats(this.weightFloats);
    this.average = weights?.average ?? true;
    // The first step: every copy in, and the rows no later step writes.
    this.plan.onCaller('copy in', () => {
      for (const [t, slot] of this.inputSlots) this.heap.write(slot.ptr, t.data);
      for (const c of this.copies) c();
    });
    // The arrays returned, made while the workers start on the first step:
    // mapping a large new array's pages costs more than the copy out into it.
    this.plan.onCallerBeside(() => {
      this.outputData = residentFloats(N * L * E);
      if (this.weights) this.weightsData = residentFloats(this.weightFloats);
    });
  }

  floats(count: number): Slot {
    return this.layout.floats(count);
  }

  /** A slot for a mask copied in as given (bytes or floats), and the copy. */
  maskCopy(mask: MaskView): Slot {
    const slot = this.layout.floats(mask.boolean ? Math.ceil(mask.data.length / 4) : mask.data.length);
    this.copies.push(() => {
      if (mask.boolean) this.heap.u8.set(mask.data, slot.ptr);
      else this.heap.write(slot.ptr, mask.data as Float32Array);
    });
    return slot;
  }

  /**
   * An additive mask of rows × P floats, made in a step from `mask` (rows ×
   * width, copied in as given): boolean true → -inf, floats as they are,
   * zeros past `width` (torch pads masks with zeros for bias_k/bias_v and
   * the zero-attention row).
   */
  additiveMask(mask: MaskView, rows: number, width: number): Slot {
    const raw = this.maskCopy(mask);
    const dst = this.layout.floats(rows * this.P);
    this.deferred.push(() => this.plan.additiveMask(dst.ptr, raw.ptr, mask.boolean, rows, width, this.P));
    return dst;
  }

  /**
   * Places every buffer; a layout too large for wasm is a RangeError that
   * `context` describes. Nothing has been written yet.
   */
  place(context: () => string): void {
    this.layout.place(this.heap, context);
    for (const step of this.deferred) step();
  }

  /** An input where it was copied in, with its rows and features. */
  input(t: TensorView, rows: number, features: number): Rows {
    return { ptr: this.inputSlots.get(t)!.ptr, N: this.dims.N, rows, features, sequenceFirst: this.dims.sequenceFirst };
  }

  /** Rows of wasm written on the calling thread before the steps run (bias rows, zero padding). */
  beforeSteps(write: () => void): void {
    this.copies.push(write);
  }

  /** q = query·W_qᵀ + b_q, scaled by d^-1/2 (folded into the packed weights). */
  projectQuery(packedQ: number): void {
    const { L, E } = this.dims;
    projectRows(this.plan, 'in-projection', this.input(this.inputs.query, L, E), this.q.ptr, L, packedQ, E);
  }

  /**
   * keys and values (N, rowsPerBatch, E), rows [0, S) of each batch item =
   * key·W_kᵀ + b_k and value·W_vᵀ + b_v; rows from S on are left to the
   * caller (beforeSteps). One step when kdim = vdim: the two are one GEMM
   * shape, each value item a fixed number of bytes from its key item.
   */
  projectKeysAndValues(keys: Slot, values: Slot, rowsPerBatch: number, packedK: number, packedV: number): void {
    const { S, E, kdim, vdim } = this.dims;
    const key = this.input(this.inputs.key, S, kdim);
    const value = this.input(this.inputs.value, S, vdim);
    if (kdim === vdim) {
      const pair = { count: 2, c: values.ptr - keys.ptr, a: value.ptr - key.ptr, b: packedV - packedK };
      projectRows(this.plan, 'in-projection', key, keys.ptr, rowsPerBatch, packedK, E, pair);
    } else {
      projectRows(this.plan, 'in-projection', key, keys.ptr, rowsPerBatch, packedK, E);
      projectRows(this.plan, 'in-projection', value, values.ptr, rowsPerBatch, packedV, E);
    }
  }

  /**
   * Rows [from, rowsPerBatch) of each batch item of an (N, rowsPerBatch,
   * E) buffer, which no step writes, written before the steps: `first`
   * (bias_k's or bias_v's row) if given, then zeros.
   */
  padRows(slot: Slot, rowsPerBatch: number, from: number, first?: Float32Array): void {
    if (from >= rowsPerBatch) return;
    const { N, E } = this.dims;
    const heap = this.heap;
    this.beforeSteps(() => {
      for (let n = 0; n < N; n++) {
        const item = (slot.ptr >>> 2) + n * rowsPerBatch * E;
        let r = from;
        if (first) heap.f32.set(first, item + r++ * E);
        heap.f32.fill(0, item + r * E, item + rowsPerBatch * E);
      }
    });
  }

  /**
   * Packs each (batch, head)'s keys (transposed) and values (N, P, E),
   * then attends: scores, masks, softmax, weights, the weighted sum into
   * each head's columns; then the out-projection into the output's layout
   * and the copy out. `mask`: additive (L, P) or per (n, h), `maskHeadBytes`
   * apart; `keyMask`: additive (N, P); 0 for none.
   */
  attendAndProject(keys: Slot, values: Slot, mask: number, maskHeadBytes: number, keyMask: number, packedOut: number): void {
    const { N, L, H, E } = this.dims;
    const d = E / H;
    const P = this.P;
    const plan = this.plan;
    if (P === 0) {
      // softmax over no keys is empty and the weighted sum 0 (torch: bmm of (L, 0)·(0, d))
      plan.fill('attention', this.attn.ptr, N * L * E);
    } else {
      const headBytes = Plan.headFloats(P, d) * 4;
      const items = { count: N, out: H * headBytes, b: P * E * 4 };
      const heads = { count: H, out: headBytes, b: d * 4 };
      plan.pack('attention', { out: this.kHeads.ptr, b: keys.ptr, ldb: E, k: d, n: P, transposed: true, outer: items, inner: heads });
      plan.pack('attention', { out: this.vHeads.ptr, b: values.ptr, ldb: E, k: P, n: d, transposed: false, outer: items, inner: heads });
      plan.attention({
        out: this.attn.ptr, q: this.q.ptr, kHeads: this.kHeads.ptr, vHeads: this.vHeads.ptr, headBytes,
        N, L, H, d, P, scratch: this.threadScratch.ptr, layout: this.scratch,
        mask, maskHeadBytes, keyMask, weights: this.weights?.ptr ?? 0, average: this.average,
      });
    }
    const out: Rows = { ptr: this.out.ptr, N, rows: L, features: E, sequenceFirst: this.dims.sequenceFirst };
    const { batch, row } = strides(out);
    plan.gemm('out-projection', {
      c: out.ptr, ldc: row, a: this.attn.ptr, lda: E, b: packedOut, m: out.sequenceFirst ? L : N * L, n: E, k: E,
      outer: out.sequenceFirst ? { count: N, c: batch * 4, a: L * E * 4 } : undefined,
    });
    plan.onCaller('copy out', () => (this.result = this.readResult()));
  }

  /** Runs the plan; the output and weights it copied out. */
  run(): AttentionResult {
    runPlan(this.heap, this.plan);
    return this.result!;
  }

  /** The floats at `ptr` into `into`, an array made beside the first step (the plan runs that work before the copy out in any case). */
  private copyOut(ptr: number, into: Float32Array<ArrayBuffer> | null): Float32Array<ArrayBuffer> {
    this.heap.readInto(ptr, into!);
    return into!;
  }

  private readResult(): AttentionResult {
    const { N, L, E, H, batched, batchFirst } = this.dims;
    // The out-projection wrote the output in its final layout (a batch of one is alike either way).
    const output = { data: this.copyOut(this.out.ptr, this.outputData), dims: !batched ? [L, E] : batchFirst ? [N, L, E] : [L, N, E] };
    let weights: OutputTensor | null = null;
    if (this.weights) {
      const P = this.P;
      const dims = this.average ? [N, L, P] : [N, H, L, P];
      weights = { data: this.copyOut(this.weights.ptr, this.weightsData), dims: batched ? dims : dims.slice(1) };
    }
    return { output, weights };
  }
}

/**
 * dst (N, dstRowsPerBatch, outFeatures), batch-major, rows [0, x.rows) of
 * each batch item = x·Wᵀ + b, W and b packed at `packed`. x is read where
 * it sits: a sequence-first input by its strides, so it is never
 * transposed. `pair`: the same again for a second x, dst and W, these
 * many bytes from the first, in the same step.
 */
export function projectRows(plan: Plan, stage: Stage, x: Rows, dst: number, dstRowsPerBatch: number, packed: number, outFeatures: number, pair?: GemmBatch): void {
  const { batch, row } = strides(x);
  const contiguous = !x.sequenceFirst && dstRowsPerBatch === x.rows;
  const items = contiguous ? undefined : { count: x.N, c: dstRowsPerBatch * outFeatures * 4, a: batch * 4 };
  plan.gemm(stage, {
    c: dst, ldc: outFeatures, a: x.ptr, lda: row, b: packed,
    m: contiguous ? x.N * x.rows : x.rows, n: outFeatures, k: x.features,
    outer: pair ?? items,
    inner: pair ? items : undefined,
  });
}

/**
 * Linformer's projection along the sequence: out[n] (k rows, row stride
 * ldo, `outBatchBytes` apart) = proj (k × S1, row stride ldp) · x[n] (S1 ×
 * cols, row stride ldx, `xBatchBytes` apart) + bias (k floats), for each
 * batch item; with `perHead`, for each head's d columns with that head's
 * proj (`projBytes` apart). x is packed into `packed` first
 * (sequencePackFloats).
 */
export function projectSequence(
  plan: Plan,
  p: {
    out: number; outBatchBytes: number; ldo: number;
    x: number; xBatchBytes: number; ldx: number; cols: number;
    proj: number; ldp: number; k: number; S1: number; bias: number;
    N: number; packed: number;
    perHead?: { H: number; projBytes: number };
    /** A second projection of the same x and with the same bias, its out and proj these many bytes from the first's. */
    second?: { outBytes: number; projBytes: number };
  },
): void {
  const ph = p.perHead;
  if (ph && p.second) throw new Error('linformer-wasm: projectSequence: a second projection per head is not planned');
  const width = ph ? p.cols / ph.H : p.cols;
  const packedBytes = packedSize(p.S1, width) * 4;
  const heads = ph?.H ?? 1;
  plan.pack('sequence projection', {
    out: p.packed, b: p.x, ldb: p.ldx, k: p.S1, n: width, transposed: false,
    outer: { count: p.N, out: heads * packedBytes, b: p.xBatchBytes },
    inner: ph ? { count: heads, out: packedBytes, b: width * 4 } : undefined,
  });
  const items = { count: p.N, c: p.outBatchBytes, b: heads * packedBytes };
  // Both projections of one x in one step: it is packed once, and one barrier fewer.
  const second = p.second && { count: 2, c: p.second.outBytes, a: p.second.projBytes };
  plan.gemm('sequence projection', {
    c: p.out, ldc: p.ldo, a: p.proj, lda: p.ldp, b: p.packed, m: p.k, n: width, k: p.S1, rowBias: p.bias,
    outer: second ?? items,
    inner: second ? items : ph ? { count: heads, c: width * 4, a: ph.projBytes, b: packedBytes } : undefined,
  });
}

/** Floats of projectSequence's `packed` for N batch items of S1 rows and `cols` columns (in `heads` parts). */
export function sequencePackFloats(N: number, S1: number, cols: number, heads = 1): number {
  return N * heads * packedSize(S1, cols / heads);
}
