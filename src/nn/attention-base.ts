import { describeDims, shapeError, shapeStr, typeError } from '../core/errors.js';
import { disposeSymbol } from '../core/dispose.js';
import type { Heap } from '../core/heap.js';
import { packedSize } from '../core/kernels.js';
import { getHeap } from '../core/loader.js';
import { checkArgument, readOptions, rule, type OptionValues, type Schema, type SchemaOf } from '../core/options.js';
import { AttentionCall, type Inputs } from '../plan/attention-call.js';
import { packLinear, packLinearScratchBytes } from '../plan/weights.js';
import { checkFinite, readMask, readTensor, type MaskTensor, type MaskView, type OutputTensor, type Tensor, type TensorView } from '../core/tensor.js';
import { envValue } from '../env.js';
import { parseSafetensors } from '../io/safetensors.js';
import { defaultGenerator, Generator, linearWeight, xavierNormal, xavierUniform } from './init.js';
import type {
  ForwardOptions,
  LoadOptions,
  MultiheadAttentionOptions,
  StateDictSource,
} from './types.js';

// What both attention modules share: parameters under torch's names, their
// packed forms in wasm, and the steps of a forward pass around the keys and
// values each module attends over (in-projection, masks, the per-head loop,
// out-projection). Internally every activation is batch-major, (N, rows, E),
// so that one batch item's rows are contiguous; inputs and outputs are
// transposed on the way in and out when they are sequence-first.

export type ParamShapes = Map<string, number[]>;

/** The parsed shapes of one forward call. */
export interface CallShape {
  batched: boolean;
  /** Target length, batch size, source length. */
  L: number;
  N: number;
  S: number;
}

/** torch.nn.MultiheadAttention's keyword arguments, in its order, camelCase; null for kdim/vdim is torch's None. */
export const MODULE_OPTIONS = {
  dropout: rule.probability,
  bias: rule.boolean,
  addBiasKV: rule.boolean,
  addZeroAttn: rule.boolean,
  kdim: rule.orNull(rule.positiveInteger),
  vdim: rule.orNull(rule.positiveInteger),
  batchFirst: rule.boolean,
  // the generator takes 32 bits: a larger seed would silently repeat a smaller one's weights
  seed: rule.integerIn(0, 2 ** 32 - 1),
} as const satisfies SchemaOf<MultiheadAttentionOptions>;

export type ModuleOptionValues = OptionValues<typeof MODULE_OPTIONS>;

/** forward's keyword arguments after query, key and value, in torch's order; null masks are torch's None. */
const FORWARD_OPTIONS = {
  keyPaddingMask: rule.tensorOrNull<MaskTensor>('a mask { data: Uint8Array | Float32Array, dims }'),
  needWeights: rule.boolean,
  attnMask: rule.tensorOrNull<MaskTensor>('a mask { data: Uint8Array | Float32Array, dims }'),
  averageAttnWeights: rule.boolean,
} as const satisfies SchemaOf<ForwardOptions>;

const LOAD_OPTIONS = { prefix: rule.string } as const satisfies SchemaOf<LoadOptions>;

/** forward's options with torch's defaults, the masks as read (see readMask). */
export interface ForwardSettings {
  keyPaddingMask: MaskView | null;
  attnMask: MaskView | null;
  need: boolean;
  average: boolean;
}

export abstract class AttentionBase {
  readonly embedDim: number;
  readonly numHeads: number;
  readonly headDim: number;
  readonly kdim: number;
  readonly vdim: number;
  readonly bias: boolean;
  readonly addBiasKV: boolean;
  readonly addZeroAttn: boolean;
  readonly batchFirst: boolean;
  readonly dropout: number;

