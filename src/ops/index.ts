// The kernels themselves, on the same { data, dims } tensors as the modules.
export { matmul, prepack, PackedMatrix, type MatmulOptions, type MatmulOutOptions } from './matmul.js';
export { linear } from './linear.js';
export { softmax } from './softmax.js';
