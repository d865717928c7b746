// The package through the bundlers applications use, installed from the
// packed tarball into a project of its own (tests/fixtures/bundler-app/):
// esbuild, vite (build and dev server), webpack 5 and rollup each bundle a
// page that imports 'linformer-wasm'; the page runs PyTorch golden cases in
// headless Chromium and the outputs are compared here. Each app runs twice on
// a cross-origin isolated (COOP/COEP) page: with numThreads 1, then with
// numThreads 2, where its worker must start from wherever the bundler put
// linformer-worker.js (or from a blob, for 'linformer-wasm/inline'), take
// part, and give the same bits; the esbuild app also runs where the headers
// are missing. Then esbuild --platform=node
// bundles (serverless functions): the clear error when the wasm was left
// behind, the fallbacks when only some files were copied, threads with all
// four, and the inlined entry that needs no file at all. The bundlers run in
// this process, so they come from this repository's node_modules.
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

const WASM_FILES = ['linformer.wasm', 'linformer-relaxed.wasm', 'linformer-threads.wasm', 'linformer-relaxed-threads.wasm'];
const WORKER_FILE = 'linformer-worker.js';
/** What docs/bundlers.md says to copy beside an esbuild or rollup bundle: dist/*.wasm and the worker. */
const BROWSER_FILES = [...WASM_FILES, WORKER_FILE];
/** The headers under which a page is cross-origin isolated (tests/helpers/server.ts sends them too). */
const ISOLATION_HEADERS = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };
// One case of each module, without NaN (the results travel as JSON).
const CASES: GoldenCase[] = [
  goldenCase('mha.json', 'mha/keyPaddingMask-bool+attnMask-float-3d'),
  goldenCase('linformer.json', 'linformer/addBiasKV+addZeroAttn+keyPaddingMask-bool+attnMask-float-2d'),
];

type CaseResult = JsonCaseResult['calls'];
/** What tests/fixtures/bundler-app/seeded-forward.js returns. */
type Seeded = { hashes: Record<string, string>; busyMs: number[] };

/** The browser apps return each case's calls, in the order of CASES. */
function checkGolden(results: CaseResult[]): void {
  checkJsonResults(CASES, results.map((calls) => ({ calls })));
}