  protected readonly heap: Heap;
  /** The public class name, for messages (kept explicitly: a minifier may rename the class). */
  protected readonly className: string;
  /** Parameters under their torch names, in torch's layout: the source of the packed forms. */
  protected readonly params = new Map<string, Float32Array>();
  protected readonly packedQ: number;
  protected readonly packedK: number;
  protected readonly packedV: number;
  protected readonly packedOut: number;
  /** The subclass's own long-lived buffers, allocated with the base's (see the constructor). */
  protected readonly ownBuffers: readonly number[];
  private disposed = false;

  /**
   * `options` come from checkArguments. `ownSizes`: the bytes of the
   * subclass's own long-lived buffers, allocated here with the base's, all
   * or none, into `ownBuffers`. The caller runs this inside heap.call and
   * releases everything with freeBuffers() if a later step fails.
   */
  protected constructor(name: string, embedDim: number, numHeads: number, options: ModuleOptionValues, ownSizes: readonly number[] = []) {
    this.heap = getHeap();
    this.className = name;
    this.embedDim = embedDim;
    this.numHeads = numHeads;
    this.headDim = embedDim / numHeads;
    this.kdim = options.kdim ?? embedDim;
    this.vdim = options.vdim ?? embedDim;
    this.bias = options.bias ?? true;
    this.addBiasKV = options.addBiasKV ?? false;
    this.addZeroAttn = options.addZeroAttn ?? false;
    this.batchFirst = options.batchFirst ?? false;
    this.dropout = options.dropout ?? 0;
    const E = embedDim;
    const sizes = [packedSize(E, E), packedSize(this.kdim, E), packedSize(this.vdim, E), packedSize(E, E)].map((f) => f * 4);
    this.heap.checkFits(
      [...sizes, ...ownSizes].reduce((a, b) => a + b, 0),
      `${name}(embedDim ${embedDim}, numHeads ${numHeads}, kdim ${this.kdim}, vdim ${this.vdim})`,
    );
    const what = ['q weights', 'k weights', 'v weights', 'out_proj weights', ...ownSizes.map(() => `${name} buffers`)];
    const ptrs = this.heap.allocAll([...sizes, ...ownSizes], what);
    [this.packedQ, this.packedK, this.packedV, this.packedOut] = ptrs;
    this.ownBuffers = ptrs.slice(4);
  }

  /** Releases every buffer this module allocated but `keep` (a construction that failed part-way keeps none). */
  protected freeBuffers(keep = -1): void {
    for (const ptr of [this.packedQ, this.packedK, this.packedV, this.packedOut, ...this.ownBuffers]) {
      if (ptr !== keep) this.heap.release(ptr);
    }
  }

  /**
   * The constructor's arguments, checked before anything is allocated:
   * embedDim and numHeads, then the options against `schema`.
   */
  protected static checkArguments<S extends Schema>(name: string, embedDim: unknown, numHeads: unknown, schema: S, options: unknown): OptionValues<S> {
    checkArgument(name, 'embedDim', rule.positiveInteger, embedDim);
    checkArgument(name, 'numHeads', rule.positiveInteger, numHeads);
    if ((embedDim as number) % (numHeads as number) !== 0) {
      throw new RangeError(`${name}: embedDim (${embedDim}) must be divisible by numHeads (${numHeads})`);
    }
    return readOptions(name, schema, options);
  }

  // ---------------------------------------------------------------- parameters

  /** True when q, k and v share one (3E, E) in_proj_weight, as in torch. */
  protected get sameEmbedDims(): boolean {
    return this.kdim === this.embedDim && this.vdim === this.embedDim;
  }

  /** The torch state_dict keys this module holds, in torch's order, with their shapes. */
  protected paramShapes(): ParamShapes {
    const E = this.embedDim;
    const shapes: ParamShapes = new Map();
    if (this.sameEmbedDims) shapes.set('in_proj_weight', [3 * E, E]);
    else {
      shapes.set('q_proj_weight', [E, E]);
      shapes.set('k_proj_weight', [E, this.kdim]);
      shapes.set('v_proj_weight', [E, this.vdim]);
    }
    if (this.bias) shapes.set('in_proj_bias', [3 * E]);
    if (this.addBiasKV) {
      shapes.set('bias_k', [1, 1, E]);
      shapes.set('bias_v', [1, 1, E]);
    }
    shapes.set('out_proj.weight', [E, E]);
    if (this.bias) shapes.set('out_proj.bias', [E]);
    return shapes;
  }

