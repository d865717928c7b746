// as-pect configuration for the kernel specs, relaxed-SIMD build:
//   npm run test:kernels:relaxed
// = node --experimental-wasm-relaxed-simd node_modules/@as-pect/cli/lib/test.js
//     --config as-pect.relaxed.config.js --as-config as-pect.relaxed.asconfig.json
// (Node 20 needs the flag, and `asp` would start a second node without it.)
// as-pect.relaxed.asconfig.json extends as-pect.asconfig.json with
// "enable": ["simd", "relaxed-simd"], which turns on ASC_FEATURE_RELAXED_SIMD
// and so f32x4.relaxed_madd in assembly/inline/simd.ts.
import { aspectConfig } from "./as-pect.config.js";

export default aspectConfig(true);
