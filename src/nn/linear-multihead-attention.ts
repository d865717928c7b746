import { shapeStr, typeError } from '../core/errors.js';
import { rule, type OptionValues, type SchemaOf } from '../core/options.js';
import type { Heap } from '../core/heap.js';
import { packedSize } from '../core/kernels.js';
import { projectInputsFirst, projectKeysFirst, type LinformerParts } from '../plan/linformer-steps.js';
import { checkFinite, type TensorLike, type TensorView } from '../core/tensor.js';
import { getHeap } from '../core/loader.js';
import { AttentionBase, MODULE_OPTIONS, type ParamShapes } from './attention-base.js';
import { envValue } from '../env.js';
import { Generator, xavierNormal, xavierUniform } from './init.js';
import type { AttentionOutput, ForwardOptions, LinearMultiheadAttentionOptions, ParamSharing } from './types.js';

const SHARING: readonly ParamSharing[] = ['none', 'layerwise', 'kv', 'per-head'];

/**
 * A sequence projection (E or F) in wasm, shared by reference: layerwise
 * sharing lets several modules use one E, which lives until the last of
 * them is disposed, whatever the order.
 */
class SharedProjection {
  private refs = 1;

  /** `ptr`: data.length floats the module allocated for it. */
  constructor(
    private readonly heap: Heap,
    readonly ptr: number,
    readonly data: Float32Array,
  ) {
    this.set(data);
  }

  /** Replaces the values in place, so every module sharing it sees them. */
  set(values: Float32Array): void {
    this.data.set(values);
    this.heap.write(this.ptr, this.data);
  }

  retain(): this {
    this.refs++;
    return this;
  }

  release(): void {
    if (--this.refs === 0) this.heap.release(this.ptr);
  }
}

/**
 * Linformer's linear attention (Wang et al. 2020), as the PyTorch module
 * LinearMultiheadAttention defines it, with its head layout fixed (docs/semantics.md):
 * keys and values are projected along the sequence to k positions by E and
 * F, so attention costs O(L·k) instead of O(L·S).
 */
export class LinearMultiheadAttention extends AttentionBase {
  readonly seqLen: number;
  readonly projK: number;
  readonly paramSharing: ParamSharing;
  private readonly eProj: SharedProjection;
  /** F when it is separate; null when F = E ('layerwise', 'kv'). */
  private readonly fProj: SharedProjection | null;
  /** True when E belongs to another module (shareWith). */
  private readonly sharesE: boolean;
  private readonly biasE: number;
  private readonly biasF: number;
  /** [Wkᵀ; bk; bias_k] and [Wvᵀ; bv; bias_v], packed: the in-projections for the 'inputs' order. */
  private readonly packedAugK: number;
  private readonly packedAugV: number;

  /**
   * `options` null or undefined: the defaults (seqLen 512, projK 128,
   * paramSharing 'none', torch's for the rest). An unknown key (the PyTorch
   * module's seq_len, a typo) is a TypeError that names the camelCase key to
   * use; a value of the wrong type is a TypeError, a number out of range a RangeError.
   */
  constructor(embedDim: number, numHeads: number, options?: LinearMultiheadAttentionOptions | null) {
    // One heap call: everything is read and checked, then allocated at once
    // (the base's buffers and these), then initialised; the shared E is
    // retained last. A failure at any step frees what was allocated.
    const heap = getHeap();
    heap.begin('LinearMultiheadAttention');
    // Set once the buffers exist (the catch block may not name `this` itself).
    let freeBuffers: (() => void) | null = null;
    try {
      const opts = AttentionBase.checkArguments('LinearMultiheadAttention', embedDim, numHeads, LinearMultiheadAttention.OPTIONS, options);
      const checked = LinearMultiheadAttention.checkOptions(embedDim, numHeads, opts);
      super('LinearMultiheadAttention', embedDim, numHeads, opts, checked.ownSizes);
      freeBuffers = () => this.freeBuffers();
      this.seqLen = checked.seqLen;
      this.projK = checked.projK;
      this.paramSharing = checked.paramSharing;
      const owner = opts.shareWith;
      this.sharesE = owner !== undefined;
      const [biasE, biasF, augK, augV, eOwn, fOwn] = this.ownBuffers;
      this.biasE = biasE;
      this.biasF = biasF;
      // Per-head E_h always takes the 'keys' order, which needs no augmented weights.
      this.packedAugK = this.paramSharing === 'per-head' ? 0 : augK;
      this.packedAugV = this.paramSharing === 'per-head' ? 0 : augV;

      const g = AttentionBase.generatorFor(opts);
      this.initialise(g);
      const eShape = this.projShape();
      const eData = owner ? null : this.initProjection(g, eShape);
      const fData = this.separateF ? this.initProjection(g, eShape) : null;
      const k = this.projK;
      this.params.set('bias_e', xavierNormal(g, [1, 1, k]));
      this.params.set('bias_f', xavierNormal(g, [1, 1, k]));
      this.eProj = eData ? new SharedProjection(this.heap, eOwn, eData) : owner!.eProj;
      // 'none' and 'per-head' have an F of their own, and never borrow E.
      this.fProj = fData ? new SharedProjection(this.heap, fOwn, fData) : null;
      this.upload();
      if (owner) owner.eProj.retain();
    } catch (e) {
      freeBuffers?.();
      throw e;
    } finally {
      heap.end();
    }
  }

