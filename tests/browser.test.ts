// The browser bundle in headless Chromium (found by tests/helpers/chromium.ts,
// driven by playwright-core): every module golden case through the bundle
// that fetches its wasm and through the inlined one, compared here in Node;
// the fallback to the plain build when the relaxed one is missing; worker
// threads on a cross-origin isolated page (the golden cases, and the same
// bits as one thread), and one thread, with the reason and one warning, on a
// page that is not isolated or whose worker script is missing; the example
// page; the docs example bundled by esbuild. Any console error fails. Also
// how Chromium is found, and what happens without one.
import { describe, it, before, after, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromium as playwrightChromium, type BrowserContext, type Page } from 'playwright-core';
import type { BackendInfo } from 'linformer-wasm';
import { assertClose, loadGolden, type RawTensor } from './helpers/golden.js';
import { MODULE_GOLDEN_FILES, goldenCase, type GoldenCase } from './helpers/golden-cases.js';
import { docExample, repoRoot } from './helpers/docs.js';
import { withoutTile } from './helpers/backend.js';
import { serveStatic, type StaticServer } from './helpers/server.js';
import { browserTests, findChromium, inCI, launchChromium } from './helpers/chromium.js';

const browser = browserTests();
const skip = browser.skip;

let server: StaticServer;
let context: BrowserContext;
let tempDir: string;

interface OpenedPage {
  page: Page;
  /** Console errors, uncaught exceptions and failed requests. */
  errors: string[];
  /** console.warn lines. */
  warnings: string[];
}

/**
 * A new page whose console errors, uncaught exceptions, failed requests and
 * console warnings are collected; Chromium's console line for a 404 of
 * `expected404` is not one of them, nor the failed request it makes of a
 * worker script's 404. The server sends COOP/COEP with every
 * response; `isolated: false` takes them off this page's document, so the
 * page is not cross-origin isolated.
 */
