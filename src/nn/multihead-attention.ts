import { getHeap } from '../core/loader.js';
import type { TensorLike } from '../core/tensor.js';
import { AttentionBase, MODULE_OPTIONS } from './attention-base.js';
import type { AttentionOutput, ForwardOptions, MultiheadAttentionOptions } from './types.js';

/**
 * Standard softmax attention, exactly torch.nn.MultiheadAttention in eval
 * mode (docs/semantics.md): in-projection, q·d^-1/2, bias_k/bias_v and the zero
 * attention row appended, masks (a float padding mask and a float attention
 * mask are added, as torch 2.x does), softmax, out-projection.
 */
export class MultiheadAttention extends AttentionBase {
  /**
   * `options` null or undefined: torch's defaults. An unknown key (torch's
   * batch_first, a typo) is a TypeError that names the camelCase key to use;
   * a value of the wrong type is a TypeError, a number out of range a RangeError.
   */
  constructor(embedDim: number, numHeads: number, options?: MultiheadAttentionOptions | null) {
    // One heap call: arguments read and checked, buffers allocated, weights
    // packed; a failure at any step frees what was allocated.
    const heap = getHeap();
    heap.begin('MultiheadAttention');
    // Set once the buffers exist (the catch block may not name `this` itself).
    let freeBuffers: (() => void) | null = null;
    try {
      const checked = AttentionBase.checkArguments('MultiheadAttention', embedDim, numHeads, MODULE_OPTIONS, options);
      super('MultiheadAttention', embedDim, numHeads, checked);
      freeBuffers = () => this.freeBuffers();
      this.initialise(AttentionBase.generatorFor(checked));
      this.upload();
    } catch (e) {
      freeBuffers?.();
      throw e;
    } finally {
      heap.end();
    }
  }

  /**
   * query (L, N, E), key (S, N, kdim), value (S, N, vdim) — (N, ·, ·) with
   * batchFirst, or without N unbatched. Returns the output and, unless
   * needWeights is false, the weights (N, L, P) or (N, H, L, P), where P = S
   * plus one for addBiasKV and one for addZeroAttn. `options` null or
   * undefined: torch's defaults.
   */
  forward(query: TensorLike, key: TensorLike, value: TensorLike, options?: ForwardOptions | null): AttentionOutput {
    return this.heap.call('MultiheadAttention.forward', () => this.run(query, key, value, options));
  }

  private run(query: unknown, key: unknown, value: unknown, options: unknown): AttentionOutput {
    this.checkAlive('forward');
    const settings = this.readForwardOptions(options);
    const { keyPaddingMask: kpm, attnMask: am } = settings;
    const { inputs, shape } = this.readInputs(query, key, value);
    const { L, N, S } = shape;
    const E = this.embedDim;
    if (kpm) this.checkKeyPaddingMask(kpm, shape);
    const amWidth = am ? this.checkAttnMask(am, shape, [S], 'the source positions') : 0;

    // P keys per batch item: S, bias_k's row, the zero row.
    const P = S + (this.addBiasKV ? 1 : 0) + (this.addZeroAttn ? 1 : 0);
    const call = this.newCall('MultiheadAttention.forward', shape, inputs, P, settings);
    const k = call.floats(N * P * E);
    const v = call.floats(N * P * E);
    // Both masks are added to the scores, as torch 2.x does (a float key padding mask included).
    const attnMask = am ? call.additiveMask(am, AttentionBase.attnMaskRows(am, L), amWidth) : null;
    const keyMask = kpm ? call.additiveMask(kpm, N, S) : null;
    call.place(AttentionBase.callContext(inputs.query, inputs.key, settings.need, settings.average));

    // Rows S… of each batch item: bias_k's (bias_v's) row, then the zero-attention row.
    call.padRows(k, P, S, this.params.get('bias_k'));
    call.padRows(v, P, S, this.params.get('bias_v'));
    call.projectQuery(this.packedQ);
    call.projectKeysAndValues(k, v, P, this.packedK, this.packedV);
    const maskHeadBytes = am ? AttentionBase.attnMaskHeadBytes(am, L, P) : 0;
    call.attendAndProject(k, v, attnMask?.ptr ?? 0, maskHeadBytes, keyMask?.ptr ?? 0, this.packedOut);
    return call.run();
  }
}
