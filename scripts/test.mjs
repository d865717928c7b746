// The test suite, step by step. Expects `node scripts/build.mjs` to have run;
// calls no `npm` for its own steps.
//
// On the Node.js that runs it, every step: the as-pect kernel specs on both
// wasm builds, the TypeScript tests (PyTorch parity, errors, heap, loader,
// modules, ops, guarantees, property and fuzz tests) on both builds, then
// the runtime tests (the packed package, types, bundlers and Chromium,
// workerd, Bun and Deno, the benchmark smoke test) and a short soak.
// The fast tests run again with every call on 2 threads (and, on this Node,
// on 3): the golden cases and every guarantee hold on a worker pool too.
// Then, on each other supported Node.js line (pinned binaries from the npm
// registry, see scripts/runtimes.mjs), the kernel specs and the fast tests
// on both builds and on 2 threads. The runtime tests run once: they test
// the package in other runtimes, not Node's.
//
//   node scripts/test.mjs                  everything, as above
//   node scripts/test.mjs --lines=current  this Node only
//   node scripts/test.mjs --lines=22,26    this Node, then those lines
//   node scripts/test.mjs fast soak        named steps only (this Node)
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { install, NODE_LINES, PINNED } from './runtimes.mjs';

const bin = (spec) => createRequire(import.meta.url).resolve(spec);
const RELAXED_FLAG = '--experimental-wasm-relaxed-simd';
// as-pect's own launcher starts a second node without our flags: run its test
// entry directly (the file its bin script spawns), under the node in use.
const aspect = 'node_modules/@as-pect/cli/lib/test.js';

// The runtime tests: each starts other programs (npm, Chromium, workerd, Bun,
// Deno, bundlers) and tests the package there.
const RUNTIME_TESTS = new Set(['package', 'one-state', 'types', 'browser', 'bundlers', 'worker', 'bun-deno', 'bench']);
const testFiles = () =>
  readdirSync('build/tests')
    .filter((f) => f.endsWith('.test.js'))
    .sort()
    .map((f) => ({ name: f.replace(/\.test\.js$/, ''), path: `build/tests/${f}` }));
const fastFiles = () => testFiles().filter((f) => !RUNTIME_TESTS.has(f.name)).map((f) => f.path);
// threads.test starts its own processes at every thread count: once per build is enough.
const threadedFiles = () => fastFiles().filter((f) => !f.endsWith('/threads.test.js'));
const runtimeFiles = () => testFiles().filter((f) => RUNTIME_TESTS.has(f.name)).map((f) => f.path);

/** What an engine needs for the relaxed-SIMD build: nothing, a flag, or it cannot run it. */
function relaxedSupport(node) {
  // The measured fact: does this engine validate the relaxed build itself.
  const probe = 'process.exit(WebAssembly.validate(require("fs").readFileSync("dist/linformer-relaxed.wasm")) ? 0 : 1)';
  if (spawnSync(node, ['-e', probe]).status === 0) return { flags: [] };
  // Node 20 runs it behind a V8 flag; Node ≥ 22 has it on and rejects the flag.
  if (spawnSync(node, [RELAXED_FLAG, '-e', probe]).status === 0) return { flags: [RELAXED_FLAG] };
  return null;
}

/**
 * The steps for one engine. `build` picks the wasm build the TypeScript
 * tests run on (tests/helpers/setup.ts reads LINFORMER_TEST_BUILD).
 */
function stepsFor(node, { runtime }) {
  const relaxed = relaxedSupport(node);
  const kernels = (config, flags = []) => ({ args: [...flags, aspect, '--config', `${config}.js`, '--as-config', `${config.replace('config', 'asconfig')}.json`] });
  const fast = (build, flags = []) => ({ args: [...flags, '--test', ...fastFiles()], env: { LINFORMER_TEST_BUILD: build } });
  const steps = { kernels: kernels('as-pect.config') };
  if (relaxed) steps['kernels-relaxed'] = kernels('as-pect.relaxed.config', relaxed.flags);
  steps.fast = fast('simd');
  if (relaxed) steps['fast-relaxed'] = fast('relaxed-simd', relaxed.flags);
  const threaded = (threads, build, flags = []) => ({
    args: [...flags, '--test', ...threadedFiles()],
    env: { LINFORMER_TEST_BUILD: build, LINFORMER_TEST_THREADS: String(threads) },
  });
  steps['fast-2-threads'] = relaxed ? threaded(2, 'relaxed-simd', relaxed.flags) : threaded(2, 'simd');
  if (runtime) {
    steps['fast-3-threads'] = threaded(3, 'simd');
    steps.runtimes = { args: ['--test', '--test-concurrency=1', ...runtimeFiles()] };
    // A short soak: 10,000 calls and 1,000 create/dispose cycles, memory flat after warm-up.
    steps.soak = { args: [...(relaxed?.flags ?? []), 'scripts/soak.mjs', '--calls', '10000', '--cycles', '1000'] };
    steps['soak-2-threads'] = { args: [...(relaxed?.flags ?? []), 'scripts/soak.mjs', '--calls', '5000', '--cycles', '500', '--threads', '2'] };
  }
  return steps;
}

// No step takes more than a few minutes; one that hangs (a stuck process
// exit, nodejs/node#54918) is killed and fails the suite instead of
// running until CI's limit.
const STEP_TIMEOUT_MS = 15 * 60_000;

function run(label, node, step) {
  console.log(`\n== ${label}: ${node} ${step.args.join(' ')}`);
  const started = Date.now();
  const { status, error } = spawnSync(node, step.args, {
    stdio: 'inherit',
    env: { ...process.env, ...step.env },
    timeout: STEP_TIMEOUT_MS,
    killSignal: 'SIGKILL',
  });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (error?.code === 'ETIMEDOUT') {
    console.error(`== ${label} timed out: killed after ${seconds} s`);
    process.exit(1);
  }
  if (status !== 0) {
    console.error(`== ${label} failed (exit ${status}) after ${seconds} s`);
    process.exit(status ?? 1);
  }
  console.log(`== ${label} passed in ${seconds} s`);
  return Number(seconds);
}

const args = process.argv.slice(2);
const linesArg = args.find((a) => a.startsWith('--lines='))?.slice('--lines='.length) ?? 'all';
const named = args.filter((a) => !a.startsWith('--'));

// The tests need tsc's output first.
run('tests-build', process.execPath, { args: [bin('typescript/bin/tsc'), '-p', 'tests/tsconfig.json'] });

const current = Number(process.versions.node.split('.')[0]);
const here = stepsFor(process.execPath, { runtime: true });
for (const name of named.length ? named : Object.keys(here)) {
  if (!here[name]) throw new Error(`unknown step '${name}'; steps: ${Object.keys(here).join(', ')}`);
  run(`node ${current} ${name}`, process.execPath, here[name]);
}
if (named.length) process.exit(0);

const others =
  linesArg === 'current'
    ? []
    : NODE_LINES.filter((line) => (linesArg === 'all' ? true : linesArg.split(',').includes(line.slice(4)))).filter(
        (line) => PINNED[line].version.split('.')[0] !== String(current),
      );
for (const line of others) {
  const node = install(line);
  const steps = stepsFor(node, { runtime: false });
  for (const [name, step] of Object.entries(steps)) run(`node ${PINNED[line].version} ${name}`, node, step);
}
