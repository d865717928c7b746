import type { MaskTensor, OutputTensor, Tensor, TensorLike } from '../core/tensor.js';
import type { LinearMultiheadAttention } from './linear-multihead-attention.js';

/** Options shared by both modules, as torch.nn.MultiheadAttention names them (camelCase). */
export interface MultiheadAttentionOptions {
  /** Biases on the in- and out-projections. @defaultValue true */
  bias?: boolean;
  /** Learned bias_k / bias_v appended to the keys and values as one more position. @defaultValue false */
  addBiasKV?: boolean;
  /** A zero key and value appended after everything else. @defaultValue false */
  addZeroAttn?: boolean;
  /** Feature size of the key, a positive integer; null (torch's None) is the default too. @defaultValue embedDim */
  kdim?: number;
  /** Feature size of the value, a positive integer; null (torch's None) is the default too. @defaultValue embedDim */
  vdim?: number;
  /** A number in [0, 1], kept for parity with torch; the forward pass runs as torch's eval mode. @defaultValue 0 */
  dropout?: number;
  /** Inputs and outputs as (N, L, E) instead of (L, N, E). @defaultValue false */
  batchFirst?: boolean;
  /** Seed for this module's initial weights, an integer in [0, 2³² − 1]; without it the default generator (manualSeed) is used. */
  seed?: number;
}

/** How Linformer's E (keys) and F (values) projections are shared (docs/semantics.md). */
export type ParamSharing = 'none' | 'layerwise' | 'kv' | 'per-head';

/** Options of LinearMultiheadAttention: those of MultiheadAttention and Linformer's projections, as torch's Linformer names them. */
export interface LinearMultiheadAttentionOptions extends MultiheadAttentionOptions {
  /** Longest source length the E/F projections accept (torch: seq_len). @defaultValue 512 */
  seqLen?: number;
  /** Projected length k (torch: proj_k). @defaultValue 128 */
  projK?: number;
  /** @defaultValue 'none' */
  paramSharing?: ParamSharing;
  /**
   * With paramSharing 'layerwise': use this other module's E (the paper's
   * sharing across a stack of layers). Its bias_e/bias_f stay this module's own.
   */
  shareWith?: LinearMultiheadAttention;
}

/**
 * Options of forward(), as torch's forward names them (camelCase). A mask may
 * be another library's tensor (an onnxruntime-web bool tensor) as long as its
 * data is a {@link MaskTensor}'s at run time.
 */
export interface ForwardOptions {
  /** (N, S), or (S) unbatched: boolean (true = ignore that key) or additive float. */
  keyPaddingMask?: MaskTensor | TensorLike | null;
  /** Return the attention weights. @defaultValue true */
  needWeights?: boolean;
  /** (L, S) or (N·H, L, S); for Linformer over the projected positions, (L, k) or (N·H, L, k). */
  attnMask?: MaskTensor | TensorLike | null;
  /** Average the weights over heads. @defaultValue true */
  averageAttnWeights?: boolean;
}

/** What forward() returns, as torch's (attn_output, attn_output_weights). */
export interface AttentionOutput {
  /** (L, N, E), (N, L, E) with batchFirst, or (L, E) unbatched. */
  output: OutputTensor;
  /** (N, L, P) averaged or (N, H, L, P); null unless needWeights. */
  weights: OutputTensor | null;
}

/** torch state_dict: a plain object or Map of tensors, or the bytes of a .safetensors file. */
export type StateDictSource = Record<string, Tensor> | Map<string, Tensor> | ArrayBuffer | ArrayBufferView;

/** Options of loadStateDict(). */
export interface LoadOptions {
  /**
   * Load only the keys that start with this prefix, with it removed (e.g.
   * 'encoder.layers.0.self_attn.' from a whole model's state_dict). Keys
   * without it are then ignored.
   */
  prefix?: string;
}
