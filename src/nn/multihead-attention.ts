import { ScratchLayout } from '../core/scratch.js';
import type { Tensor } from '../core/tensor.js';
import { AttentionBase } from './attention-base.js';
import type { AttentionOutput, ForwardOptions, MultiheadAttentionOptions } from './types.js';

/**
 * Standard softmax attention, exactly torch.nn.MultiheadAttention in eval
 * mode (SPEC 4.1): in-projection, q·d^-1/2, bias_k/bias_v and the zero
 * attention row appended, masks (a float padding mask and a float attention
 * mask are added, as torch 2.x does), softmax, out-projection.
 */
export class MultiheadAttention extends AttentionBase {
  constructor(embedDim: number, numHeads: number, options: MultiheadAttentionOptions = {}) {
    super('MultiheadAttention', embedDim, numHeads, options);
    this.initialise(AttentionBase.generatorFor(options));
    this.upload();
  }

  /**
   * query (L, N, E), key (S, N, kdim), value (S, N, vdim) — (N, ·, ·) with
   * batchFirst, or without N unbatched. Returns the output and, unless
   * needWeights is false, the weights (N, L, P) or (N, H, L, P), where P = S
   * plus one for addBiasKV and one for addZeroAttn.
   */
  forward(query: Tensor, key: Tensor, value: Tensor, options: ForwardOptions = {}): AttentionOutput {
    this.checkAlive();
    const shape = this.parseInputs(query, key, value);
    const { L, N, S } = shape;
    const H = this.numHeads;
    const { need, average } = AttentionBase.weightFlags(options);
    const kpm = options.keyPaddingMask ?? null;
    const am = options.attnMask ?? null;
    if (kpm) this.checkKeyPaddingMask(kpm, shape);
    const amWidth = am ? this.checkAttnMask(am, shape, [S], 'the source positions') : 0;

    // P keys per batch item: S, bias_k's row, the zero row.
    const P = S + (this.addBiasKV ? 1 : 0) + (this.addZeroAttn ? 1 : 0);
    const layout = new ScratchLayout();
    const weightsFloats = need ? (average ? N * L * P : N * H * L * P) : null;
    const buf = this.layoutCall(layout, shape, P, weightsFloats);
    const inputs = { query, key, value };
    const kv = this.layoutKeyValues(layout, buf, shape, inputs, P);
    const amSlot = am ? layout.floats(this.attnMaskRows(am, L) * P) : null;
    const kpmSlot = kpm ? layout.floats(N * P) : null;
    layout.place(this.heap, AttentionBase.callContext(query, key, need, average));

    this.writeInputs(buf, kv, inputs, shape);
    this.projectQuery(buf, shape);
    this.projectKeyValues(kv, shape, P);
    const placedAttnMask = am ? this.placeAttnMask(amSlot!, am, amWidth, P, L) : null;
    if (kpm) this.writeAdditiveMask(kpmSlot!, kpm, N, S, P);
    this.attendHeads(buf, shape, kv.k, kv.v, P, placedAttnMask, kpmSlot, average);
    return this.finish(buf, shape, P, average);
  }
}
