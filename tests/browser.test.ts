// The browser bundle in headless Chromium (found by tests/helpers/chromium.ts,
// driven by playwright-core): every module golden case through the bundle
// that fetches its wasm and through the inlined one, compared here in Node;
// the fallback to the plain build when the relaxed one is missing; the
// example page; the docs example bundled by esbuild. Any console error
// fails. Also how Chromium is found, and what happens without one.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
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

/**
 * A new page whose console errors, uncaught exceptions and failed requests
 * are collected; Chromium's console line for a 404 of `expected404` is not
 * one of them.
 */
async function openPage(path: string, expected404?: string): Promise<{ page: Page; errors: string[] }> {
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    const expected = expected404 !== undefined && m.location().url.endsWith(expected404) && /\b404\b/.test(m.text());
    if (!expected) errors.push(`console.error: ${m.text()} (${m.location().url})`);
  });
  page.on('pageerror', (e) => errors.push(`uncaught: ${e.message}`));
  page.on('requestfailed', (r) => errors.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ''}`));
  await page.goto(server.origin + path);
  return { page, errors };
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
 * Runs in the page: imports the bundle, initialises it and runs every module
 * golden case, returning the raw outputs. Self-contained, since Playwright
 * sends only its source.
 */
async function runGoldenInPage(arg: {
  bundle: string;
  files: string[];
  relaxedSimd: boolean;
}): Promise<{ info: BackendInfo; results: PageCaseResult[] }> {
  type Pkg = typeof import('linformer-wasm');
  type Raw = RawTensor;
  const pkg: Pkg = await import(arg.bundle);
  await pkg.init(undefined, { relaxedSimd: arg.relaxedSimd });

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
  return { info: pkg.backendInfo(), results };
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

async function goldenThroughBundle(
  bundle: string,
  relaxedSimd: boolean,
  { files = MODULE_GOLDEN_FILES, minCases = 100, expected404 }: { files?: string[]; minCases?: number; expected404?: string } = {},
): Promise<{ info: BackendInfo; requests: { path: string; status: number }[] }> {
  const seen = server.requests.length;
  const { page, errors } = await openPage('/', expected404);
  try {
    const { info, results } = await page.evaluate(runGoldenInPage, { bundle, files, relaxedSimd });
    const { checked, failures } = mismatches(results, files);
    assert.deepEqual(failures, [], `${failures.length} golden cases differ in Chromium`);
    assert.ok(checked > minCases, `only ${checked} golden cases ran`);
    assert.deepEqual(errors, []);
    return { info, requests: server.requests.slice(seen) };
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
    assert.deepEqual(withoutTile(info), { build: 'relaxed-simd', relaxedSimdAvailable: true, buildFallback: null });
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
    assert.deepEqual(withoutTile(info), { build: 'simd', relaxedSimdAvailable: true, buildFallback: null });
    assert.deepEqual(paths(requests).filter((p) => p.endsWith('.wasm')), []);
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
    assert.equal(skipped.length, 5, output);
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