  /** MultiheadAttention's options, the PyTorch Linformer module's seq_len, proj_k and param_sharing, and shareWith. */
  private static readonly OPTIONS = {
    ...MODULE_OPTIONS,
    seqLen: rule.positiveInteger,
    projK: rule.positiveInteger,
    paramSharing: rule.oneOf(SHARING),
    shareWith: rule.instanceOf(LinearMultiheadAttention, 'LinearMultiheadAttention'),
  } as const satisfies SchemaOf<LinearMultiheadAttentionOptions>;

  /**
   * How the Linformer options fit together (their types and ranges are
   * checked by then), and the bytes of this module's own buffers; allocates nothing.
   */
  private static checkOptions(embedDim: number, numHeads: number, options: OptionValues<typeof LinearMultiheadAttention.OPTIONS>) {
    const seqLen = options.seqLen ?? 512;
    const projK = options.projK ?? 128;
    const paramSharing = options.paramSharing ?? 'none';
    const owner = options.shareWith;
    if (owner !== undefined) {
      if (owner.isDisposed) throw new Error('LinearMultiheadAttention: shareWith: the module it points to has been disposed');
      if (paramSharing !== 'layerwise' || owner.paramSharing !== 'layerwise') {
        throw new RangeError(
          `LinearMultiheadAttention: shareWith needs paramSharing 'layerwise' on both modules, got '${paramSharing}' and '${owner.paramSharing}'`,
        );
      }
      if (owner.seqLen !== seqLen || owner.projK !== projK) {
        throw new RangeError(
          `LinearMultiheadAttention: shareWith: E of the other module is (${owner.projK}, ${owner.seqLen}), this module needs (${projK}, ${seqLen})`,
        );
      }
    }
    const perHead = paramSharing === 'per-head';
    const matrices = (owner ? 0 : 1) + (paramSharing === 'none' || perHead ? 1 : 0);
    const projBytes = matrices * (perHead ? numHeads : 1) * projK * seqLen * 4;
    getHeap().checkFits(
      projBytes,
      `LinearMultiheadAttention: ${matrices} sequence projection(s) of (${perHead ? `numHeads ${numHeads}, ` : ''}projK ${projK}, seqLen ${seqLen})`,
    );
    const E = embedDim;
    const augmented = (features: number) => (perHead ? 0 : packedSize(features + 2, E) * 4);
    // bias_e, bias_f, the augmented k and v weights, then E and F where this module owns them.
    const projection = (perHead ? numHeads : 1) * projK * seqLen * 4;
    const ownSizes = [projK * 4, projK * 4, augmented(options.kdim ?? E), augmented(options.vdim ?? E), ...Array(matrices).fill(projection)];
    return { seqLen, projK, paramSharing, ownSizes };
  }

  /** F is a parameter of its own ('none', 'per-head'); else F = E. */
  private get separateF(): boolean {
    return this.paramSharing === 'none' || this.paramSharing === 'per-head';
  }

  /** (k, seqLen), or (H, k, seqLen) per head. */
  private projShape(): number[] {
    return this.paramSharing === 'per-head' ? [this.numHeads, this.projK, this.seqLen] : [this.projK, this.seqLen];
  }

  /** xavier-uniform; per head, each (k, seqLen) slice on its own. */
  private initProjection(g: Generator, shape: number[]): Float32Array {
    if (shape.length === 2) return xavierUniform(g, shape);
    const out = new Float32Array(shape[0] * shape[1] * shape[2]);
    const slice = shape[1] * shape[2];
    for (let h = 0; h < shape[0]; h++) out.set(xavierUniform(g, shape.slice(1)), h * slice);
    return out;
  }

