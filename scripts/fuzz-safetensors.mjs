// The long fuzz run of the .safetensors reader (tests/fuzz/safetensors.ts):
// mutated golden files through parseSafetensors and loadStateDict.
//
//   node scripts/fuzz-safetensors.mjs [--runs=1000000] [--seed=N]
//
// Expects `node scripts/build.mjs` to have run (the tests import the package
// from dist/); compiles the tests itself. Exits 1 on any failure, printing
// the seed and the (shrunk) mutation.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const arg = (name, fallback) => {
  const a = process.argv.slice(2).find((x) => x.startsWith(`--${name}=`));
  return a ? Number(a.slice(name.length + 3)) : fallback;
};
const runs = arg('runs', 1_000_000);
const seed = arg('seed', Date.now() % 2 ** 31);
if (!Number.isSafeInteger(runs) || runs <= 0 || !Number.isSafeInteger(seed)) {
  console.error('usage: node scripts/fuzz-safetensors.mjs [--runs=N] [--seed=N]');
  process.exit(2);
}

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const compiled = spawnSync(process.execPath, [tsc, '-p', 'tests/tsconfig.json'], { stdio: 'inherit' });
if (compiled.status !== 0) process.exit(compiled.status ?? 1);

const { init } = await import('linformer-wasm');
const { fuzzSafetensors } = await import(pathToFileURL('build/tests/fuzz/safetensors.js').href);
await init();

console.log(`fuzzing parseSafetensors: ${runs} runs, seed ${seed}`);
const start = Date.now();
const result = fuzzSafetensors({
  runs,
  seed,
  progressEvery: Math.max(1, Math.round(runs / 10)),
  onProgress: (c) => console.log(`  ${c.runs} runs, ${c.parsed} parsed, ${c.rejected} rejected, ${((Date.now() - start) / 1000).toFixed(1)} s`),
});
const { failures, ms, slowestMs, reasons, ...counts } = result;
console.log('rejections by rule:');
for (const [reason, n] of Object.entries(reasons)) console.log(`  ${String(n).padStart(8)}  ${reason}`);
console.log(
  `${counts.runs} runs in ${(ms / 1000).toFixed(1)} s: ${counts.parsed} parsed (${counts.loaded} loaded, ${counts.loadRejected} refused by loadStateDict), ` +
    `${counts.rejected} rejected; slowest parse ${slowestMs.toFixed(2)} ms`,
);
if (failures.length) {
  console.error(`FAILED (seed ${seed}; repeat with --seed=${seed}):`);
  for (const f of failures) console.error(`  ${f.shrunk ? 'shrunk' : 'first'}: ${f.problem}\n    mutation ${f.mutation}${f.path ? `\n    path ${f.path}` : ''}`);
  process.exit(1);
}
