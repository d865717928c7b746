// The package as a user installs it: `npm pack`, the tarball installed into
// an empty project, then an ES module import, a CommonJS require, a
// TypeScript type-check without @types/node, golden forward passes, the docs
// examples, and what each entry may and may not contain.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Script } from 'node:vm';
import { checkJsonResults, goldenCase, type GoldenCase, type JsonCaseResult } from './helpers/golden-cases.js';
import { docExample } from './helpers/docs.js';
import { packedProject, type PackedFile, type PackedProject } from './helpers/packed.js';

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

// One case of each module, without NaN (the result travels as JSON).
const CASES: GoldenCase[] = [
  goldenCase('mha.json', 'mha/keyPaddingMask-bool+attnMask-float-3d'),
  goldenCase('linformer.json', 'linformer/addBiasKV+addZeroAttn+keyPaddingMask-bool+attnMask-float-2d'),
];

let consumer: PackedProject;
let project: string;
let installed: string;
let packed: PackedFile;

/** Runs a command in the consumer project; rejects with its output on a non-zero exit. */
const inProject = (file: string, args: string[]): Promise<string> => consumer.run(file, args);

// Every consumer runs its golden cases with tests/fixtures/golden-runner.cjs,
// copied into the project: it decodes a case, runs it through the installed
// package and returns the results, which the consumer prints as JSON.
const GOLDEN_RUNNER = fileURLToPath(new URL('../../tests/fixtures/golden-runner.cjs', import.meta.url));

interface ConsumerReport {
  resolved: Record<string, string>;
  build: string;
  results: JsonCaseResult[];
  [key: string]: unknown;
}
function checkGolden(report: ConsumerReport): void {
  checkJsonResults(CASES, report.results);
}

before(
  async () => {
    consumer = await packedProject('package');
    ({ project, installed, packed } = consumer);
    writeFileSync(join(project, 'cases.json'), JSON.stringify(CASES));
    copyFileSync(GOLDEN_RUNNER, join(project, 'golden-runner.cjs'));
  },
  { timeout: 45_000 },
);

after(() => consumer?.remove());