const copyBeside = (dir: string, files: readonly string[]) => {
  for (const f of files) copyFileSync(join(consumer.installed, 'dist', f), join(dir, f));
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
    // The docs copy dist/*.wasm: these four.
    assert.deepEqual(wasmIn(join(consumer.installed, 'dist')).sort(), [...WASM_FILES].sort());
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
      // Every response carries the COOP/COEP headers.
      const routes = Object.fromEntries(['esbuild', 'esbuild-inline', 'vite', 'webpack', 'rollup'].map((name) => [`/${name}/`, out(name)]));
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

  interface AppRun {
    info: BackendInfo;
    crossOriginIsolated: boolean;
    results: CaseResult[];
    seeded: Seeded;
    /** The wasm responses the page received. */
    wasm: { path: string; status: number; type: string }[];
    /** The paths of the workers the page started. */
    workers: string[];
    /** Every path the page asked for. */
    requested: string[];
    /** The page's console warnings. */
    warnings: string[];
    /** The failed requests runApp was told to expect: path and error. */
    failed: string[];
  }

  /**
   * Opens the app at `url` (one page), waits for init(), runs the golden
   * cases and the seeded call in the page and checks the cases here; fails
   * on any console error, uncaught exception or failed request but those
   * whose URL matches `mayFail`. The responses whose URL matches
   * `withoutIsolation` lose their COOP/COEP headers.
   */
  async function runApp(url: string, { withoutIsolation, mayFail }: { withoutIsolation?: RegExp; mayFail?: RegExp } = {}): Promise<AppRun> {
    const page: Page = await context.newPage();
    const errors: string[] = [];
    const warnings: string[] = [];
    const wasm: AppRun['wasm'] = [];
    const workers: string[] = [];
    const requested: string[] = [];
    const failed: string[] = [];
    page.on('request', (r) => requested.push(new URL(r.url()).pathname));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(`console.error: ${m.text()} (${m.location().url})`);
      if (m.type() === 'warning') warnings.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(`uncaught: ${e.message}`));
    page.on('requestfailed', (r) => {
      if (mayFail?.test(r.url())) failed.push(`${new URL(r.url()).pathname} ${r.failure()?.errorText}`);
      else errors.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ''}`);
    });
    page.on('response', (r) => {
      const path = new URL(r.url()).pathname;
      if (path.endsWith('.wasm')) wasm.push({ path, status: r.status(), type: r.headers()['content-type'] });
    });
    page.on('worker', (w) => workers.push(new URL(w.url()).pathname));
    if (withoutIsolation) {
      const isolation = /^cross-origin-(opener|embedder)-policy$/i;
      await page.route(withoutIsolation, async (route) => {
        const response = await route.fetch();
        await route.fulfill({ response, headers: Object.fromEntries(Object.entries(response.headers()).filter(([name]) => !isolation.test(name))) });
      });
    }
    try {
      await page.goto(url);
      await page.waitForFunction(() => 'linformerApp' in globalThis, undefined, { timeout: 15_000 });
      type App = { ready: Promise<BackendInfo>; runCase(c: GoldenCase): CaseResult; seededForward(): Seeded };
      const info = await page.evaluate(() => (globalThis as unknown as { linformerApp: App }).linformerApp.ready);
      const { crossOriginIsolated, results, seeded } = await page.evaluate(
        (cases) => {
          const app = (globalThis as unknown as { linformerApp: App }).linformerApp;
          return { crossOriginIsolated: globalThis.crossOriginIsolated, results: cases.map((c) => app.runCase(c)), seeded: app.seededForward() };
        },
        CASES,
      );
      checkGolden(results);
      assert.deepEqual(errors, []);
      return { info, crossOriginIsolated, results, seeded, wasm, workers, requested, warnings, failed };
    } finally {
      await page.close();
    }
  }

  /**
   * Chromium validates relaxed SIMD: init() fetched only the relaxed build
   * at `path` (the threaded one when threads run), as wasm, or nothing when
   * `path` is null, and runs it.
   */
  function ranRelaxed(run: AppRun, path: string | RegExp | null, threads: number): void {
    assert.deepEqual(withoutTile(run.info), { build: 'relaxed-simd', relaxedSimdAvailable: true, buildFallback: null, threads, threadsUnavailable: null });
    if (path === null) return assert.deepEqual(run.wasm, []);
    assert.equal(run.wasm.length, 1, JSON.stringify(run.wasm));
    if (typeof path === 'string') assert.equal(run.wasm[0].path, path);
    else assert.match(run.wasm[0].path, path);
    assert.equal(run.wasm[0].status, 200);
    assert.equal(run.wasm[0].type, 'application/wasm');
  }

  interface Served {
    /** The path of the relaxed build and of its threaded twin, as the page fetches them; null for none. */
    relaxed: string | RegExp | null;
    relaxedThreads: string | RegExp | null;
    /** The path the worker starts from. */
    worker: string | RegExp;
  }

  /**
   * The app at `url` on a cross-origin isolated page, with numThreads 1 and
   * then 2: one thread, then two, with the worker started from `served.worker`,
   * and the same bits for the golden cases and the seeded call, which the
   * worker took part in. Returns the one-thread run.
   */
  async function oneThenTwoThreads(url: string, served: Served): Promise<AppRun> {
    const query = url.includes('?') ? '&' : '?';
    const one = await runApp(`${url}${query}threads=1`);
    assert.equal(one.crossOriginIsolated, true, 'the page is cross-origin isolated');
    ranRelaxed(one, served.relaxed, 1);
    assert.deepEqual(one.workers, [], 'no worker on one thread');
    assert.deepEqual(one.warnings, []);

    const two = await runApp(`${url}${query}threads=2`);
    assert.equal(two.crossOriginIsolated, true, 'the page is cross-origin isolated');
    ranRelaxed(two, served.relaxedThreads, 2);
    assert.equal(two.workers.length, 1, `one worker: ${JSON.stringify(two.workers)}`);
    if (typeof served.worker === 'string') assert.equal(two.workers[0], served.worker);
    else assert.match(two.workers[0], served.worker);
    assert.deepEqual(two.warnings, []);
    assert.deepEqual(two.results, one.results, 'the golden cases give the same bits on two threads as on one');
    assert.deepEqual(two.seeded.hashes, one.seeded.hashes, 'the seeded call gives the same bits on two threads as on one');
    assert.equal(two.seeded.busyMs.length, 2, 'the profile counts both threads');
    assert.ok(two.seeded.busyMs[1] > 0, `the worker ran tasks: busy ${two.seeded.busyMs.join(', ')} ms`);
    return one;
  }

  const page = (name: string) => `${server.origin}/${name}/`;
  const copyPage = (dir: string, script: string) =>
    writeFileSync(
      join(dir, 'index.html'),
      `<!doctype html><link rel="icon" href="data:,"><body><script type="module" src="${script}"></script></body>`,
    );

  it(
    'esbuild: the wasm and the worker are left to be copied beside the bundle; with them there, golden outputs on 1 and 2 threads; without COOP/COEP, or without COEP on the worker script, one thread and why',
    { timeout: 30_000, skip },
    async () => {
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
      assert.deepEqual(readdirSync(dir), ['main.js'], 'esbuild emits the bundle alone');
      copyBeside(dir, BROWSER_FILES);
      copyPage(dir, 'main.js');
      const one = await oneThenTwoThreads(page('esbuild'), {
        relaxed: '/esbuild/linformer-relaxed.wasm',
        relaxedThreads: '/esbuild/linformer-relaxed-threads.wasm',
        worker: `/esbuild/${WORKER_FILE}`,
      });

      // The same files, served without the headers: init() runs one thread,
      // says why, and warns once.
      const plain = await runApp(`${page('esbuild')}?threads=2`, { withoutIsolation: /./ });
      assert.equal(plain.crossOriginIsolated, false);
      const reason = 'page not cross-origin isolated: serve it with COOP/COEP headers (Cross-Origin-Opener-Policy: same-origin, Cross-Origin-Embedder-Policy: require-corp)';
      assert.deepEqual(withoutTile(plain.info), { build: 'relaxed-simd', relaxedSimdAvailable: true, buildFallback: null, threads: 1, threadsUnavailable: reason });
      assert.deepEqual(plain.warnings, [`linformer-wasm: numThreads 2 asked for, running 1: ${reason}`]);
      assert.deepEqual(plain.workers, []);
      assert.deepEqual(plain.wasm.map((w) => w.path), ['/esbuild/linformer-relaxed.wasm']);
      assert.deepEqual(plain.results, one.results);
      assert.deepEqual(plain.seeded.hashes, one.seeded.hashes);

      // The headers on the page but not on the worker script: the page is
      // isolated, but Chromium refuses the worker.
      const workerScript = /\/linformer-worker\.js$/;
      const bare = await runApp(`${page('esbuild')}?threads=2`, { withoutIsolation: workerScript, mayFail: workerScript });
      assert.equal(bare.crossOriginIsolated, true);
      assert.deepEqual(bare.failed, [`/esbuild/${WORKER_FILE} net::ERR_BLOCKED_BY_RESPONSE`]);
      assert.equal(bare.info.threads, 1);
      assert.match(bare.info.threadsUnavailable ?? '', /^a worker could not start: the worker script could not be loaded \(.*\); running one thread$/);
      assert.equal(bare.warnings.length, 1, JSON.stringify(bare.warnings));
      assert.deepEqual(bare.results, one.results);
    },
  );

  it("esbuild, importing 'linformer-wasm/inline': nothing to copy; golden outputs on 1 and 2 threads, the worker started from a blob", { timeout: 20_000, skip }, async () => {
    const dir = out('esbuild-inline');
    await esbuild({
      absWorkingDir: project,
      entryPoints: ['main-inline.js'],
      bundle: true,
      format: 'esm',
      platform: 'browser',
      outdir: dir,
      logLevel: 'silent',
    });
    assert.deepEqual(readdirSync(dir), ['main-inline.js'], 'esbuild emits the bundle alone');
    copyPage(dir, 'main-inline.js');
    await oneThenTwoThreads(page('esbuild-inline'), { relaxed: null, relaxedThreads: null, worker: /^http:\/\/127\.0\.0\.1:\d+\/[\da-f-]{36}$/ });
  });

  it('vite build: emits the four wasm files and the worker as hashed assets; golden outputs on 1 and 2 threads', { timeout: 30_000, skip }, async () => {
    const dir = out('vite');
    await viteBuild({
      root: project,
      configFile: false,
      logLevel: 'silent',
      // Relative asset URLs, so the app works under /vite/.
      base: './',
      build: { outDir: dir, emptyOutDir: true },
    });
    // Each file under its name and a hash of 8 characters.
    const assets = readdirSync(join(dir, 'assets'));
    const asset = (name: string, ext: string) => {
      const found = assets.filter((f) => new RegExp(`^${name}-[\\w-]{8}\\.${ext}$`).test(f));
      assert.equal(found.length, 1, `vite build emitted ${name}.${ext} as ${JSON.stringify(found)}`);
      return `assets/${found[0]}`;
    };
    assert.equal(wasmIn(dir).length, 4, `vite build emitted ${JSON.stringify(wasmIn(dir))}`);
    for (const f of WASM_FILES) asset(f.replace('.wasm', ''), 'wasm');
    const relaxed = asset('linformer-relaxed', 'wasm');
    const relaxedThreads = asset('linformer-relaxed-threads', 'wasm');
    const worker = asset('linformer-worker', 'js');
    await oneThenTwoThreads(page('vite'), { relaxed: `/vite/${relaxed}`, relaxedThreads: `/vite/${relaxedThreads}`, worker: `/vite/${worker}` });
  });

  it(
    'vite dev server, with no optimizeDeps setting and the COOP/COEP headers in server.headers: the pre-bundled package still finds its wasm and its worker',
    { timeout: 30_000, skip },
    async () => {
      vite = await viteServer({
        root: project,
        configFile: false,
        logLevel: 'silent',
        server: { host: '127.0.0.1', port: 0, strictPort: true, headers: ISOLATION_HEADERS },
      });
      await vite.listen();
      // The dev server pre-bundled the package into node_modules/.vite/deps and
      // pointed its wasm and worker URLs back at the installed package's files.
      const dist = '/node_modules/linformer-wasm/dist';
      const run = await oneThenTwoThreads(vite.resolvedUrls!.local[0], {
        relaxed: `${dist}/linformer-relaxed.wasm`,
        relaxedThreads: `${dist}/linformer-relaxed-threads.wasm`,
        worker: `${dist}/${WORKER_FILE}`,
      });
      assert.ok(run.requested.includes('/node_modules/.vite/deps/linformer-wasm.js'), `pre-bundled: ${run.requested.join(' ')}`);
    },
  );

  it('webpack 5: emits the four wasm files as assets and the worker as a chunk; golden outputs on 1 and 2 threads', { timeout: 30_000, skip }, async () => {
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
    const json = stats.toJson({ all: false, assets: true, chunks: true, chunkModules: true });
    const emitted = json.assets!.filter((a) => a.name.endsWith('.wasm'));
    assert.deepEqual(
      emitted.map((a) => a.info.sourceFilename).sort(),
      WASM_FILES.map((f) => `node_modules/linformer-wasm/dist/${f}`).sort(),
    );
    assert.equal(wasmIn(dir).length, 4);
    // The worker is a chunk of its own, which holds dist/linformer-worker.js.
    const workerChunks = json.chunks!.filter((c) => c.modules?.some((m) => m.name?.endsWith(`linformer-wasm/dist/${WORKER_FILE}`)));
    assert.equal(workerChunks.length, 1, `chunks holding the worker: ${JSON.stringify(workerChunks.map((c) => c.files))}`);
    const workerFiles = [...(workerChunks[0].files ?? [])];
    assert.equal(workerFiles.length, 1, JSON.stringify(workerFiles));
    copyPage(dir, 'main.js');
    // webpack names assets by their hash alone.
    const named = (file: string) => `/webpack/${emitted.find((a) => a.info.sourceFilename!.endsWith(`/${file}`))!.name}`;
    await oneThenTwoThreads(page('webpack'), {
      relaxed: named('linformer-relaxed.wasm'),
      relaxedThreads: named('linformer-relaxed-threads.wasm'),
      worker: `/webpack/${workerFiles[0]}`,
    });
  });

  it(
    'rollup with @rollup/plugin-node-resolve: the wasm and the worker are left to be copied; with them there, golden outputs on 1 and 2 threads',
    { timeout: 30_000, skip },
    async () => {
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
      assert.deepEqual(readdirSync(dir), ['main.js'], 'rollup emits the bundle alone');
      copyBeside(dir, BROWSER_FILES);
      copyPage(dir, 'main.js');
      await oneThenTwoThreads(page('rollup'), {
        relaxed: '/rollup/linformer-relaxed.wasm',
        relaxedThreads: '/rollup/linformer-relaxed-threads.wasm',
        worker: `/rollup/${WORKER_FILE}`,
      });
    },
  );
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

  type Report = { warnings: string[] } & ({ info: BackendInfo; results: CaseResult[]; seeded: Seeded } | { error: { name: string; message: string } });
  /** Runs a bundled node-report.js app with init(undefined, { numThreads }). */
  async function runNode(app: string, flags: string[], numThreads: number): Promise<Report> {
    const { stdout } = await execFileAsync(process.execPath, [...flags, app, join(project, 'cases.json'), String(numThreads)], { encoding: 'utf8', timeout: 20_000 });
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
    it(
      `${format}: without the wasm beside the bundle, a clear error; with only linformer.wasm, the plain build; with the two single-thread builds, relaxed, and one thread where two were asked for`,
      { timeout: 30_000 },
      async () => {
        const app = await bundleNode('node-app.js', format, `node-${format}`);
        const dir = join(app, '..');
        for (const flags of engines) {
          for (const numThreads of [1, 2]) {
            const report = await runNode(app, flags, numThreads);
            assert.ok('error' in report, `init() should fail: ${JSON.stringify(report).slice(0, 200)}`);
            assert.equal(report.error.name, 'Error');
            // The plain build is the one asked for last, with or without relaxed SIMD and threads.
            assert.equal(
              report.error.message,
              `linformer-wasm: ${join(dir, 'linformer.wasm')} does not exist. init() reads the wasm beside the code that imports it; ` +
                'if linformer-wasm was bundled into one file, copy the four linformer*.wasm files ' +
                `from node_modules/linformer-wasm/dist/ into ${dir}, or import 'linformer-wasm/inline', which carries the wasm inside`,
            );
          }
        }

        copyBeside(dir, ['linformer.wasm']);
        for (const flags of engines) {
          const report = await runNode(app, flags, 1);
          assert.ok('info' in report, JSON.stringify(report));
          assert.deepEqual(withoutTile(report.info), {
            build: 'simd',
            relaxedSimdAvailable: engineHasRelaxed(flags),
            buildFallback: engineHasRelaxed(flags) ? 'linformer-relaxed.wasm: file not found; running the plain SIMD build' : null,
            threads: 1,
            threadsUnavailable: null,
          });
          checkGolden(report.results);
        }

        copyBeside(dir, ['linformer-relaxed.wasm']);
        for (const flags of engines) {
          const relaxed = engineHasRelaxed(flags);
          const one = await runNode(app, flags, 1);
          assert.ok('info' in one, JSON.stringify(one));
          assert.deepEqual(withoutTile(one.info), { build: relaxed ? 'relaxed-simd' : 'simd', relaxedSimdAvailable: relaxed, buildFallback: null, threads: 1, threadsUnavailable: null });
          checkGolden(one.results);
          assert.deepEqual(one.warnings, []);

          // Without the threaded builds, numThreads 2 runs one thread, says why and warns once.
          const two = await runNode(app, flags, 2);
          assert.ok('info' in two, JSON.stringify(two));
          const reason = 'linformer-threads.wasm: file not found; running one thread';
          assert.deepEqual(withoutTile(two.info), { build: relaxed ? 'relaxed-simd' : 'simd', relaxedSimdAvailable: relaxed, buildFallback: null, threads: 1, threadsUnavailable: reason });
          assert.deepEqual(two.warnings, [`linformer-wasm: numThreads 2 asked for, running 1: ${reason}`]);
          assert.deepEqual(two.results, one.results);
        }
      },
    );

    it(`${format}: with the four wasm files beside the bundle, two threads give the same bits as one`, { timeout: 30_000 }, async () => {
      const app = await bundleNode('node-app.js', format, `node-threads-${format}`);
      copyBeside(join(app, '..'), WASM_FILES);
      for (const flags of engines) {
        const relaxed = engineHasRelaxed(flags);
        const [one, two] = await Promise.all([runNode(app, flags, 1), runNode(app, flags, 2)]);
        assert.ok('info' in one && 'info' in two, JSON.stringify([one, two]).slice(0, 400));
        const info = { build: relaxed ? 'relaxed-simd' : 'simd', relaxedSimdAvailable: relaxed, buildFallback: null, threadsUnavailable: null };
        assert.deepEqual(withoutTile(one.info), { ...info, threads: 1 });
        assert.deepEqual(withoutTile(two.info), { ...info, threads: 2 });
        checkGolden(one.results);
        assert.deepEqual(two.results, one.results, 'the golden cases give the same bits on two threads as on one');
        assert.deepEqual(two.seeded.hashes, one.seeded.hashes, 'the seeded call gives the same bits on two threads as on one');
        assert.ok(two.seeded.busyMs[1] > 0, `the worker ran tasks: busy ${two.seeded.busyMs.join(', ')} ms`);
        assert.deepEqual([...one.warnings, ...two.warnings], []);
      }
    });

    it(`${format}: importing 'linformer-wasm/inline' needs no file beside the bundle, and runs 2 threads (worker_threads) in one thread's bits`, { timeout: 30_000 }, async () => {
      const app = await bundleNode('node-app-inline.js', format, `node-inline-${format}`);
      for (const flags of engines) {
        const relaxed = engineHasRelaxed(flags);
        const info = { build: relaxed ? 'relaxed-simd' : 'simd', relaxedSimdAvailable: relaxed, buildFallback: null, threadsUnavailable: null };
        const one = await runNode(app, flags, 1);
        assert.ok('info' in one, JSON.stringify(one));
        assert.deepEqual(withoutTile(one.info), { ...info, threads: 1 });
        checkGolden(one.results);
        // Under the node condition the inline entry is the Node one, wasm inside: its workers are worker_threads.
        const two = await runNode(app, flags, 2);
        assert.ok('info' in two, JSON.stringify(two));
        assert.deepEqual(withoutTile(two.info), { ...info, threads: 2 });
        assert.deepEqual(two.warnings, []);
        assert.deepEqual(two.results, one.results);
        assert.deepEqual(two.seeded.hashes, one.seeded.hashes, 'the seeded call gives the same bits on two threads as on one');
      }
    });
  }
});