  /** Keys a state dict may hold beyond paramShapes(), with a check of their value. */
  protected optionalKeys(): Map<string, (t: TensorView, read: ReadonlyMap<string, TensorView>) => void> {
    return new Map();
  }

  /** torch's MultiheadAttention._reset_parameters, from `g`. */
  protected initialise(g: Generator): void {
    const E = this.embedDim;
    const shapes = this.paramShapes();
    if (this.sameEmbedDims) this.params.set('in_proj_weight', xavierUniform(g, [3 * E, E]));
    else {
      for (const key of ['q_proj_weight', 'k_proj_weight', 'v_proj_weight']) {
        this.params.set(key, xavierUniform(g, shapes.get(key)!));
      }
    }
    if (this.bias) this.params.set('in_proj_bias', new Float32Array(3 * E));
    // out_proj is an nn.Linear: kaiming-uniform weight, its bias then zeroed.
    this.params.set('out_proj.weight', linearWeight(g, [E, E]));
    if (this.bias) this.params.set('out_proj.bias', new Float32Array(E));
    if (this.addBiasKV) {
      this.params.set('bias_k', xavierNormal(g, [1, 1, E]));
      this.params.set('bias_v', xavierNormal(g, [1, 1, E]));
    }
  }

  protected static generatorFor(options: ModuleOptionValues): Generator {
    return options.seed === undefined ? defaultGenerator : new Generator(options.seed);
  }

  /**
   * Loads torch state_dict tensors: a plain object or Map of `{ data, dims }`,
   * or the bytes of a .safetensors file (F32; F16/BF16 widened). Every key
   * must be present with torch's shape and finite values; nothing changes
   * unless all of them are. `options` null or undefined: no prefix.
   */
  loadStateDict(source: StateDictSource, options?: LoadOptions | null): void {
    this.heap.call(`${this.className}.loadStateDict`, () => {
      this.checkAlive('loadStateDict');
      const { prefix } = readOptions(`${this.className}.loadStateDict`, LOAD_OPTIONS, options);
      const dict = toMap(source, prefix);
      const expected = this.paramShapes();
      const optional = this.optionalKeys();
      for (const [key, t] of dict) {
        if (!expected.has(key) && !optional.has(key)) {
          throw new RangeError(
            `state_dict: unexpected key '${key}' with ${receivedShape(t)}; expected keys: ${[...expected.keys()].join(', ')}`,
          );
        }
      }
      // Each tensor is read once; what was read is checked, then used.
      const read = new Map<string, TensorView>();
      for (const [key, dims] of expected) {
        const t = dict.get(key);
        if (t === undefined) throw new RangeError(`state_dict: missing key '${key}' (expected shape ${shapeStr(dims)})`);
        const view = readTensor(`state_dict['${key}']`, t);
        if (view.dims.length !== dims.length || view.dims.some((d, i) => d !== dims[i])) {
          throw shapeError(`state_dict['${key}']`, shapeStr(dims), view.dims);
        }
        checkFinite(`state_dict['${key}']`, view.data);
        read.set(key, view);
      }
      for (const [key, check] of optional) {
        const t = dict.get(key);
        if (t !== undefined) check(readTensor(`state_dict['${key}']`, t), read);
      }
      // All of it is good. The packing's scratch is had before anything
      // changes, so that the commit below cannot fail half-way.
      this.heap.scratch(packLinearScratchBytes(this.linearShapes()));
      for (const [key, view] of read) this.params.set(key, view.data.slice());
      this.upload();
    });
  }

