// as-pect configuration for the kernel specs, plain SIMD build:
//   npm run test:kernels   (asp --config as-pect.config.js --as-config as-pect.asconfig.json)
// The compiler features (simd) come from as-pect.asconfig.json; the relaxed
// run uses as-pect.relaxed.config.js with as-pect.relaxed.asconfig.json.
// Every spec is its own module with its own memory; the kernels take raw
// byte offsets into it, allocated in the specs with heap.alloc.

/** Builds the config; `relaxed` is what assembly/__tests__/build.spec.ts expects. */
export function aspectConfig(relaxed) {
  return {
    /** The spec files: one wasm module each. */
    entries: ["assembly/__tests__/**/*.spec.ts"],
    /** Files added to every compilation (none so far). */
    include: ["assembly/__tests__/**/*.include.ts"],
    disclude: [/node_modules/],
    async instantiate(memory, createImports, instantiate, binary) {
      return instantiate(binary, createImports({
        env: { memory },
        aspect_build: { relaxedExpected: () => (relaxed ? 1 : 0) },
      }));
    },
    outputBinary: false,
  };
}

export default aspectConfig(false);
