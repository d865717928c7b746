// Builds everything: the four wasm builds of assembly/ (build/: SIMD and
// relaxed SIMD, each over a private or a shared memory), the worker of each
// runtime (threads/), then dist/:
// the Node CommonJS entry and the ES module entry that re-exports it (and a
// self-contained ES module for bundlers that target Node), the
// browser/worker bundle (wasm fetched beside it) and its inlined variant, the
// wasm files beside them, the type declarations and their CommonJS copy; and
// type-checks src/ against Node's types. It calls no `npm`, so it runs the
// same from any npm.
import { build } from 'esbuild';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

const WASM_TARGETS = ['simd', 'relaxed', 'simd-threads', 'relaxed-threads'];
const WASM_FILES = ['linformer.wasm', 'linformer-relaxed.wasm', 'linformer-threads.wasm', 'linformer-relaxed-threads.wasm'];
const TYPES_CJS = 'dist/types-cjs';

// The modules implement Symbol.dispose, whose type is in TypeScript's
// esnext.disposable library: the entries pull it in, so a consumer compiling
// for an older lib without skipLibCheck still type-checks.
const TYPES_PREAMBLE = '/// <reference lib="esnext.disposable" />\n';

const run = promisify(execFile);
const bin = (spec) => createRequire(import.meta.url).resolve(spec);
async function node(script, ...args) {
  try {
    await run(process.execPath, [script, ...args]);
  } catch (e) {
    // Compiler diagnostics go to stdout: show them, then fail.
    process.stderr.write(`${e.stdout ?? ''}${e.stderr ?? ''}`);
    throw new Error(`build failed: ${script} ${args.join(' ')}`);
  }
}

// Every build from one source: asconfig.json's targets differ in features and memory only.
await Promise.all(WASM_TARGETS.map((target) => node(bin('assemblyscript/bin/asc.js'), 'assembly/index.ts', '--target', target)));
await Promise.all([
  bundles(),
  commonJsTypes(),
  node(bin('typescript/bin/tsc'), '-p', 'tsconfig.json'),
  node(bin('typescript/bin/tsc'), '-p', 'tsconfig.node.json'),
]);

async function bundles() {
  mkdirSync('dist', { recursive: true });
  writeFileSync('dist/index.d.ts', `${TYPES_PREAMBLE}export * from './types/index.js';\n`);
  for (const f of WASM_FILES) copyFileSync(`build/${f}`, `dist/${f}`);

  // Class names are kept in every bundle: error messages and users (torch's
  // type(module).__name__) name the module, and esbuild would otherwise
  // rename a class whose name another file also uses.
  const common = { bundle: true, target: 'es2022', logLevel: 'warning', keepNames: true };
  // Browser bundles are served as they are, so they are minified, with a
  // source map. The Node bundles stay readable and need no map.
  const browser = { ...common, format: 'esm', platform: 'neutral', minify: true, sourcemap: true };

  // The workers first: the Node entries and the inline bundle carry theirs as a string.
  const [nodeWorker, webWorker] = await Promise.all([
    workerSource({ ...common, entryPoints: ['src/threads/worker.node.ts'], format: 'cjs', platform: 'node', minify: true }),
    workerSource({ ...browser, sourcemap: false, entryPoints: ['src/threads/worker.browser.ts'] }),
  ]);
  writeFileSync('dist/linformer-worker.js', webWorker);
  const withNodeWorker = { define: { __LINFORMER_NODE_WORKER__: JSON.stringify(nodeWorker) } };

  await Promise.all([
    // For bundlers that build for Node (esbuild --platform=node, webpack,
    // vite SSR): they take the "module" condition, which Node itself ignores,
    // and bundle this self-contained ES module. A bundle holds one copy of
    // whatever it bundles, so it has one state either way; the CommonJS
    // build inside an ES module bundle could not find its own location.
    build({ ...common, ...withNodeWorker, entryPoints: ['src/index.node.ts'], outfile: 'dist/index.node.module.js', format: 'esm', platform: 'node' }),
    build({
      ...common,
      entryPoints: ['src/index.node.ts'],
      outfile: 'dist/index.node.cjs',
      format: 'cjs',
      platform: 'node',
      // CommonJS has no import.meta: the injected shim derives it from __filename.
      inject: ['scripts/shims/import-meta-url.js'],
      define: { ...withNodeWorker.define, 'import.meta.url': 'import_meta_url' },
    }).then(nodeEsmEntry),
    // 'linformer-wasm/inline' under the node condition: the wasm inside, worker_threads for threads.
    build({
      ...common,
      ...withNodeWorker,
      entryPoints: ['src/index.node.inline.ts'],
      outfile: 'dist/index.node.inline.js',
      format: 'esm',
      platform: 'node',
      loader: { '.wasm': 'binary' },
    }),
    build({ ...browser, entryPoints: ['src/index.browser.ts'], outfile: 'dist/index.browser.js' }),
    build({
      ...browser,
      entryPoints: ['src/index.inline.ts'],
      outfile: 'dist/index.browser.inline.js',
      loader: { '.wasm': 'binary' },
      define: { __LINFORMER_WEB_WORKER__: JSON.stringify(webWorker) },
    }),
  ]);
}

/** One worker entry bundled into a self-contained script, returned as text. */
async function workerSource(options) {
  const out = await build({ ...options, write: false, outfile: 'worker.js' });
  return out.outputFiles.find((f) => f.path.endsWith('.js')).text;
}

// The Node ES module entry is the CommonJS build re-exported, not a second
// bundle: a process that both imports and requires the package gets one
// loader state, one wasm heap and one set of classes. The names are listed
// one by one so that every runtime and bundler sees them as named exports
// without having to analyse the CommonJS file.
async function nodeEsmEntry() {
  const cjsPath = resolve('dist/index.node.cjs');
  const esmPath = resolve('dist/index.node.js');
  const cjs = createRequire(import.meta.url)(cjsPath);
  const names = Object.keys(cjs).sort();
  const bad = names.filter((n) => n === 'default' || !/^[A-Za-z_$][\w$]*$/.test(n));
  if (names.length === 0 || bad.length > 0) throw new Error(`build failed: ${cjsPath} exports ${bad.length ? bad.join(', ') : 'nothing'}`);
  writeFileSync(
    esmPath,
    `// The CommonJS build under ES module names: both share one state.\n` +
      `import core from './index.node.cjs';\n\n` +
      `export const {\n${names.map((n) => `  ${n},\n`).join('')}} = core;\n`,
  );
  // Loaded here, the entry must hand out the very objects require() does.
  const esm = await import(pathToFileURL(esmPath).href);
  const differ = names.filter((n) => esm[n] !== cjs[n]);
  if (differ.length > 0) throw new Error(`build failed: ${esmPath} does not re-export ${differ.join(', ')}`);
}

// The declarations in dist/types sit in a "type": "module" package, so
// TypeScript reads them as ES module types and refuses them to a CommonJS
// `require` (TS1479). The same declarations under a "type": "commonjs" scope
// describe the .cjs entry as what it is.
async function commonJsTypes() {
  rmSync(TYPES_CJS, { recursive: true, force: true });
  await node(bin('typescript/bin/tsc'), '-p', 'tsconfig.json', '--outDir', TYPES_CJS);
  writeFileSync(`${TYPES_CJS}/package.json`, JSON.stringify({ type: 'commonjs' }) + '\n');
  const entry = `${TYPES_CJS}/index.d.ts`;
  writeFileSync(entry, TYPES_PREAMBLE + readFileSync(entry, 'utf8'));
}
