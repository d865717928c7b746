// The package through the bundlers applications use, installed from the
// packed tarball into a project of its own (tests/fixtures/bundler-app/):
// esbuild, vite (build and dev server), webpack 5 and rollup each bundle a
// page that imports 'linformer-wasm'; the page runs PyTorch golden cases in
// headless Chromium and the outputs are compared here. Then esbuild
// --platform=node bundles (serverless functions): the clear error when the
// wasm was left behind, the fallback when only the relaxed build was, and
// the inlined entry that needs no file at all. The bundlers run in this
// process, so they come from this repository's node_modules.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { build as esbuild, type Format } from 'esbuild';
import { build as viteBuild, createServer as viteServer, type ViteDevServer } from 'vite';
import webpack from 'webpack';
import { rollup } from 'rollup';
import { nodeResolve } from '@rollup/plugin-node-resolve';
import type { BrowserContext, Page } from 'playwright-core';
import type { BackendInfo } from 'linformer-wasm';
import { checkJsonResults, goldenCase, type GoldenCase, type JsonCaseResult } from './helpers/golden-cases.js';
import { repoRoot } from './helpers/docs.js';
import { packedProject, type PackedProject } from './helpers/packed.js';
import { withoutTile } from './helpers/backend.js';
import { serveStatic, type StaticServer } from './helpers/server.js';
import { browserTests, launchChromium } from './helpers/chromium.js';

const browser = browserTests();
const skip = browser.skip;
const execFileAsync = promisify(execFile);

const WASM_FILES = ['linformer.wasm', 'linformer-relaxed.wasm'];
// One case of each module, without NaN (the results travel as JSON).
const CASES: GoldenCase[] = [
  goldenCase('mha.json', 'mha/keyPaddingMask-bool+attnMask-float-3d'),
  goldenCase('linformer.json', 'linformer/addBiasKV+addZeroAttn+keyPaddingMask-bool+attnMask-float-2d'),
];

type CaseResult = JsonCaseResult['calls'];

/** The browser apps return each case's calls, in the order of CASES. */
function checkGolden(results: CaseResult[]): void {
  checkJsonResults(CASES, results.map((calls) => ({ calls })));
}

const copyWasmBeside = (dir: string) => {
  for (const f of WASM_FILES) copyFileSync(join(consumer.installed, 'dist', f), join(dir, f));
};
const wasmIn = (dir: string) => readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.wasm'));

let consumer: PackedProject;
let project: string;
/** Where each bundler writes: <tempDir>/out/<name>. */
let out: (name: string) => string;

before(
  async () => {
    consumer = await packedProject('bundlers');
    project = consumer.project;
    cpSync(join(repoRoot, 'tests', 'fixtures', 'bundler-app'), project, { recursive: true });
    writeFileSync(join(project, 'cases.json'), JSON.stringify(CASES));
    out = (name) => join(consumer.tempDir, 'out', name);
  },
  { timeout: 60_000 },
);

after(() => consumer?.remove());