  protected override paramShapes(): ParamShapes {
    const shapes = super.paramShapes();
    const eShape = this.projShape();
    if (!this.sharesE) shapes.set('e_proj_weight', eShape);
    if (this.separateF) shapes.set('f_proj_weight', eShape);
    shapes.set('bias_e', [1, 1, this.projK]);
    shapes.set('bias_f', [1, 1, this.projK]);
    return shapes;
  }

  protected override optionalKeys(): Map<string, (t: TensorView, read: ReadonlyMap<string, TensorView>) => void> {
    const keys = super.optionalKeys();
    if (this.sharesE) {
      const refuse = (key: string) => () => {
        throw new RangeError(
          `state_dict: unexpected key '${key}': this module uses another module's E (shareWith); load E into that module`,
        );
      };
      keys.set('e_proj_weight', refuse('e_proj_weight'));
      keys.set('f_proj_weight', refuse('f_proj_weight'));
    } else if (!this.separateF) {
      // F = E: an f_proj_weight may come along, but only equal to E.
      keys.set('f_proj_weight', (t, read) => {
        const e = read.get('e_proj_weight')!;
        const dims = t.dims;
        const ok = dims.length === e.dims.length && dims.every((d, i) => d === e.dims[i]) && t.data.every((v, i) => v === e.data[i]);
        if (!ok) {
          throw new RangeError(
            `state_dict['f_proj_weight'] ${shapeStr(dims)} differs from e_proj_weight ${shapeStr(e.dims)}, but paramSharing '${this.paramSharing}' uses F = E`,
          );
        }
        checkFinite("state_dict['f_proj_weight']", t.data);
      });
    }
    return keys;
  }

  protected override upload(): void {
    super.upload();
    // E and F live in their SharedProjection; params keeps their arrays so
    // that stateDict() reads them like any other parameter.
    const e = this.params.get('e_proj_weight');
    if (e && e !== this.eProj.data) this.eProj.set(e);
    if (!this.sharesE) this.params.set('e_proj_weight', this.eProj.data);
    const f = this.params.get('f_proj_weight');
    if (this.fProj) {
      if (f && f !== this.fProj.data) this.fProj.set(f);
      this.params.set('f_proj_weight', this.fProj.data);
    }
    this.heap.write(this.biasE, this.params.get('bias_e')!);
    this.heap.write(this.biasF, this.params.get('bias_f')!);
    this.packAugmented();
  }

  /** Packs [Wᵀ; b; bias_kv] for k and v (see writeAugmented); nothing per head. */
  private packAugmented(): void {
    if (this.packedAugK === 0) return;
    const E = this.embedDim;
    const augment = (which: 'k' | 'v', features: number) => {
      const { weight, bias } = this.inProjection(which);
      const extra = this.params.get(which === 'k' ? 'bias_k' : 'bias_v');
      const out = new Float32Array(E * (features + 2));
      for (let j = 0; j < E; j++) {
        const row = j * (features + 2);
        out.set(weight.subarray(j * features, (j + 1) * features), row);
        out[row + features] = bias ? bias[j] : 0;
        out[row + features + 1] = extra ? extra[j] : 0;
      }
      return out;
    };
    this.packLinear(this.packedAugK, augment('k', this.kdim), null, E, this.kdim + 2);
    this.packLinear(this.packedAugV, augment('v', this.vdim), null, E, this.vdim + 2);
  }

  /** The augmented in-projections are packed too (see packAugmented). */
  protected override linearShapes(): [number, number][] {
    const E = this.embedDim;
    return [...super.linearShapes(), [E, this.kdim + 2], [E, this.vdim + 2]];
  }

  /**
   * E is shared by reference (shareWith): this module frees its other
   * buffers and lets go of E, which is freed with its last user, whichever
   * module that is.
   */
  protected override disposeBuffers(): void {
    this.freeBuffers(this.sharesE ? -1 : this.eProj.ptr);
    this.eProj.release();
  }

  /**
   * query (L, N, E), key (S, N, kdim), value (S, N, vdim) — (N, ·, ·) with
   * batchFirst, or without N unbatched; S (plus one with addBiasKV) ≤ seqLen.
   * keyPaddingMask (N, S) is boolean: masked keys and values are zeroed before
   * the sequence projection. attnMask is over the k projected positions.
   * Returns the output and, unless needWeights is false, the weights
   * (N, L, P) or (N, H, L, P), P = k (+1 with addZeroAttn). `options` null
   * or undefined: torch's defaults.
   */
  forward(query: TensorLike, key: TensorLike, value: TensorLike, options?: ForwardOptions | null): AttentionOutput {
    return this.heap.call('LinearMultiheadAttention.forward', () => this.run(query, key, value, options));
  }

