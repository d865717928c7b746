// The browser bundle in headless Chromium (Debian's /usr/bin/chromium driven
// by playwright-core): every module golden case through the bundle that
// fetches its wasm and through the inlined one, compared here in Node; the
// example page; the docs example bundled by esbuild. Any console error fails.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { assertClose, loadGolden, type RawTensor } from './helpers/golden.js';
import { MODULE_GOLDEN_FILES, type GoldenCase } from './helpers/golden-cases.js';
import { docExample, repoRoot } from './helpers/docs.js';
import { serveStatic, type StaticServer } from './helpers/server.js';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--headless',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-sync',
];

let server: StaticServer;
let context: BrowserContext;
let tempDir: string;

before(
  async () => {
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
    });
    context = await chromium.launchPersistentContext(join(tempDir, 'profile'), {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
    });
  },
  { timeout: 30_000 },
);

after(async () => {
  await context?.close();
  await server?.close();
  if (tempDir) rmSync(tempDir, { recursive: true, force: true });
});

/** A new page whose console errors, uncaught exceptions and failed requests are collected. */
async function openPage(path: string): Promise<{ page: Page; errors: string[] }> {
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console.error: ${m.text()}`);
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
}): Promise<{ build: string; results: PageCaseResult[] }> {
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
  return { build: pkg.backendInfo().build, results };
}

/** Compares the page's results with the golden expectations; returns one line per mismatch. */
function mismatches(results: PageCaseResult[]): { checked: number; failures: string[] } {
  const failures: string[] = [];
  let checked = 0;
  for (const file of MODULE_GOLDEN_FILES) {
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

async function goldenThroughBundle(bundle: string, relaxedSimd: boolean): Promise<{ build: string; requests: string[] }> {
  const seen = server.requests.length;
  const { page, errors } = await openPage('/');
  try {
    const { build, results } = await page.evaluate(runGoldenInPage, { bundle, files: MODULE_GOLDEN_FILES, relaxedSimd });
    const { checked, failures } = mismatches(results);
    assert.deepEqual(failures, [], `${failures.length} golden cases differ in Chromium`);
    assert.ok(checked > 100, `only ${checked} golden cases ran`);
    assert.deepEqual(errors, []);
    return { build, requests: server.requests.slice(seen).map((r) => r.path) };
  } finally {
    await page.close();
  }
}

describe('browser bundle in headless Chromium', () => {
  it('runs every module golden case with the wasm fetched beside the bundle (relaxed SIMD)', { timeout: 40_000 }, async () => {
    const { build, requests } = await goldenThroughBundle('/dist/index.browser.js', true);
    // Chromium ≥ 114 validates relaxed SIMD, so init() picks that build and fetches only it.
    assert.equal(build, 'relaxed-simd');
    assert.ok(requests.includes('/dist/linformer-relaxed.wasm'), 'the relaxed build was fetched');
    assert.ok(!requests.includes('/dist/linformer.wasm'), 'the plain SIMD build was not fetched');
  });

  it('runs every module golden case through the inlined bundle (plain SIMD), fetching no wasm', { timeout: 40_000 }, async () => {
    const { build, requests } = await goldenThroughBundle('/dist/index.browser.inline.js', false);
    assert.equal(build, 'simd');
    assert.deepEqual(requests.filter((p) => p.endsWith('.wasm')), []);
  });

  it('runs the example page (examples/browser/) on sizes typed into it', { timeout: 30_000 }, async () => {
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

  it('runs the docs example bundled by esbuild with the wasm copied beside it', { timeout: 30_000 }, async () => {
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