  /** The parameters as torch state_dict tensors (copies), in torch's key order. */
  stateDict(): Record<string, OutputTensor> {
    this.checkAlive('stateDict');
    const out: Record<string, OutputTensor> = {};
    for (const [key, dims] of this.paramShapes()) out[key] = { data: this.params.get(key)!.slice(), dims: dims.slice() };
    return out;
  }

  /**
   * One of the three in-projections as a torch Linear: weight (E, in) and
   * bias (E), views of in_proj_weight/in_proj_bias or the separate weights.
   */
  protected inProjection(which: 'q' | 'k' | 'v'): { weight: Float32Array; bias: Float32Array | undefined } {
    const E = this.embedDim;
    const i = which === 'q' ? 0 : which === 'k' ? 1 : 2;
    const inW = this.params.get('in_proj_weight');
    const inB = this.params.get('in_proj_bias');
    return {
      weight: inW ? inW.subarray(i * E * E, (i + 1) * E * E) : this.params.get(`${which}_proj_weight`)!,
      bias: inB?.subarray(i * E, (i + 1) * E),
    };
  }

  /** Packs the in- and out-projections into the GEMM's panel layout; subclasses add theirs. */
  protected upload(): void {
    const E = this.embedDim;
    const scale = 1 / Math.sqrt(this.headDim);
    const q = this.inProjection('q');
    const k = this.inProjection('k');
    const v = this.inProjection('v');
    // q·d^-1/2 is folded into q's weights and bias.
    const scaled = (a: Float32Array) => a.map((x) => x * scale);
    this.packLinear(this.packedQ, scaled(q.weight), q.bias ? scaled(q.bias) : null, E, E);
    this.packLinear(this.packedK, k.weight, k.bias ?? null, E, this.kdim);
    this.packLinear(this.packedV, v.weight, v.bias ?? null, E, this.vdim);
    this.packLinear(this.packedOut, this.params.get('out_proj.weight')!, this.params.get('out_proj.bias') ?? null, E, E);
  }

  /** (out, in) of every Linear upload() packs, for the scratch it needs. */
  protected linearShapes(): [number, number][] {
    const E = this.embedDim;
    return [[E, E], [E, this.kdim], [E, this.vdim], [E, E]];
  }

  /** Packs a torch Linear (weight (out, in), bias (out)) into `dst`. */
  protected packLinear(dst: number, weight: Float32Array, bias: Float32Array | null, out: number, inFeatures: number): void {
    packLinear(this.heap, dst, weight, bias, out, inFeatures);
  }

  // ---------------------------------------------------------------- lifetime

  /**
   * torch's `module.eval()`: this package only runs inference, so the module
   * is always in eval mode and this changes nothing. Returns the module, for
   * chaining as in torch (`new MultiheadAttention(…).eval()`).
   */
  eval(): this {
    return this;
  }

  /**
   * torch's `module.train(mode)`. Only inference (eval mode) exists here:
   * `train()` and `train(true)` throw an Error; `train(false)` is `eval()`
   * and returns the module. A non-boolean mode is a TypeError, as in torch.
   */
  train(mode: boolean = true): this {
    checkArgument(`${this.className}.train`, 'mode', rule.boolean, mode);
    if (mode) {
      throw new Error(
        `${this.className}.train: only inference (eval mode) exists: dropout is never applied and there is no backward pass; use eval() or train(false)`,
      );
    }
    return this.eval();
  }

  /** torch's `module.training`: always false, the forward pass runs as torch's eval mode. */
  get training(): boolean {
    return false;
  }

  /** Frees this module's wasm memory. Using it afterwards is an error. */
  dispose(): void {
    if (this.disposed) return;
    this.heap.call(`${this.className}.dispose`, () => {
      this.disposed = true;
      this.disposeBuffers();
    });
  }

  [disposeSymbol](): void {
    this.dispose();
  }

  /** What dispose() frees: every buffer; a subclass keeps what other modules still share. */
  protected disposeBuffers(): void {
    this.freeBuffers();
  }