async function openPage(path: string, { expected404, isolated = true }: { expected404?: string; isolated?: boolean } = {}): Promise<OpenedPage> {
  const page = await context.newPage();
  const errors: string[] = [];
  const warnings: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'warning') warnings.push(m.text());
    if (m.type() !== 'error') return;
    const expected = expected404 !== undefined && m.location().url.endsWith(expected404) && /\b404\b/.test(m.text());
    if (!expected) errors.push(`console.error: ${m.text()} (${m.location().url})`);
  });
  page.on('pageerror', (e) => errors.push(`uncaught: ${e.message}`));
  page.on('requestfailed', (r) => {
    if (expected404 === undefined || !r.url().endsWith(expected404)) errors.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ''}`);
  });
  if (!isolated) {
    await page.route(server.origin + path, async (route) => {
      const response = await route.fetch();
      const isolation = /^cross-origin-(opener|embedder)-policy$/i;
      await route.fulfill({ response, headers: Object.fromEntries(Object.entries(response.headers()).filter(([name]) => !isolation.test(name))) });
    });
  }
  await page.goto(server.origin + path);
  return { page, errors, warnings };
}

interface PageTensor {
  dims: number[];
  data: Float32Array;
}
interface PageCaseResult {
  file: string;
  name: string;
  error: string | null;
  calls: { output: PageTensor; weights: PageTensor | null }[];
}

/**
 * How a page imports and initialises the bundle. Each URL is a module
 * instance of its own, with its own init(): a query string (ignored by the
 * server) gives the same page a second one.
 */
interface PageInit {
  bundle: string;
  relaxedSimd: boolean;
  numThreads: number;
}

/**
 * Runs in the page: imports the bundle, initialises it and runs every module
 * golden case, returning the raw outputs. Self-contained, since Playwright
 * sends only its source.
 */
async function runGoldenInPage(
  arg: PageInit & { files: string[] },
): Promise<{ info: BackendInfo; crossOriginIsolated: boolean; results: PageCaseResult[] }> {
  type Pkg = typeof import('linformer-wasm');
  type Raw = RawTensor;
  const pkg: Pkg = await import(arg.bundle);
  await pkg.init(undefined, { relaxedSimd: arg.relaxedSimd, numThreads: arg.numThreads });

  const bytes = (t: Raw) => Uint8Array.from(atob(t.data), (c) => c.charCodeAt(0));
  const f32 = (t: Raw) => ({ dims: t.dims, data: new Float32Array(bytes(t).buffer) });
  const mask = (t: Raw | undefined) =>
    t === undefined ? undefined : t.dtype === 'u8' ? { dims: t.dims, data: bytes(t) } : f32(t);

  const results: PageCaseResult[] = [];
  for (const file of arg.files) {
    const golden: { cases: GoldenCase[] } = await (await fetch(`/golden/${file}`)).json();
    for (const c of golden.cases) {
      const result: PageCaseResult = { file, name: c.name, error: null, calls: [] };
      type Linformer = InstanceType<Pkg['LinearMultiheadAttention']>;
      const mods: (InstanceType<Pkg['MultiheadAttention']> | Linformer)[] = [];
      try {
        for (const m of c.modules) {
          const mod =
            m.ctor === 'MultiheadAttention'
              ? new pkg.MultiheadAttention(m.embedDim, m.numHeads, m.options)
              : new pkg.LinearMultiheadAttention(m.embedDim, m.numHeads, {
                  ...m.options,
                  shareWith: m.shareWith === null ? undefined : (mods[m.shareWith] as Linformer),
                });
          mods.push(mod);
          if (m.stateDictFile) {
            mod.loadStateDict(await (await fetch(`/golden/${m.stateDictFile}`)).arrayBuffer());
          } else {
            mod.loadStateDict(Object.fromEntries(Object.entries(m.stateDict ?? {}).map(([k, t]) => [k, f32(t)])));
          }
        }
        for (const call of c.calls) {
          const fo = call.forwardOptions;
          const { output, weights } = mods[call.module].forward(f32(call.query), f32(call.key), f32(call.value), {
            needWeights: fo.needWeights,
            averageAttnWeights: fo.averageAttnWeights,
            keyPaddingMask: mask(fo.keyPaddingMask),
            attnMask: mask(fo.attnMask),
          });
          result.calls.push({ output, weights });
        }
      } catch (e) {
        result.error = String(e);
      } finally {
        for (const m of mods) m.dispose();
      }
      results.push(result);
    }
  }
  return { info: pkg.backendInfo(), crossOriginIsolated, results };
}

interface ShapeHashes {
  info: BackendInfo;
  /** What was computed (shape, module, weights mode, tensor) → its dims and a hash of its bits. */
  hashes: Record<string, string>;
  /** Milliseconds each thread (0 = the page's) spent on tasks, from the package's profile hook. */
  busyMs: number[];
}

/**
 * Runs in the page: both modules on a few seeded shapes, uneven ones among
 * them, returning a hash of the bits of every parameter, output and
 * attention weights (averaged, per head, none asked for), and each thread's
 * busy time, which shows the workers took part. Self-contained, as
 * runGoldenInPage.
 */
async function hashShapesInPage(arg: PageInit): Promise<ShapeHashes> {
  type Pkg = typeof import('linformer-wasm');
  type F32 = { dims: readonly number[]; data: Float32Array };
  const pkg: Pkg = await import(arg.bundle);
  await pkg.init(undefined, { relaxedSimd: arg.relaxedSimd, numThreads: arg.numThreads });

  let seed = 20240601;
  const uniform = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) + 0.5) / 2 ** 32;
  const random = (dims: number[]) => ({ dims, data: Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => 2 * uniform() - 1) });
  // FNV-1a over the 32-bit words: a change to any one word changes it.
  const hash = (t: F32) => {
    const words = new Uint32Array(t.data.buffer, t.data.byteOffset, t.data.length);
    let h = 0x811c9dc5;
    for (let i = 0; i < words.length; i++) h = Math.imul(h ^ words[i], 0x01000193);
    return `${t.dims.join('x')}:${(h >>> 0).toString(16).padStart(8, '0')}`;
  };

  const busyMs: number[] = [];
  const PROFILE = Symbol.for('linformer-wasm.profile');
  const hooks = globalThis as unknown as Record<symbol, unknown>;
  hooks[PROFILE] = (p: { steps: { busyMs: number[] }[] }) => {
    for (const step of p.steps) step.busyMs.forEach((ms, t) => (busyMs[t] = (busyMs[t] ?? 0) + ms));
  };

  const shapes = [
    { L: 37, N: 3, E: 48, H: 6, S: 29, projK: 13, masked: false },
    // Large enough that its GEMMs are cut into many tasks; with a padding mask.
    { L: 150, N: 2, E: 96, H: 6, S: 131, projK: 24, masked: true },
    // Unbatched.
    { L: 45, N: null, E: 40, H: 5, S: 61, projK: 16, masked: false },
  ];
  const hashes: Record<string, string> = {};
  try {
    for (const { L, N, E, H, S, projK, masked } of shapes) {
      const batch = N === null ? [] : [N];
      const query = random([L, ...batch, E]);
      const key = random([S, ...batch, E]);
      const value = random([S, ...batch, E]);
      const n = N ?? 1;
      const keyPaddingMask = masked
        ? { dims: [n, S], data: Uint8Array.from({ length: n * S }, (_, i) => Number(i % 7 === 3 || (i >= S && i % S >= S - 10))) }
        : undefined;
      const shape = `L${L} N${N ?? '-'} E${E} H${H} S${S}${masked ? ' masked' : ''}`;
      for (const [ctor, make] of [
        ['MultiheadAttention', () => new pkg.MultiheadAttention(E, H, { seed: 3 })],
        ['LinearMultiheadAttention', () => new pkg.LinearMultiheadAttention(E, H, { seed: 3, seqLen: S + 5, projK })],
      ] as const) {
        const name = `${shape} ${ctor}`;
        const mod = make();
        try {
          for (const [param, t] of Object.entries(mod.stateDict())) hashes[`${name} ${param}`] = hash(t);
          for (const [mode, options] of [
            ['averaged', { averageAttnWeights: true }],
            ['per-head', { averageAttnWeights: false }],
            ['no weights', { needWeights: false }],
          ] as const) {
            const { output, weights } = mod.forward(query, key, value, { ...options, keyPaddingMask });
            hashes[`${name} ${mode} output`] = hash(output);
            hashes[`${name} ${mode} weights`] = weights === null ? 'null' : hash(weights);
          }
        } finally {
          mod.dispose();
        }
      }
    }
  } finally {
    delete hooks[PROFILE];
  }
  return { info: pkg.backendInfo(), hashes, busyMs };
}

/** Compares the page's results with the golden expectations; returns one line per mismatch. */
function mismatches(results: PageCaseResult[], files: string[]): { checked: number; failures: string[] } {
  const failures: string[] = [];
  let checked = 0;
  for (const file of files) {
    for (const c of loadGolden<GoldenCase>(file).cases) {
      const got = results.find((r) => r.file === file && r.name === c.name);
      if (!got) {
        failures.push(`${c.name}: not run`);
        continue;
      }
      if (got.error) {
        failures.push(`${c.name}: ${got.error}`);
        continue;
      }
      checked++;
      c.calls.forEach((call, i) => {
        try {
          assertClose(`${c.name} call ${i} output`, got.calls[i].output, call.expected.output);
          const weights = got.calls[i].weights;
          if (call.expected.weights === null) assert.equal(weights, null, `${c.name} call ${i}: weights should be null`);
          else if (weights === null) assert.fail(`${c.name} call ${i}: weights missing`);
          else assertClose(`${c.name} call ${i} weights`, weights, call.expected.weights);
        } catch (e) {
          failures.push((e as Error).message.split('\n')[0]);
        }
      });
    }
  }
  return { checked, failures };
}

/** Runs the golden cases in an open page and checks them; returns what the page's init() reported. */
async function checkGoldenInPage(
  page: Page,
  run: PageInit & { files?: string[]; minCases?: number },
): Promise<{ info: BackendInfo; crossOriginIsolated: boolean }> {
  const { files = MODULE_GOLDEN_FILES, minCases = 100, ...init } = run;
  const { info, crossOriginIsolated, results } = await page.evaluate(runGoldenInPage, { ...init, files });
  const { checked, failures } = mismatches(results, files);
  assert.deepEqual(failures, [], `${failures.length} golden cases differ in Chromium (${init.numThreads} threads)`);
  assert.ok(checked > minCases, `only ${checked} golden cases ran`);
  return { info, crossOriginIsolated };
}

/**
 * The golden cases through `bundle` on a page of their own (one thread
 * unless asked). No console error, and no warning unless `warning` is given:
 * then exactly one, which matches it and gives backendInfo().threadsUnavailable.
 */
async function goldenThroughBundle(
  bundle: string,
  relaxedSimd: boolean,
  {
    files,
    minCases,
    expected404,
    numThreads = 1,
    isolated = true,
    warning,
  }: { files?: string[]; minCases?: number; expected404?: string; numThreads?: number; isolated?: boolean; warning?: RegExp } = {},
): Promise<{ info: BackendInfo; crossOriginIsolated: boolean; requests: { path: string; status: number }[] }> {
  const seen = server.requests.length;
  const { page, errors, warnings } = await openPage('/', { expected404, isolated });
  try {
    const { info, crossOriginIsolated } = await checkGoldenInPage(page, { bundle, relaxedSimd, numThreads, files, minCases });
    assert.deepEqual(errors, []);
    if (warning === undefined) assert.deepEqual(warnings, []);
    else {
      assert.equal(warnings.length, 1, `one console.warn, got ${JSON.stringify(warnings)}`);
      assert.match(warnings[0], warning);
      assert.ok(info.threadsUnavailable !== null && warnings[0].includes(info.threadsUnavailable), `the warning gives the reason: ${warnings[0]}`);
    }
    return { info, crossOriginIsolated, requests: server.requests.slice(seen) };
  } finally {
    await page.close();
  }
}

/**
 * On a cross-origin isolated page: the golden cases through `bundle` on each
 * of `threadCounts` threads, and the bits of hashShapesInPage's results the
 * same as on one thread. Each count is a module instance of its own in the
 * one page, the one-thread instance on the single-threaded build.
 */
async function threadsAgainstOneThread(
  t: TestContext,
  bundle: string,
  relaxedSimd: boolean,
  threadCounts: number[],
): Promise<{ infos: BackendInfo[]; requests: { path: string; status: number }[] }> {
  const seen = server.requests.length;
  const { page, errors, warnings } = await openPage('/');
  const instance = (numThreads: number): PageInit => ({ bundle: `${bundle}?threads=${numThreads}`, relaxedSimd, numThreads });
  try {
    const one = await page.evaluate(hashShapesInPage, instance(1));
    assert.equal(one.info.threads, 1);
    const infos: BackendInfo[] = [];
    for (const numThreads of threadCounts) {
      const { info, crossOriginIsolated } = await checkGoldenInPage(page, instance(numThreads));
      assert.equal(crossOriginIsolated, true, 'the page is cross-origin isolated');
      assert.equal(info.threads, numThreads, `threads in use (${info.threadsUnavailable})`);
      assert.equal(info.threadsUnavailable, null);
      assert.equal(info.build, one.info.build, 'the same build as one thread, over a shared memory');
      const many = await page.evaluate(hashShapesInPage, instance(numThreads));
      assert.deepEqual(many.hashes, one.hashes, `${numThreads} threads give other bits than one`);
      assert.equal(many.busyMs.length, numThreads, 'the profile counts every thread');
      for (let w = 1; w < numThreads; w++) assert.ok(many.busyMs[w] > 0, `worker ${w} ran tasks: busy ${many.busyMs.join(', ')} ms`);
      t.diagnostic(`${numThreads} threads: ${Object.keys(many.hashes).length} tensors alike; busy ${many.busyMs.map((ms) => ms.toFixed(1)).join(', ')} ms`);
      infos.push(info);
    }
    assert.deepEqual(errors, []);
    assert.deepEqual(warnings, []);
    return { infos, requests: server.requests.slice(seen) };
  } finally {
    await page.close();
  }
}

const paths = (requests: { path: string }[]) => requests.map((r) => r.path);

describe('browser bundle in headless Chromium', () => {
  before(
    async () => {
      if (skip) return;
      tempDir = mkdtempSync(join(tmpdir(), 'linformer-browser-'));
      const blankPage = join(tempDir, 'blank');
      mkdirSync(blankPage);
      // A page of its own for each run; the empty icon keeps Chromium from asking for /favicon.ico.
      writeFileSync(join(blankPage, 'index.html'), '<!doctype html><link rel="icon" href="data:,"><title>golden</title>');
      server = await serveStatic({
        '/': blankPage,
        '/dist/': repoRoot + 'dist',
        '/golden/': repoRoot + 'tests/golden',
        '/examples/': repoRoot + 'examples',
        '/app/': join(tempDir, 'app'),
        '/plain-only/': join(tempDir, 'plain-only'),
        '/no-worker/': join(tempDir, 'no-worker'),
      });
      context = await launchChromium(browser, join(tempDir, 'profile'));
    },
    { timeout: 30_000 },
  );

  after(async () => {
    await context?.close();
    await server?.close();
    if (tempDir) rmSync(tempDir, { recursive: true, force: true });
  });

  it('runs every module golden case with the wasm fetched beside the bundle (relaxed SIMD)', { timeout: 40_000, skip }, async () => {
    const { info, requests } = await goldenThroughBundle('/dist/index.browser.js', true);
    // Chromium ≥ 114 validates relaxed SIMD, so init() picks that build and fetches only it.
    assert.deepEqual(withoutTile(info), {
      build: 'relaxed-simd',
      relaxedSimdAvailable: true,
      buildFallback: null,
      threads: 1,
      threadsUnavailable: null,
    });
    assert.ok(paths(requests).includes('/dist/linformer-relaxed.wasm'), 'the relaxed build was fetched');
    assert.ok(!paths(requests).includes('/dist/linformer.wasm'), 'the plain SIMD build was not fetched');
  });

  it('falls back to the plain SIMD build when the relaxed one is missing (HTTP 404), and says so', { timeout: 30_000, skip }, async () => {
    const dir = join(tempDir, 'plain-only');
    mkdirSync(dir, { recursive: true });
    for (const f of ['index.browser.js', 'linformer.wasm']) copyFileSync(join(repoRoot, 'dist', f), join(dir, f));
    const { info, requests } = await goldenThroughBundle('/plain-only/index.browser.js', true, {
      files: ['linformer.json'],
      minCases: 10,
      expected404: '/plain-only/linformer-relaxed.wasm',
    });
    assert.equal(info.build, 'simd');
    assert.equal(info.relaxedSimdAvailable, true);
    assert.equal(info.buildFallback, 'linformer-relaxed.wasm: HTTP 404; running the plain SIMD build');
    const wasm = requests.filter((r) => r.path.endsWith('.wasm'));
    assert.deepEqual(wasm, [
      { path: '/plain-only/linformer-relaxed.wasm', status: 404 },
      { path: '/plain-only/linformer.wasm', status: 200 },
    ]);
  });

  it('runs every module golden case through the inlined bundle (plain SIMD), fetching no wasm', { timeout: 40_000, skip }, async () => {
    const { info, requests } = await goldenThroughBundle('/dist/index.browser.inline.js', false);
    assert.deepEqual(withoutTile(info), { build: 'simd', relaxedSimdAvailable: true, buildFallback: null, threads: 1, threadsUnavailable: null });
    assert.deepEqual(paths(requests).filter((p) => p.endsWith('.wasm')), []);
  });

  for (const [build, relaxedSimd, single, threaded] of [
    ['relaxed SIMD', true, 'linformer-relaxed.wasm', 'linformer-relaxed-threads.wasm'],
    ['plain SIMD', false, 'linformer.wasm', 'linformer-threads.wasm'],
  ] as const) {
    it(`runs the golden cases on 2 and 3 threads of a cross-origin isolated page, in the same bits as 1 thread (${build})`, { timeout: 60_000, skip }, async (t) => {
      const { infos, requests } = await threadsAgainstOneThread(t, '/dist/index.browser.js', relaxedSimd, [2, 3]);
      for (const info of infos) assert.equal(info.build, relaxedSimd ? 'relaxed-simd' : 'simd');
      // One thread ran the single-threaded build, the others the threaded one.
      const wasm = paths(requests).filter((p) => p.endsWith('.wasm'));
      assert.deepEqual([...new Set(wasm)].sort(), [`/dist/${single}`, `/dist/${threaded}`].sort());
      assert.ok(requests.some((r) => r.path === '/dist/linformer-worker.js' && r.status === 200), 'the worker script was fetched beside the bundle');
    });
  }

  it('runs one thread on a page that is not cross-origin isolated, saying why in backendInfo() and one console.warn', { timeout: 30_000, skip }, async (t) => {
    const { info, crossOriginIsolated, requests } = await goldenThroughBundle('/dist/index.browser.js', true, {
      numThreads: 2,
      isolated: false,
      warning: /^linformer-wasm: numThreads 2 asked for, running 1: /,
    });
    assert.equal(crossOriginIsolated, false);
    assert.equal(info.threads, 1);
    t.diagnostic(`threadsUnavailable: ${info.threadsUnavailable}`);
    assert.match(info.threadsUnavailable ?? '', /not cross-origin isolated.*COOP\/COEP/);
    // Neither a worker nor a threaded build is fetched for nothing.
    assert.deepEqual(paths(requests).filter((p) => p.includes('worker') || p.includes('threads')), []);
  });

  it('runs the golden cases on 2 threads through the inlined bundle, its worker from a blob, in the same bits as 1 thread', { timeout: 30_000, skip }, async (t) => {
    const { infos, requests } = await threadsAgainstOneThread(t, '/dist/index.browser.inline.js', true, [2]);
    assert.equal(infos[0].build, 'relaxed-simd');
    assert.deepEqual(paths(requests).filter((p) => p.endsWith('.wasm') || p.includes('worker')), [], 'nothing fetched but the bundle');
  });

  it('runs one thread when the worker script is missing (HTTP 404): init() resolves, and says why', { timeout: 30_000, skip }, async (t) => {
    // Everything index.browser.js fetches but linformer-worker.js.
    const dir = join(tempDir, 'no-worker');
    mkdirSync(dir, { recursive: true });
    for (const f of ['index.browser.js', 'linformer.wasm', 'linformer-relaxed.wasm', 'linformer-threads.wasm', 'linformer-relaxed-threads.wasm']) {
      copyFileSync(join(repoRoot, 'dist', f), join(dir, f));
    }
    const { info, crossOriginIsolated, requests } = await goldenThroughBundle('/no-worker/index.browser.js', true, {
      numThreads: 2,
      expected404: '/no-worker/linformer-worker.js',
      warning: /^linformer-wasm: numThreads 2 asked for, running 1: /,
    });
    assert.equal(crossOriginIsolated, true);
    assert.equal(info.threads, 1);
    t.diagnostic(`threadsUnavailable: ${info.threadsUnavailable}`);
    assert.match(info.threadsUnavailable ?? '', /a worker could not start/);
    assert.ok(requests.some((r) => r.path === '/no-worker/linformer-worker.js' && r.status === 404), 'the worker script was asked for');
  });

  it('runs the example page (examples/browser/) on sizes typed into it', { timeout: 30_000, skip }, async () => {
    const { page, errors } = await openPage('/examples/browser/');
    try {
      await page.locator('#status[data-state="ready"]').waitFor({ timeout: 10_000 });
      for (const [field, value] of Object.entries({ L: '96', S: '80', E: '64', H: '4', k: '16', runs: '3' })) {
        await page.fill(`input[name="${field}"]`, value);
      }
      await page.click('button[type="submit"]');
      await page.locator('#status[data-state="done"]').waitFor({ timeout: 20_000 });
      const rows = await page.locator('#results tbody tr').allTextContents();
      assert.equal(rows.length, 2, `one row per module, got ${JSON.stringify(rows)}`);
      for (const row of rows) {
        assert.match(row, /\(96, 1, 64\)/, 'output shape');
        assert.match(row, /\d+(\.\d+)? ms/, 'time');
      }
      assert.deepEqual(errors, []);
    } finally {
      await page.close();
    }
  });

  it("serves the README's serve.mjs page cross-origin isolated, and the bundle runs 2 threads on it", { timeout: 30_000, skip }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'linformer-serve-'));
    // The example listens on 8080; here on a free port, the one change made to it.
    const port = 20000 + Math.floor(Math.random() * 20000);
    writeFileSync(join(dir, 'serve.mjs'), docExample('serve.mjs').replaceAll('8080', String(port)));
    for (const f of ['index.browser.js', 'linformer.wasm', 'linformer-relaxed.wasm', 'linformer-threads.wasm', 'linformer-relaxed-threads.wasm', 'linformer-worker.js']) {
      copyFileSync(join(repoRoot, 'dist', f), join(dir, f));
    }
    writeFileSync(
      join(dir, 'index.html'),
      `<!doctype html><link rel="icon" href="data:,"><script type="module">
        import { init, backendInfo, MultiheadAttention } from './index.browser.js';
        await init(undefined, { numThreads: 2 });
        const x = { data: new Float32Array(10 * 64).fill(0.5), dims: [10, 64] };
        const { output } = new MultiheadAttention(64, 4, { seed: 0 }).forward(x, x, x);
        window.result = { isolated: crossOriginIsolated, info: backendInfo(), dims: output.dims };
      </script>`,
    );
    const server = spawn(process.execPath, ['serve.mjs'], { cwd: dir, stdio: ['ignore', 'pipe', 'inherit'] });
    const page = await context.newPage();
    try {
      const url = await new Promise<string>((resolve, reject) => {
        server.stdout!.once('data', (d: Buffer) => resolve(d.toString().trim()));
        server.once('exit', (code) => reject(new Error(`serve.mjs exited with ${code}`)));
      });
      assert.equal(url, `http://localhost:${port}/`);
      await page.goto(url);
      const result = await page.waitForFunction(() => (window as unknown as { result?: unknown }).result, undefined, { timeout: 15_000 });
      const r = (await result.jsonValue()) as { isolated: boolean; info: BackendInfo; dims: number[] };
      assert.equal(r.isolated, true);
      assert.equal(r.info.threads, 2, `threadsUnavailable: ${r.info.threadsUnavailable}`);
      assert.deepEqual(r.dims, [10, 64]);
    } finally {
      await page.close();
      server.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('runs the docs example bundled by esbuild with the wasm copied beside it', { timeout: 30_000, skip }, async () => {
    // Inside the repository so esbuild resolves 'linformer-wasm' to this package
    // (a self-reference), with the "browser" condition, as in an application.
    const sourceDir = mkdtempSync(join(repoRoot, 'build', 'docs-app-'));
    const appDir = join(tempDir, 'app');
    try {
      writeFileSync(join(sourceDir, 'main.js'), docExample('main.js'));
      await build({
        entryPoints: [join(sourceDir, 'main.js')],
        bundle: true,
        format: 'esm',
        platform: 'browser',
        outdir: appDir,
        logLevel: 'silent',
      });
    } finally {
      rmSync(sourceDir, { recursive: true, force: true });
    }
    for (const f of ['linformer.wasm', 'linformer-relaxed.wasm']) copyFileSync(join(repoRoot, 'dist', f), join(appDir, f));
    writeFileSync(
      join(appDir, 'index.html'),
      '<!doctype html><link rel="icon" href="data:,"><script type="module" src="main.js"></script><body></body>',
    );
    const { page, errors } = await openPage('/app/');
    try {
      await page.waitForFunction(() => document.body.textContent?.startsWith('output'), undefined, { timeout: 10_000 });
      assert.equal(await page.textContent('body'), 'output (10, 64)');
      assert.deepEqual(errors, []);
    } finally {
      await page.close();
    }
  });
});

