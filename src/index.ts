// The public API, shared by every runtime entry (index.node.ts,
// index.browser.ts); each entry only adds where the wasm is found by default.

export {
  init,
  backendInfo,
  loaderState,
  type BackendInfo,
  type InitOptions,
  type LoaderState,
  type ResponseLike,
  type WasmBuilds,
  type WasmSource,
} from './core/loader.js';
export type { MaskTensor, OutputTensor, Tensor, TensorData, TensorLike } from './core/tensor.js';
export type { MemoryUsage } from './core/heap.js';
export type { GemmTile } from './core/gemm-tile.js';
export { env } from './env.js';
export { stopThreads } from './threads/threads.js';
export { MultiheadAttention } from './nn/multihead-attention.js';
export { LinearMultiheadAttention } from './nn/linear-multihead-attention.js';
export { manualSeed } from './nn/init.js';
export type {
  AttentionOutput,
  ForwardOptions,
  LinearMultiheadAttentionOptions,
  LoadOptions,
  MultiheadAttentionOptions,
  ParamSharing,
  StateDictSource,
} from './nn/types.js';
export { parseSafetensors } from './io/safetensors.js';
export * as ops from './ops/index.js';

import { getHeap } from './core/loader.js';
import type { MemoryUsage } from './core/heap.js';

/** The wasm memory in use: its size, what is allocated, the scratch region and the peak. */
export function memoryUsage(): MemoryUsage {
  return getHeap().usage();
}