  /**
   * Using a disposed module is a plain Error, not a TypeError or RangeError:
   * no argument is wrong, the module's lifetime is over.
   */
  protected checkAlive(method: string): void {
    if (this.disposed) throw new Error(`${this.className}.${method}: this module has been disposed; create a new one`);
  }

  /** True once dispose() has run. */
  protected get isDisposed(): boolean {
    return this.disposed;
  }

  // ---------------------------------------------------------------- forward steps

  /**
   * Reads query, key and value (each once, the same object once) and checks
   * their shapes; returns what was read and the call's shape.
   */
  protected readInputs(query: unknown, key: unknown, value: unknown): { inputs: Inputs; shape: CallShape } {
    const q = readTensor('query', query);
    const k = key === query ? q : readTensor('key', key);
    const v = value === key ? k : value === query ? q : readTensor('value', value);
    const inputs = { query: q, key: k, value: v };
    return { inputs, shape: this.callShape(q.dims, k.dims, v.dims) };
  }

  private callShape(dq: readonly number[], dk: readonly number[], dv: readonly number[]): CallShape {
    const E = this.embedDim;
    if (dq.length === 2) {
      if (dq[1] !== E) throw shapeError('query', `(L, ${E}) or (L, N, ${E})`, dq);
      const S = dk[0];
      if (dk.length !== 2 || dk[1] !== this.kdim) throw shapeError('key', `(S, ${this.kdim}) for an unbatched query ${shapeStr(dq)}`, dk);
      if (dv.length !== 2 || dv[0] !== S || dv[1] !== this.vdim) throw shapeError('value', `(${S}, ${this.vdim}) to match key ${shapeStr(dk)}`, dv);
      return { batched: false, L: dq[0], N: 1, S };
    }
    const layoutName = this.batchFirst ? 'N, L' : 'L, N';
    if (dq.length !== 3 || dq[2] !== E) throw shapeError('query', `(${layoutName}, ${E}) or (L, ${E})`, dq);
    const [L, N] = this.batchFirst ? [dq[1], dq[0]] : [dq[0], dq[1]];
    const kExpected = this.batchFirst ? `(${N}, S, ${this.kdim})` : `(S, ${N}, ${this.kdim})`;
    if (dk.length !== 3 || dk[2] !== this.kdim || (this.batchFirst ? dk[0] : dk[1]) !== N) {
      throw shapeError('key', `${kExpected} to match query ${shapeStr(dq)}`, dk);
    }
    const S = this.batchFirst ? dk[1] : dk[0];
    const vExpected = this.batchFirst ? [N, S, this.vdim] : [S, N, this.vdim];
    if (dv.length !== 3 || dv.some((d, i) => d !== vExpected[i])) {
      throw shapeError('value', `${shapeStr(vExpected)} to match key ${shapeStr(dk)}`, dv);
    }
    return { batched: true, L, N, S };
  }

  /** Checks a key padding mask's shape ((N, S) or (S) unbatched); returns whether it is boolean. */
  protected checkKeyPaddingMask(mask: MaskView, shape: CallShape): boolean {
    const { dims, boolean } = mask;
    const expected = shape.batched ? [shape.N, shape.S] : [shape.S];
    if (dims.length !== expected.length || dims.some((d, i) => d !== expected[i])) {
      throw shapeError('keyPaddingMask', shapeStr(expected), dims);
    }
    return boolean;
  }

  /**
   * Checks an attention mask over `width` positions ((L, width) or
   * (N·H, L, width); (H, L, width) unbatched; `alsoWidth` is a second width
   * that is accepted) and returns the width given.
   */
  protected checkAttnMask(mask: MaskView, shape: CallShape, widths: number[], what: string): number {
    const { dims } = mask;
    const lead = shape.batched ? shape.N * this.numHeads : this.numHeads;
    for (const w of widths) {
      if (dims.length === 2 && dims[0] === shape.L && dims[1] === w) return w;
      if (dims.length === 3 && dims[0] === lead && dims[1] === shape.L && dims[2] === w) return w;
    }
    const leadName = shape.batched ? `${lead} (N·H)` : `${lead} (H)`;
    const options = widths.flatMap((w) => [`(${shape.L}, ${w})`, `(${leadName}, ${shape.L}, ${w})`]);
    throw shapeError('attnMask', `${options.join(' or ')} over ${what}`, dims);
  }