describe('finding Chromium', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'linformer-find-chromium-'));
  after(() => rmSync(scratch, { recursive: true, force: true }));
  const nowhere = join(scratch, 'nowhere', 'chromium');
  const executable = (dir: string, name: string, mode = 0o755): string => {
    mkdirSync(join(scratch, dir), { recursive: true });
    const file = join(scratch, dir, name);
    writeFileSync(file, '#!/bin/sh\n');
    chmodSync(file, mode);
    return file;
  };

  it('takes CHROMIUM_PATH first, and looks nowhere else when it is set but missing', () => {
    assert.deepEqual(findChromium({ CHROMIUM_PATH: process.execPath, PATH: '' }), {
      found: true,
      executablePath: process.execPath,
      foundBy: 'CHROMIUM_PATH',
    });
    const missing = findChromium({ CHROMIUM_PATH: nowhere, PATH: process.env.PATH });
    assert.equal(missing.found, false);
    assert.match(missing.found ? '' : missing.reason, /^Chromium not found: CHROMIUM_PATH is .*nowhere\/chromium, which is not an executable file/);
  });

  it("then /usr/bin/chromium, then chromium-browser on PATH, then playwright's browsers", () => {
    const system = executable('usr-bin', 'chromium');
    assert.deepEqual(findChromium({ PATH: '' }, system), { found: true, executablePath: system, foundBy: system });

    // A file that is not executable is passed over.
    executable('not-executable', 'chromium-browser', 0o644);
    const onPath = executable('bin', 'chromium-browser');
    const PATH = [join(scratch, 'not-executable'), join(scratch, 'bin')].join(':');
    assert.deepEqual(findChromium({ PATH }, nowhere), { found: true, executablePath: onPath, foundBy: 'chromium-browser on PATH' });

    const search = findChromium({ PATH: join(scratch, 'not-executable') }, nowhere);
    const playwrights = playwrightChromium.executablePath();
    if (existsSync(playwrights)) {
      assert.deepEqual(search, { found: true, executablePath: playwrights, foundBy: "playwright's browsers" });
    } else {
      assert.deepEqual(search, {
        found: false,
        reason:
          "Chromium not found (CHROMIUM_PATH, /usr/bin/chromium, chromium-browser, playwright's browsers): " +
          'install it with `apt-get install chromium` or set CHROMIUM_PATH',
      });
    }
  });

  it("reads CI as CI services set it: 'true' or '1' is CI; unset, '', 'false' or '0' is not", () => {
    for (const ci of ['true', '1', 'TRUE', 'yes']) assert.equal(inCI({ CI: ci }), true, ci);
    for (const ci of [undefined, '', 'false', '0']) assert.equal(inCI({ CI: ci }), false, String(ci));
  });

  // This file again, in a child with no browser to be found, running only
  // the browser tests (the name pattern keeps the child from recursing here).
  const thisFile = fileURLToPath(import.meta.url);
  const withoutBrowser = (env: NodeJS.ProcessEnv) =>
    new Promise<{ code: number | null; output: string }>((done) => {
      // Without NODE_TEST_CONTEXT the child is a test run of its own, not a subtest of this one.
      const { NODE_TEST_CONTEXT: _, ...childEnv } = env;
      execFile(
        process.execPath,
        // TAP, which the assertions read (newer Node prints the spec reporter by default).
        ['--test', '--test-reporter=tap', '--test-name-pattern=headless Chromium', thisFile],
        { env: childEnv, timeout: 60_000 },
        (error, stdout, stderr) => done({ code: error ? ((error as { code?: number }).code ?? 1) : 0, output: stdout + stderr }),
      );
    });

  it('outside CI, without a browser: every browser test is reported as skipped, with the reason', { timeout: 60_000 }, async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, CHROMIUM_PATH: nowhere };
    delete env.CI;
    const { code, output } = await withoutBrowser(env);
    assert.equal(code, 0, output);
    const skipped = [...output.matchAll(/^\s*ok \d+ - (.*) # SKIP Chromium not found: CHROMIUM_PATH is .*nowhere\/chromium/gm)];
    assert.equal(skipped.length, 11, output);
    assert.match(output, /# fail 0/);
    assert.match(output, /# pass 0/);
  });

  it('under CI=true, without a browser: the run fails, saying why', { timeout: 60_000 }, async () => {
    const { code, output } = await withoutBrowser({ ...process.env, CI: 'true', CHROMIUM_PATH: nowhere, PATH: join(scratch, 'nowhere') });
    assert.notEqual(code, 0, output);
    assert.match(output, /Chromium not found: CHROMIUM_PATH is .*nowhere\/chromium.*\(CI is set, so the browser tests may not be skipped\)/);
    assert.doesNotMatch(output, /# SKIP Chromium/);
  });
});
