// --browser: headless Chromium (found as the browser tests find it) on the
// bench server's page, one page load per group, one page at a time: a group's
// engines fix their thread counts once per page, as they do once per process
// in Node.
import { chromium, type Browser } from 'playwright-core';
import path from 'node:path';
import { CHROMIUM_ARGS, findChromium } from '../../tests/helpers/chromium.js';
import type { BrowserPageJob, BrowserPageResult } from '../lib/protocol.js';
import { serveBench, type BenchServer } from './serve.js';
import { cpuMsOf, rendererPids } from './renderer-cpu.js';

/** What page.ts puts on globalThis. */
interface PageGlobals {
  runBench(job: BrowserPageJob): Promise<BrowserPageResult>;
}

export class BrowserSession {
  private constructor(
    private readonly browser: Browser,
    private readonly server: BenchServer,
  ) {}

  /** Serves the package (dist/), onnxruntime-web and the page from `root`; outputs go to `outDir`. */
  static async start(root: string, outDir: string): Promise<BrowserSession> {
    const found = findChromium();
    if (!found.found) throw new Error(found.reason);
    const server = await serveBench(
      {
        '/pkg/': path.join(root, 'dist'),
        '/ort/': path.join(root, 'node_modules', 'onnxruntime-web', 'dist'),
        '/bench/': path.join(root, 'bench', '.out', 'browser'),
      },
      outDir,
    );
    try {
      return new BrowserSession(await chromium.launch({ executablePath: found.executablePath, args: CHROMIUM_ARGS }), server);
    } catch (e) {
      await server.close();
      throw e;
    }
  }

  /** One group's jobs in a fresh page; any error on the page fails it. */
  async runPage(job: BrowserPageJob, progress: (text: string) => void): Promise<BrowserPageResult> {
    const page = await this.browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(`uncaught: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(`console.error: ${m.text()} (${m.location().url})`);
    });
    page.on('requestfailed', (r) => errors.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ''}`));
    try {
      await page.exposeFunction('benchProgress', progress);
      // the page's renderer, looked for until found (the page has loaded by the first read)
      let renderers: number[] = [];
      await page.exposeFunction('benchCpuMs', () => cpuMsOf(renderers.length ? renderers : (renderers = rendererPids())));
      await page.goto(`${this.server.origin}/`);
      await page.waitForFunction(() => 'runBench' in globalThis);
      const result = await page.evaluate((j) => (globalThis as unknown as PageGlobals).runBench(j), job);
      if (!result.crossOriginIsolated) throw new Error('the page is not crossOriginIsolated (are the COOP/COEP headers served?)');
      if (errors.length) throw new Error(errors.join('; '));
      return result;
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      throw new Error(errors.length && !message.includes(errors[0]) ? `${message} (${errors.join('; ')})` : message);
    } finally {
      await page.close();
    }
  }

  async close(): Promise<void> {
    await this.browser.close();
    await this.server.close();
  }
}
