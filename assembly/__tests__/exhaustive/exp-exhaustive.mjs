// Measures exp_f32x4's error over every f32 in [-87.3, 88] (≈ 2.24e9 values,
// about half a minute per build on one core), in the plain SIMD build and,
// when this node runs relaxed SIMD, in the relaxed build (fused madd):
//
//   node --experimental-wasm-relaxed-simd assembly/__tests__/exhaustive/exp-exhaustive.mjs [lo hi]
//
// Not part of `npm run test:kernels` (too slow); the dense sweep in
// exp.spec.ts is. Re-run it when assembly/inline/exp.ts changes and update
// the figure in assembly/README.md.
import asc from "assemblyscript/dist/asc.js";
import { fileURLToPath } from "node:url";

const source = fileURLToPath(new URL("./exp_sweep.ts", import.meta.url));
const lo = Number(process.argv[2] ?? -87.3);
const hi = Number(process.argv[3] ?? 88);

async function build(features) {
  let binary;
  const { error, stderr } = await asc.main(
    [source, "-O3", "--runtime", "stub", "--use", "abort=", ...features.flatMap((f) => ["--enable", f]), "--outFile", "sweep.wasm"],
    { writeFile(name, contents) { if (name.endsWith(".wasm")) binary = contents; } },
  );
  if (error) throw new Error(stderr.toString());
  return binary;
}

const bits = (x) => new Uint32Array(new Float32Array([x]).buffer)[0];
const ranges = [];
if (lo < 0) ranges.push([`[${lo}, -0]`, 0x80000000, bits(lo)]);
if (hi >= 0) ranges.push([`[+0, ${hi}]`, 0, bits(hi)]);

for (const [name, features] of [["simd", ["simd"]], ["relaxed", ["simd", "relaxed-simd"]]]) {
  const binary = await build(features);
  if (!WebAssembly.validate(binary)) {
    console.log(`${name}: this node does not run relaxed SIMD (run node with --experimental-wasm-relaxed-simd)`);
    continue;
  }
  // asc also reads the project's asconfig.json, whose options import memory.
  const { instance } = await WebAssembly.instantiate(binary, { env: { memory: new WebAssembly.Memory({ initial: 1 }) } });
  const e = instance.exports;
  let worstUlp = 0, worstRel = 0, total = 0;
  for (const [range, a, b] of ranges) {
    const t0 = Date.now();
    e.reset();
    e.sweep(a, b);
    total += e.getCount();
    worstUlp = Math.max(worstUlp, e.getMaxUlp());
    worstRel = Math.max(worstRel, e.getMaxRel());
    console.log(`${name} ${range}: ${e.getCount()} values, max ${e.getMaxUlp().toFixed(4)} ulp at x = ${e.getMaxUlpX()}, ` +
      `max relative ${e.getMaxRel().toExponential(3)} at x = ${e.getMaxRelX()} (${Date.now() - t0} ms)`);
  }
  console.log(`${name}: ${total} values, max ${worstUlp.toFixed(4)} ulp, max relative ${worstRel.toExponential(3)}`);
}
