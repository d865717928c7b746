// The test suite, step by step: as-pect kernel tests on both wasm builds,
// then the TypeScript tests (PyTorch parity, errors, heap, loader, the packed
// package, Chromium, workerd, the benchmark smoke test), then the parity
// tests again on the relaxed-SIMD build, which Node 20 runs only behind a
// flag. `node scripts/test.mjs kernels node` runs the named steps only.
// Expects `node scripts/build.mjs` to have run. It calls no `npm`.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

const bin = (spec) => createRequire(import.meta.url).resolve(spec);
const RELAXED = '--experimental-wasm-relaxed-simd';
// as-pect's own launcher starts a second node without our flags: run its test
// entry directly (the file its bin script spawns), under this node.
const aspect = 'node_modules/@as-pect/cli/lib/test.js';

const steps = {
  kernels: [aspect, '--config', 'as-pect.config.js', '--as-config', 'as-pect.asconfig.json'],
  'kernels-relaxed': [RELAXED, aspect, '--config', 'as-pect.relaxed.config.js', '--as-config', 'as-pect.relaxed.asconfig.json'],
  'tests-build': [bin('typescript/bin/tsc'), '-p', 'tests/tsconfig.json'],
  node: ['--test', 'build/tests/'],
  'node-relaxed': [RELAXED, '--test', 'build/tests/golden.test.js'],
};

const wanted = process.argv.slice(2);
for (const name of wanted.length ? wanted : Object.keys(steps)) {
  if (!steps[name]) throw new Error(`unknown step '${name}'; steps: ${Object.keys(steps).join(', ')}`);
  console.log(`\n== ${name}: node ${steps[name].join(' ')}`);
  const { status } = spawnSync(process.execPath, steps[name], { stdio: 'inherit' });
  if (status !== 0) {
    console.error(`== ${name} failed (exit ${status})`);
    process.exit(status ?? 1);
  }
}