  private run(query: unknown, key: unknown, value: unknown, options: unknown): AttentionOutput {
    this.checkAlive('forward');
    const settings = this.readForwardOptions(options);
    const { keyPaddingMask: kpm, attnMask: am } = settings;
    const { inputs, shape } = this.readInputs(query, key, value);
    const { L, N, S } = shape;
    const E = this.embedDim;
    const k = this.projK;
    const S1 = S + (this.addBiasKV ? 1 : 0);
    if (S1 > this.seqLen) {
      throw new RangeError(
        `key: sequence length ${S}${this.addBiasKV ? ' + 1 (bias_k)' : ''} exceeds seqLen ${this.seqLen} of the E/F projections (key ${shapeStr(inputs.key.dims)})`,
      );
    }
    if (kpm) {
      if (!this.checkKeyPaddingMask(kpm, shape)) {
        throw typeError('keyPaddingMask.data', 'Uint8Array (Linformer takes a boolean key padding mask only)', kpm.data);
      }
    }
    const P = k + (this.addZeroAttn ? 1 : 0);
    const amWidth = am ? this.checkAttnMask(am, shape, this.addZeroAttn ? [k, k + 1] : [k], `the ${k} projected positions`) : 0;

    const call = this.newCall('LinearMultiheadAttention.forward', shape, inputs, P, settings);
    const kProj = call.floats(N * P * E);
    const vProj = call.floats(N * P * E);
    const attnMask = am ? call.additiveMask(am, AttentionBase.attnMaskRows(am, L), amWidth) : null;
    const padding = kpm ? call.maskCopy(kpm) : null;
    const order = this.projectionOrder(S1, inputs) === 'inputs' ? projectInputsFirst : projectKeysFirst;
    const project = order(call, S1, kProj, vProj, padding, this.wasmParts());
    call.place(AttentionBase.callContext(inputs.query, inputs.key, settings.need, settings.average));

    // Row k of the projected keys and values, with addZeroAttn: the zero-attention row.
    call.padRows(kProj, P, k);
    call.padRows(vProj, P, k);
    call.projectQuery(this.packedQ);
    project();
    const maskHeadBytes = am ? AttentionBase.attnMaskHeadBytes(am, L, P) : 0;
    call.attendAndProject(kProj, vProj, attnMask?.ptr ?? 0, maskHeadBytes, 0, this.packedOut);
    return call.run();
  }

  /** What the forward plan reads of this module in wasm. */
  private wasmParts(): LinformerParts {
    return {
      packedK: this.packedK,
      packedV: this.packedV,
      packedAugK: this.packedAugK,
      packedAugV: this.packedAugV,
      e: this.eProj.ptr,
      f: (this.fProj ?? this.eProj).ptr,
      separateF: this.fProj !== null,
      biasE: this.biasE,
      biasF: this.biasF,
      seqLen: this.seqLen,
      projK: this.projK,
      perHead: this.paramSharing === 'per-head',
      biasK: this.params.get('bias_k'),
      biasV: this.params.get('bias_v'),
    };
  }

  /**
   * Which of two equal orders is cheaper for these sizes (env.sequenceProjection
   * may force one): 'keys' in-projects all S keys and values, then projects
   * them along the sequence, as the paper writes it; 'inputs' projects the
   * raw inputs along the sequence first, then in-projects only k rows:
   *   E·(X·Wᵀ + 1·bᵀ) = (E·X)·Wᵀ + (E·1)·bᵀ.
   * Per-head E_h would need one input projection per head, so per-head
   * sharing always takes 'keys'.
   */
  private projectionOrder(S1: number, inputs: { key: TensorView; value: TensorView }): 'inputs' | 'keys' {
    if (this.paramSharing === 'per-head') return 'keys';
    const forced = envValue('sequenceProjection');
    if (forced !== 'auto') return forced;
    const E = this.embedDim;
    const k = this.projK;
    const wk = this.kdim + 2;
    const wv = this.vdim + 2;
    const keysCost = S1 * (this.kdim + this.vdim) * E + 2 * k * S1 * E;
    const sameProjection = inputs.key === inputs.value && this.fProj === null;
    const inputsCost = k * S1 * (sameProjection ? wk : wk + wv) + k * (wk + wv) * E;
    return inputsCost < keysCost ? 'inputs' : 'keys';
  }
}