describe('bundled into a page, run in headless Chromium', () => {
  let server: StaticServer;
  let context: BrowserContext;
  let vite: ViteDevServer | undefined;

  before(
    async () => {
      if (skip) return;
      // One route per bundler; each output folder is written by its test.
      const routes = Object.fromEntries(['esbuild', 'vite', 'webpack', 'rollup'].map((name) => [`/${name}/`, out(name)]));
      server = await serveStatic(routes);
      context = await launchChromium(browser, join(consumer.tempDir, 'profile'));
    },
    { timeout: 30_000 },
  );

  after(async () => {
    await vite?.close();
    await context?.close();
    await server?.close();
  });

  /**
   * Opens the app at `url`, waits for init(), runs the golden cases in the
   * page and checks them here; fails on any console error, uncaught
   * exception or failed request. Returns backendInfo(), the wasm
   * responses the page received and the paths it asked for.
   */
  async function runApp(url: string): Promise<{ info: BackendInfo; wasm: { url: string; status: number; type: string }[]; requested: string[] }> {
    const page: Page = await context.newPage();
    const errors: string[] = [];
    const wasm: { url: string; status: number; type: string }[] = [];
    const requested: string[] = [];
    page.on('request', (r) => requested.push(new URL(r.url()).pathname));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(`console.error: ${m.text()} (${m.location().url})`);
    });
    page.on('pageerror', (e) => errors.push(`uncaught: ${e.message}`));
    page.on('requestfailed', (r) => errors.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ''}`));
    page.on('response', (r) => {
      if (new URL(r.url()).pathname.endsWith('.wasm')) wasm.push({ url: r.url(), status: r.status(), type: r.headers()['content-type'] });
    });
    try {
      await page.goto(url);
      await page.waitForFunction(() => 'linformerApp' in globalThis, undefined, { timeout: 15_000 });
      type App = { ready: Promise<BackendInfo>; runCase(c: GoldenCase): CaseResult };
      const info = await page.evaluate(() => (globalThis as unknown as { linformerApp: App }).linformerApp.ready);
      const results = await page.evaluate(
        (cases) => cases.map((c) => (globalThis as unknown as { linformerApp: App }).linformerApp.runCase(c)),
        CASES,
      );
      checkGolden(results);
      assert.deepEqual(errors, []);
      return { info, wasm, requested };
    } finally {
      await page.close();
    }
  }

  /**
   * Chromium validates relaxed SIMD: init() fetched only the relaxed build
   * (the file `relaxedFile` names), as wasm, and runs it.
   */
  function ranRelaxed({ info, wasm }: Awaited<ReturnType<typeof runApp>>, relaxedFile = /\/linformer-relaxed[^/]*\.wasm$/): void {
    assert.deepEqual(withoutTile(info), { build: 'relaxed-simd', relaxedSimdAvailable: true, buildFallback: null });
    assert.equal(wasm.length, 1, JSON.stringify(wasm));
    assert.match(new URL(wasm[0].url).pathname, relaxedFile);
    assert.equal(wasm[0].status, 200);
    assert.equal(wasm[0].type, 'application/wasm');
  }

  const page = (name: string) => `${server.origin}/${name}/`;
  const copyPage = (dir: string, script: string) =>
    writeFileSync(
      join(dir, 'index.html'),
      `<!doctype html><link rel="icon" href="data:,"><body><script type="module" src="${script}"></script></body>`,
    );

  it('esbuild: the wasm is left to be copied beside the bundle; with it there, golden outputs', { timeout: 20_000, skip }, async () => {
    const dir = out('esbuild');
    await esbuild({
      absWorkingDir: project,
      entryPoints: ['main.js'],
      bundle: true,
      format: 'esm',
      platform: 'browser',
      outdir: dir,
      logLevel: 'silent',
    });
    assert.deepEqual(wasmIn(dir), [], 'esbuild emits no wasm');
    copyWasmBeside(dir);
    copyPage(dir, 'main.js');
    ranRelaxed(await runApp(page('esbuild')));
  });

  it('vite build: emits both wasm files as hashed assets; golden outputs', { timeout: 30_000, skip }, async () => {
    const dir = out('vite');
    await viteBuild({
      root: project,
      configFile: false,
      logLevel: 'silent',
      // Relative asset URLs, so the app works under /vite/.
      base: './',
      build: { outDir: dir, emptyOutDir: true },
    });
    const emitted = wasmIn(dir).sort();
    assert.equal(emitted.length, 2, `vite build emitted ${JSON.stringify(emitted)}`);
    assert.match(emitted[0], /^assets\/linformer-[\w-]+\.wasm$/);
    assert.match(emitted[1], /^assets\/linformer-relaxed-[\w-]+\.wasm$/);
    ranRelaxed(await runApp(page('vite')));
  });

  it('vite dev server, with no optimizeDeps setting: the pre-bundled package still finds its wasm', { timeout: 30_000, skip }, async () => {
    vite = await viteServer({
      root: project,
      configFile: false,
      logLevel: 'silent',
      server: { host: '127.0.0.1', port: 0, strictPort: true },
    });
    await vite.listen();
    const run = await runApp(vite.resolvedUrls!.local[0]);
    ranRelaxed(run);
    // The dev server pre-bundled the package into node_modules/.vite/deps and
    // pointed its wasm URL back at the installed package's file.
    assert.ok(run.requested.includes('/node_modules/.vite/deps/linformer-wasm.js'), `pre-bundled: ${run.requested.join(' ')}`);
    assert.equal(new URL(run.wasm[0].url).pathname, '/node_modules/linformer-wasm/dist/linformer-relaxed.wasm');
  });

  it('webpack 5: emits both wasm files as assets; golden outputs', { timeout: 30_000, skip }, async () => {
    const dir = out('webpack');
    const stats = await new Promise<webpack.Stats>((done, fail) =>
      webpack(
        {
          mode: 'production',
          context: project,
          entry: './main.js',
          output: { path: dir, filename: 'main.js', clean: true },
          performance: false,
        },
        (error, result) => (error || !result ? fail(error ?? new Error('webpack returned no stats')) : done(result)),
      ),
    );
    assert.ok(!stats.hasErrors(), stats.toString({ all: false, errors: true }));
    assert.ok(!stats.hasWarnings(), stats.toString({ all: false, warnings: true }));
    const emitted = stats.toJson({ all: false, assets: true }).assets!.filter((a) => a.name.endsWith('.wasm'));
    assert.deepEqual(
      emitted.map((a) => a.info.sourceFilename).sort(),
      WASM_FILES.map((f) => `node_modules/linformer-wasm/dist/${f}`).sort(),
    );
    assert.equal(wasmIn(dir).length, 2);
    copyPage(dir, 'main.js');
    // webpack names assets by their hash alone.
    const relaxed = emitted.find((a) => a.info.sourceFilename!.endsWith('/linformer-relaxed.wasm'))!.name;
    ranRelaxed(await runApp(page('webpack')), new RegExp(`^/webpack/${relaxed}$`));
  });

  it('rollup with @rollup/plugin-node-resolve: the wasm is left to be copied; with it there, golden outputs', { timeout: 20_000, skip }, async () => {
    const dir = out('rollup');
    const bundle = await rollup({
      input: join(project, 'main.js'),
      plugins: [nodeResolve({ browser: true, rootDir: project })],
      onwarn: (warning) => assert.fail(`rollup: ${warning.message}`),
    });
    try {
      await bundle.write({ dir, format: 'es' });
    } finally {
      await bundle.close();
    }
    assert.deepEqual(wasmIn(dir), [], 'rollup emits no wasm');
    copyWasmBeside(dir);
    copyPage(dir, 'main.js');
    ranRelaxed(await runApp(page('rollup')));
  });
});

describe('esbuild --platform=node bundles (a serverless function)', () => {
  // Node 20 runs the relaxed build only behind this flag; Node ≥ 22 has it
  // on and rejects the flag. Each app runs on both engines where there are two.
  const RELAXED_FLAG = '--experimental-wasm-relaxed-simd';
  const engines: string[][] = spawnSync(process.execPath, [RELAXED_FLAG, '-e', '0']).status === 0 ? [[], [RELAXED_FLAG]] : [[]];
  // Whether an engine validates the relaxed build: what init() must follow.
  const relaxedOn = new Map(
    engines.map((flags) => {
      const probe = `process.exit(WebAssembly.validate(require('fs').readFileSync(${JSON.stringify(join(repoRoot, 'dist', 'linformer-relaxed.wasm'))})) ? 0 : 1)`;
      return [flags, spawnSync(process.execPath, [...flags, '-e', probe]).status === 0];
    }),
  );

  type Report = { info: BackendInfo; results: CaseResult[] } | { error: { name: string; message: string } };
  async function runNode(app: string, flags: string[]): Promise<Report> {
    const { stdout } = await execFileAsync(process.execPath, [...flags, app, join(project, 'cases.json')], { encoding: 'utf8', timeout: 20_000 });
    return JSON.parse(stdout);
  }
  const engineHasRelaxed = (flags: string[]) => relaxedOn.get(flags)!;

  async function bundleNode(entry: string, format: Format, name: string): Promise<string> {
    const dir = out(name);
    const outfile = join(dir, format === 'esm' ? 'app.mjs' : 'app.cjs');
    await esbuild({
      absWorkingDir: project,
      entryPoints: [entry],
      bundle: true,
      platform: 'node',
      format,
      outfile,
      logLevel: 'silent',
    });
    assert.deepEqual(wasmIn(dir), [], 'esbuild copies no wasm');
    return outfile;
  }

  it('takes the self-contained ES module build through the "module" condition, not the CommonJS one', async () => {
    const meta = await esbuild({ absWorkingDir: project, entryPoints: ['node-app.js'], bundle: true, platform: 'node', format: 'esm', write: false, metafile: true, logLevel: 'silent' });
    const inputs = Object.keys(meta.metafile!.inputs).filter((f) => f.includes('linformer-wasm'));
    assert.deepEqual(inputs, ['node_modules/linformer-wasm/dist/index.node.module.js']);
  });

  for (const format of ['esm', 'cjs'] as const) {
    it(`${format}: without the wasm beside the bundle, a clear error; with only linformer.wasm, the plain build; with both, relaxed`, { timeout: 30_000 }, async () => {
      const app = await bundleNode('node-app.js', format, `node-${format}`);
      const dir = join(app, '..');
      for (const flags of engines) {
        const report = await runNode(app, flags);
        assert.ok('error' in report, `init() should fail: ${JSON.stringify(report).slice(0, 200)}`);
        assert.equal(report.error.name, 'Error');
        // The plain build is the one asked for last, with or without relaxed SIMD.
        assert.equal(
          report.error.message,
          `linformer-wasm: ${join(dir, 'linformer.wasm')} does not exist. init() reads the wasm beside the code that imports it; ` +
            'if linformer-wasm was bundled into one file, copy linformer.wasm and linformer-relaxed.wasm ' +
            `from node_modules/linformer-wasm/dist/ into ${dir}, or import 'linformer-wasm/inline', which carries the wasm inside`,
        );
      }

      copyFileSync(join(consumer.installed, 'dist', 'linformer.wasm'), join(dir, 'linformer.wasm'));
      for (const flags of engines) {
        const report = await runNode(app, flags);
        assert.ok('info' in report, JSON.stringify(report));
        assert.deepEqual(withoutTile(report.info), {
          build: 'simd',
          relaxedSimdAvailable: engineHasRelaxed(flags),
          buildFallback: engineHasRelaxed(flags) ? 'linformer-relaxed.wasm: file not found; running the plain SIMD build' : null,
        });
        checkGolden(report.results);
      }

      copyFileSync(join(consumer.installed, 'dist', 'linformer-relaxed.wasm'), join(dir, 'linformer-relaxed.wasm'));
      for (const flags of engines) {
        const report = await runNode(app, flags);
        assert.ok('info' in report, JSON.stringify(report));
        const relaxed = engineHasRelaxed(flags);
        assert.deepEqual(withoutTile(report.info), { build: relaxed ? 'relaxed-simd' : 'simd', relaxedSimdAvailable: relaxed, buildFallback: null });
        checkGolden(report.results);
      }
    });

    it(`${format}: importing 'linformer-wasm/inline' needs no file beside the bundle`, { timeout: 30_000 }, async () => {
      const app = await bundleNode('node-app-inline.js', format, `node-inline-${format}`);
      for (const flags of engines) {
        const report = await runNode(app, flags);
        assert.ok('info' in report, JSON.stringify(report));
        const relaxed = engineHasRelaxed(flags);
        assert.deepEqual(withoutTile(report.info), { build: relaxed ? 'relaxed-simd' : 'simd', relaxedSimdAvailable: relaxed, buildFallback: null });
        checkGolden(report.results);
      }
    });
  }
});
