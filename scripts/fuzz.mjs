// The long fuzzing run: at least 100 000 calls of every public entry
// (tests/fuzz/api.ts, in a worker under a watchdog) and, when the safetensors
// fuzzer (tests/fuzz/safetensors.ts) is there, 1 000 000 mutated files. Prints
// the counts and every kind of failure with its (shrunk) counterexample;
// exits 1 on any failure.
//
//   node scripts/fuzz.mjs [--calls N] [--safetensors-runs N] [--seed S] [--hang-ms MS]
//
// Needs dist/ (node scripts/build.mjs); compiles the tests itself. The wasm
// build is the one tests/helpers/setup.ts picks (LINFORMER_TEST_BUILD).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { integerOption } from './lib/options.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const option = (name, fallback) => integerOption(args, name, fallback);
const calls = option('calls', 100_000);
const safetensorsRuns = option('safetensors-runs', 1_000_000);
const seed = option('seed', process.env.FC_SEED ? Number(process.env.FC_SEED) : Math.floor(Math.random() * 2 ** 31));
const hangMs = option('hang-ms', 5000);

if (!existsSync(path.join(root, 'dist/index.node.js'))) {
  console.error('fuzz: dist/ is missing; run `node scripts/build.mjs` first');
  process.exit(2);
}
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
// other test files may not compile at a given moment: tsc still writes what it can
spawnSync(process.execPath, [tsc, '-p', 'tests/tsconfig.json'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
const apiFile = path.join(root, 'build/tests/fuzz/api.js');
if (!existsSync(apiFile)) {
  console.error('fuzz: build/tests/fuzz/api.js was not built');
  process.exit(2);
}

const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(0)} s`;
let failed = false;

// ---------------------------------------------------------------- the API
console.log(`API fuzzing: ${calls} calls, seed ${seed} (--seed ${seed} replays it)`);
const { fuzzApiInWorker } = await import(pathToFileURL(apiFile).href);
let nextReport = 10_000;
const api = await fuzzApiInWorker({
  runs: calls,
  seed,
  hangMs,
  onProgress: (c) => {
    if (c.calls < nextReport) return;
    nextReport += 10_000;
    console.log(`  ${c.calls} calls, ${c.answered} answered, ${Object.values(c.rejected).reduce((a, b) => a + b, 0)} rejected, ${c.failedCalls} failed (${elapsed()})`);
  },
  onFailure: (f) => console.log(`  failure: ${f.signature}`),
});
printApi(api);
if (api.failures.length > 0 || api.calls < calls) failed = true;

// ---------------------------------------------------------------- safetensors files
const safetensorsFile = path.join(root, 'build/tests/fuzz/safetensors.js');
if (safetensorsRuns > 0 && existsSync(safetensorsFile)) {
  const { fuzzSafetensors } = await import(pathToFileURL(safetensorsFile).href);
  if (typeof fuzzSafetensors === 'function') {
    const { initForTests } = await import(pathToFileURL(path.join(root, 'build/tests/helpers/setup.js')).href);
    await initForTests();
    console.log(`\nsafetensors fuzzing: ${safetensorsRuns} files, seed ${seed}`);
    const st = fuzzSafetensors({
      runs: safetensorsRuns,
      seed,
      progressEvery: 100_000,
      onProgress: (c) => console.log(`  ${c.runs} files, ${c.parsed} parsed, ${c.rejected} rejected (${elapsed()})`),
    });
    const { failures, reasons, ...counts } = st;
    console.log(table([['count', 'value'], ...Object.entries(counts).map(([k, v]) => [k, typeof v === 'number' ? String(Math.round(v)) : String(v)])]));
    if (failures.length > 0) {
      failed = true;
      for (const f of failures) console.log(`\nFAILURE ${f.problem}\n  ${f.shrunk ? 'shrunk ' : ''}mutation: ${f.mutation}\n  seed ${f.seed}${f.path ? `, path ${f.path}` : ''}`);
    } else console.log('no failures');
  }
}

console.log(`\nfuzz: ${failed ? 'FAILED' : 'passed'} in ${elapsed()}`);
process.exit(failed ? 1 : 0);

function printApi(r) {
  const { failures, ms, slowestMs, rejected, entries, ...counts } = r;
  const rows = [['count', 'value'], ...Object.entries(counts).map(([k, v]) => [k, String(v)])];
  for (const [k, v] of Object.entries(rejected).sort((a, b) => b[1] - a[1])) rows.push([`rejected: ${k}`, String(v)]);
  for (const [k, v] of Object.entries(entries).sort((a, b) => b[1] - a[1])) rows.push([`calls of ${k}`, String(v)]);
  rows.push(['kinds of failure', String(failures.length)], ['slowest call', `${slowestMs.toFixed(1)} ms`], ['time', `${(ms / 1000).toFixed(1)} s`]);
  console.log(table(rows));
  for (const f of failures) {
    console.log(`\nFAILURE ${f.signature}\n  ${f.problem}\n  ${f.shrunk ? 'shrunk plan' : 'plan (not shrunk)'}: ${f.plan}\n  seed ${f.seed}${f.path ? `, path ${f.path}` : ''}`);
  }
}

function table(rows) {
  const width = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const line = (r) => `| ${r.map((c, i) => (i === 0 ? c.padEnd(width[i]) : c.padStart(width[i]))).join(' | ')} |`;
  return [line(rows[0]), `| ${width.map((w, i) => (i === 0 ? '-'.repeat(w) : '-'.repeat(w - 1) + ':')).join(' | ')} |`, ...rows.slice(1).map(line)].join('\n');
}