describe('packed package installed in an empty project', () => {
  it('ships the builds, the wasm files and both sets of declarations, and nothing of the sources', () => {
    const files = packed.files.map((f) => f.path);
    for (const f of [
      'package.json',
      'dist/index.node.js',
      'dist/index.node.cjs',
      'dist/index.browser.js',
      'dist/index.browser.inline.js',
      'dist/index.node.inline.js',
      'dist/linformer.wasm',
      'dist/linformer-relaxed.wasm',
      'dist/linformer-threads.wasm',
      'dist/linformer-relaxed-threads.wasm',
      'dist/linformer-worker.js',
      'dist/index.d.ts',
      'dist/types/index.d.ts',
      'dist/types-cjs/index.d.ts',
      'dist/types-cjs/package.json',
    ]) {
      assert.ok(files.includes(f), `${f} is in the tarball`);
    }
    for (const f of ['LICENSE', 'docs/semantics.md', 'scripts/export_safetensors.py', 'dist/index.node.module.js']) {
      assert.ok(files.includes(f), `${f} is in the tarball`);
    }
    // The export script is for users (torch weights to .safetensors); nothing else of the sources ships.
    const stray = files.filter((f) => /^(src|assembly|tests|bench|scripts|examples)\//.test(f) && f !== 'scripts/export_safetensors.py');
    assert.deepEqual(stray, [], 'no sources in the tarball');
  });

  it('imports as an ES module, resolves the wasm subpaths and matches PyTorch', { timeout: 30_000 }, async () => {
    writeFileSync(
      join(project, 'esm.mjs'),
      `import * as pkg from 'linformer-wasm';
import { readFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runCases } from './golden-runner.cjs';
const resolved = {};
for (const spec of ['linformer-wasm', 'linformer-wasm/linformer.wasm', 'linformer-wasm/linformer-relaxed.wasm', 'linformer-wasm/inline']) {
  const path = fileURLToPath(import.meta.resolve(spec));
  if (!existsSync(path)) throw new Error(spec + ' resolves to a missing file: ' + path);
  resolved[spec] = path;
}
await pkg.init();
const results = runCases(() => pkg, JSON.parse(readFileSync('cases.json', 'utf8')));
console.log(JSON.stringify({ resolved, build: pkg.backendInfo().build, results }));
`,
    );
    const report: ConsumerReport = JSON.parse(await inProject(process.execPath, ['esm.mjs']));
    assert.match(report.resolved['linformer-wasm'], /node_modules\/linformer-wasm\/dist\/index\.node\.js$/);
    assert.match(report.resolved['linformer-wasm/linformer.wasm'], /dist\/linformer\.wasm$/);
    assert.match(report.resolved['linformer-wasm/linformer-relaxed.wasm'], /dist\/linformer-relaxed\.wasm$/);
    assert.match(report.resolved['linformer-wasm/inline'], /dist\/index\.node\.inline\.js$/);
    // Node 20 validates relaxed SIMD only behind a flag: init() keeps to the plain build there.
    const nodeMajor = Number(process.versions.node.split('.')[0]);
    assert.equal(report.build, nodeMajor >= 21 ? 'relaxed-simd' : 'simd');
    checkGolden(report);
    if (nodeMajor === 20) {
      const relaxed: ConsumerReport = JSON.parse(await inProject(process.execPath, ['--experimental-wasm-relaxed-simd', 'esm.mjs']));
      assert.equal(relaxed.build, 'relaxed-simd');
      checkGolden(relaxed);
    }
  });

  it('requires as real CommonJS (require(esm) switched off) and matches PyTorch', { timeout: 30_000 }, async () => {
    writeFileSync(
      join(project, 'cjs.cjs'),
      `const pkg = require('linformer-wasm');
const { readFileSync } = require('node:fs');
const { runCases } = require('./golden-runner.cjs');
const entry = require.resolve('linformer-wasm');
pkg.init().then(() => {
  const results = runCases(() => pkg, JSON.parse(readFileSync('cases.json', 'utf8')));
  console.log(JSON.stringify({
    resolved: { 'linformer-wasm': entry },
    // A required ES module would hand back its namespace object.
    tag: Object.prototype.toString.call(pkg),
    loadedAsCommonJs: require.cache[entry] !== undefined && require.cache[entry].loaded,
    build: pkg.backendInfo().build,
    results,
  }));
});
`,
    );
    const report: ConsumerReport = JSON.parse(
      await inProject(process.execPath, ['--no-experimental-require-module', 'cjs.cjs']),
    );
    assert.match(report.resolved['linformer-wasm'], /dist\/index\.node\.cjs$/);
    assert.equal(report.tag, '[object Object]');
    assert.equal(report.loadedAsCommonJs, true);
    checkGolden(report);
    // Parses as a classic script: no import or export statement anywhere.
    assert.doesNotThrow(() => new Script(readFileSync(report.resolved['linformer-wasm'], 'utf8')));
  });

  it('runs the inlined bundle in Node too', { timeout: 30_000 }, async () => {
    writeFileSync(
      join(project, 'inline.mjs'),
      `import * as pkg from 'linformer-wasm/inline';
import { readFileSync } from 'node:fs';
import { runCases } from './golden-runner.cjs';
await pkg.init();
console.log(JSON.stringify({ resolved: {}, build: pkg.backendInfo().build, results: runCases(() => pkg, JSON.parse(readFileSync('cases.json', 'utf8'))) }));
`,
    );
    checkGolden(JSON.parse(await inProject(process.execPath, ['inline.mjs'])));
  });

  it('type-checks ES module and CommonJS consumers, and bundler resolution, with no @types/node', { timeout: 30_000 }, async () => {
    const usage = `
const query: Tensor = { data: new Float32Array(5 * 2 * 16), dims: [5, 2, 16] };
const mask: MaskTensor = { data: new Uint8Array(2 * 5), dims: [2, 5] };
const linformer = new LinearMultiheadAttention(16, 4, { seqLen: 8, projK: 4, paramSharing: 'kv', batchFirst: false });
const standard = new MultiheadAttention(16, 4, { addBiasKV: true, kdim: 16 });
const result: AttentionOutput = linformer.forward(query, query, query, { keyPaddingMask: mask, needWeights: true });
const out: Float32Array = result.output.data;
const dims: number[] = result.output.dims;
const weights: OutputTensor | null = standard.forward(query, query, query).weights;
const product: Float32Array = ops.matmul(query, query, { transposeB: true }).data;
const memory: number = memoryUsage().wasmBytes;
const build: 'simd' | 'relaxed-simd' = backendInfo().build;
linformer.loadStateDict(new Map<string, Tensor>());
standard.dispose();
export { out, dims, weights, product, memory, build };
`;
    const esmImports = `import { init, backendInfo, memoryUsage, ops, LinearMultiheadAttention, MultiheadAttention, type AttentionOutput, type MaskTensor, type OutputTensor, type Tensor } from 'linformer-wasm';`;
    writeFileSync(
      join(project, 'check.ts'),
      `${esmImports}
// Both builds as precompiled modules, as edge workers pass them.
declare const simd: WebAssembly.Module;
declare const relaxed: WebAssembly.Module;
await init({ simd, relaxed }, { relaxedSimd: true });
await init(new URL('https://example.com/linformer.wasm'));
${usage}`,
    );
    writeFileSync(
      join(project, 'check-cjs.cts'),
      `import lw = require('linformer-wasm');
import { backendInfo, memoryUsage, ops, LinearMultiheadAttention, MultiheadAttention } from 'linformer-wasm';
type AttentionOutput = lw.AttentionOutput;
type MaskTensor = lw.MaskTensor;
type OutputTensor = lw.OutputTensor;
type Tensor = lw.Tensor;
void lw.init();
${usage}`,
    );
    mkdirSync(join(project, 'bundled'));
    writeFileSync(join(project, 'bundled', 'check.ts'), `${esmImports}\nawait init();\n${usage}`);
    const compilerOptions = {
      strict: true,
      noEmit: true,
      skipLibCheck: false,
      types: [],
      lib: ['es2022', 'dom'],
      target: 'es2022',
    };
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { ...compilerOptions, module: 'nodenext', moduleResolution: 'nodenext' }, files: ['check.ts', 'check-cjs.cts'] }),
    );
    writeFileSync(
      join(project, 'tsconfig.bundler.json'),
      JSON.stringify({ compilerOptions: { ...compilerOptions, module: 'esnext', moduleResolution: 'bundler' }, files: ['bundled/check.ts'] }),
    );
    assert.ok(!readdirSync(join(project, 'node_modules')).includes('@types'), 'no @types in the consumer project');
    await inProject(process.execPath, [tsc, '-p', 'tsconfig.json']);
    await inProject(process.execPath, [tsc, '-p', 'tsconfig.bundler.json']);
  });

  it('runs the Node examples of README.md', { timeout: 30_000 }, async () => {
    writeFileSync(join(project, 'example.mjs'), docExample('example.mjs'));
    writeFileSync(join(project, 'example.cjs'), docExample('example.cjs'));
    assert.match(await inProject(process.execPath, ['example.mjs']), /^output \(10, 2, 64\)$/m);
    assert.match(await inProject(process.execPath, ['example.cjs']), /^output \(10, 2, 64\)$/m);
  });

  it('keeps Node out of the browser and worker bundles, and `any` out of the public types', () => {
    for (const bundle of ['dist/index.browser.js', 'dist/index.browser.inline.js']) {
      const code = readFileSync(join(installed, bundle), 'utf8');
      assert.doesNotMatch(code, /["'`]node:/, `${bundle} imports a node: module`);
      assert.doesNotMatch(code, /\bprocess\b/, `${bundle} looks at process`);
      assert.doesNotMatch(code, /\brequire\s*\(/, `${bundle} calls require`);
    }
    for (const dir of ['dist/types', 'dist/types-cjs']) {
      for (const file of readdirSync(join(installed, dir), { recursive: true, encoding: 'utf8' })) {
        if (!file.endsWith('.d.ts')) continue;
        const text = readFileSync(join(installed, dir, file), 'utf8');
        const code = text.replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
        assert.doesNotMatch(code, /\bany\b/, `${dir}/${file} has \`any\``);
        assert.doesNotMatch(text, /reference types="node"|\bNodeJS\b|\bBuffer\b/, `${dir}/${file} needs Node's types`);
      }
    }
  });
});
