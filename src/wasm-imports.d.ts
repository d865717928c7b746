// The wasm builds imported by src/index.inline.ts, as esbuild's binary loader
// hands them over.
declare module '*.wasm' {
  const bytes: Uint8Array<ArrayBuffer>;
  export default bytes;
}