  /** Rows of an attention mask: L, or N·H·L for a 3-D one. */
  protected static attnMaskRows(mask: MaskView, L: number): number {
    return (mask.dims.length === 3 ? mask.dims[0] : 1) * L;
  }

  /** Bytes between the (n, h) slices of an additive attention mask: none for a 2-D one. */
  protected static attnMaskHeadBytes(mask: MaskView, L: number, P: number): number {
    return mask.dims.length === 3 ? L * P * 4 : 0;
  }

  /** Describes a forward call for the RangeError of one too large for wasm. */
  protected static callContext(query: TensorView, key: TensorView, need: boolean, average: boolean): () => string {
    const weights = need ? (average ? ', averaged weights' : ', per-head weights (averageAttnWeights: false)') : '';
    return () => `forward: query ${shapeStr(query.dims)}, key ${shapeStr(key.dims)}${weights}`;
  }

  /**
   * A forward call's buffers and plan (plan/attention-call.ts), for P keys
   * per batch item; the module adds its own buffers and steps.
   */
  protected newCall(call: string, shape: CallShape, inputs: Inputs, P: number, settings: ForwardSettings): AttentionCall {
    const dims = {
      ...shape,
      E: this.embedDim,
      H: this.numHeads,
      kdim: this.kdim,
      vdim: this.vdim,
      batchFirst: this.batchFirst,
      sequenceFirst: shape.batched && !this.batchFirst && shape.N > 1,
    };
    const weights = settings.need ? { average: settings.average } : null;
    return new AttentionCall(this.heap, call, dims, inputs, P, weights, envValue('scoreBlockFloats'));
  }

  /** forward's options checked, with torch's defaults: needWeights and averageAttnWeights true, no masks. */
  protected readForwardOptions(options: unknown): ForwardSettings {
    const o = readOptions(`${this.className}.forward`, FORWARD_OPTIONS, options);
    return {
      keyPaddingMask: o.keyPaddingMask == null ? null : readMask('keyPaddingMask', o.keyPaddingMask),
      attnMask: o.attnMask == null ? null : readMask('attnMask', o.attnMask),
      need: o.needWeights ?? true,
      average: o.averageAttnWeights ?? true,
    };
  }
}

/** An unexpected state dict entry's shape as given: (2, 3), or its dims as received when they are not a shape. */
function receivedShape(t: unknown): string {
  const dims = t !== null && typeof t === 'object' ? (t as { dims?: unknown }).dims : undefined;
  const isShape = Array.isArray(dims) && dims.every((d) => typeof d === 'number' && Number.isInteger(d) && d >= 0);
  return isShape ? `shape ${shapeStr(dims)}` : `dims ${describeDims(dims)}`;
}

function toMap(source: StateDictSource, prefix: string | undefined): Map<string, Tensor> {
  let entries: Iterable<[string, Tensor]>;
  if (source instanceof ArrayBuffer || ArrayBuffer.isView(source)) entries = parseSafetensors(source);
  else if (source instanceof Map) entries = source;
  else if (source !== null && typeof source === 'object') entries = Object.entries(source);
  else throw typeError('stateDict', 'a plain object or Map of tensors, or .safetensors bytes', source);
  const out = new Map<string, Tensor>();
  for (const [key, t] of entries) {
    if (prefix === undefined) out.set(key, t);
    else if (key.startsWith(prefix)) out.set(key.slice(prefix.length), t);
  }
  return out;
}
