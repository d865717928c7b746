// Bun and Deno running the packed-and-installed package: the README's Node
// examples, golden cases through import, require and the inline entry, one
// state across import and require, worker threads, and what Deno needs: --allow-read for
// the wasm beside the package, or 'linformer-wasm/inline' and no permission
// at all. The binaries are the pinned ones (scripts/runtimes.mjs).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { docExample } from './helpers/docs.js';
import { checkJsonResults, goldenCase, type GoldenCase, type JsonCaseResult } from './helpers/golden-cases.js';
import { packedProject, type PackedProject } from './helpers/packed.js';

// scripts/ is plain JavaScript beside tests/, reached from build/tests/.
const { install } = (await import(new URL('../../scripts/runtimes.mjs', import.meta.url).href)) as { install(name: string): string };

const fixtures = fileURLToPath(new URL('../../tests/fixtures/', import.meta.url));
const FIXTURES = [
  'golden-runner.cjs',
  'runtime-golden.mjs',
  'runtime-golden.cjs',
  'runtime-golden-inline.mjs',
  'one-state-checks.cjs',
  'one-state-esm-first.mjs',
  'one-state-cjs-first.cjs',
  'runtime-threads.mjs',
];

// The cases the Node consumer test runs, and one where a module shares E.
const CASES: GoldenCase[] = [
  goldenCase('mha.json', 'mha/keyPaddingMask-bool+attnMask-float-3d'),
  goldenCase('linformer.json', 'linformer/addBiasKV+addZeroAttn+keyPaddingMask-bool+attnMask-float-2d'),
  goldenCase('linformer.json', 'linformer/paramSharing-layerwise-shareWith'),
];

const EXAMPLE_OUTPUT = /^output \(10, 2, 64\)$/m;
// Deno's own refusal, naming the wasm file init() reads and the flag.
const DENO_NO_READ =
  /NotCapable: Requires read access to "[^"]*node_modules\/linformer-wasm\/dist\/linformer(-relaxed)?\.wasm", run again with the --allow-read flag/;

/** What tests/fixtures/runtime-threads.mjs reports. */
interface ThreadsReport {
  threads: number;
  threadsUnavailable: string | null;
  bits: string;
  results: JsonCaseResult[];
}

/** Threads run (worker_threads), the goldens pass on them, and the bits are those of one thread. */
async function checkThreads(run: (threads: number) => Promise<string>): Promise<void> {
  const one: ThreadsReport = JSON.parse(await run(1));
  assert.equal(one.threads, 1);
  for (const threads of [2, 3]) {
    const r: ThreadsReport = JSON.parse(await run(threads));
    assert.equal(r.threads, threads, `threads: ${r.threadsUnavailable}`);
    assert.equal(r.threadsUnavailable, null);
    checkGolden(r.results);
    assert.equal(r.bits, one.bits, `${threads} threads give the bits of one`);
  }
}

interface GoldenReport {
  entry: string;
  build: string;
  results: JsonCaseResult[];
}

function checkGolden(results: GoldenReport['results']): void {
  checkJsonResults(CASES, results);
}

/** What tests/fixtures/one-state-checks.cjs reports (the parts checked here). */
interface OneStateReport {
  secondState: string;
  exportNames: { first: string[]; second: string[] };
  differentBindings: string[];
  instanceOf: { value?: unknown; error?: string };
  heap: { value?: { during: unknown[] }; error?: string };
  results: { value?: GoldenReport['results']; error?: string };
}

/** Both ways in are one package: one state, one set of classes, one heap. */
function checkOneState(report: OneStateReport): void {
  assert.equal(report.secondState, 'ready', 'the copy loaded second is already initialised');
  assert.deepEqual(report.exportNames.second, report.exportNames.first);
  assert.deepEqual(report.differentBindings, [], 'every export is the same object through import and require');
  assert.deepEqual(report.instanceOf, { value: { firstBuiltIsSecondClass: true, secondBuiltIsFirstClass: true } });
  assert.equal(report.heap.error, undefined);
  const [first, second] = report.heap.value!.during;
  assert.deepEqual(second, first, 'memoryUsage() is the same through both');
  assert.equal(report.results.error, undefined);
  checkGolden(report.results.value!);
}

let consumer: PackedProject;
let bun: string;
let deno: string;
let env: NodeJS.ProcessEnv;

const runBun = (args: string[]) => consumer.run(bun, args, env);
const runDeno = (args: string[]) => consumer.run(deno, ['run', '--no-prompt', ...args], env);
const execFileAsync = promisify(execFile);

before(
  async () => {
    consumer = await packedProject('bun-deno');
    bun = install('bun');
    deno = install('deno');
    const { project, tempDir } = consumer;
    for (const f of FIXTURES) copyFileSync(fixtures + f, join(project, f));
    writeFileSync(join(project, 'cases.json'), JSON.stringify(CASES));
    writeFileSync(join(project, 'example.mjs'), docExample('example.mjs'));
    writeFileSync(join(project, 'example.cjs'), docExample('example.cjs'));
    const home = join(tempDir, 'home');
    mkdirSync(home);
    env = {
      ...process.env,
      // Every cache and config either runtime writes stays in the temp dir.
      HOME: home,
      XDG_CACHE_HOME: join(home, '.cache'),
      DENO_DIR: join(tempDir, 'deno-dir'),
      BUN_INSTALL_CACHE_DIR: join(tempDir, 'bun-cache'),
      BUN_RUNTIME_TRANSPILER_CACHE_PATH: join(tempDir, 'bun-transpiler-cache'),
      // The package must come from node_modules: a registry that answers nothing.
      NPM_CONFIG_REGISTRY: 'http://127.0.0.1:9/',
      DENO_NO_UPDATE_CHECK: '1',
      NO_COLOR: '1',
    };
  },
  { timeout: 60_000 },
);

after(() => consumer?.remove());

describe('Bun, from the installed project', () => {
  it('runs the README Node examples, ES module and CommonJS', { timeout: 15_000 }, async (t) => {
    t.diagnostic(`bun ${execFileSync(bun, ['--revision'], { encoding: 'utf8' }).trim()}`);
    assert.match(await runBun(['example.mjs']), EXAMPLE_OUTPUT);
    assert.match(await runBun(['example.cjs']), EXAMPLE_OUTPUT);
  });

  it('imports the Node entry, runs the relaxed-SIMD build and matches PyTorch', { timeout: 15_000 }, async () => {
    const report: GoldenReport = JSON.parse(await runBun(['runtime-golden.mjs']));
    assert.match(report.entry, /node_modules\/linformer-wasm\/dist\/index\.node\.js$/);
    assert.equal(report.build, 'relaxed-simd');
    checkGolden(report.results);
  });

  it('requires the CommonJS entry and matches PyTorch', { timeout: 15_000 }, async () => {
    const report: GoldenReport = JSON.parse(await runBun(['runtime-golden.cjs']));
    assert.match(report.entry, /node_modules\/linformer-wasm\/dist\/index\.node\.cjs$/);
    assert.equal(report.build, 'relaxed-simd');
    checkGolden(report.results);
  });

  it('shares one state between import and require, either first', { timeout: 15_000 }, async () => {
    checkOneState(JSON.parse(await runBun(['one-state-esm-first.mjs'])));
    checkOneState(JSON.parse(await runBun(['one-state-cjs-first.cjs'])));
  });

  it('runs 2 and 3 threads (worker_threads), matches PyTorch there and gives the bits of one thread', { timeout: 30_000 }, async () => {
    await checkThreads((threads) => runBun(['runtime-threads.mjs', String(threads)]));
  });

  it("runs 2 and 3 threads through 'linformer-wasm/inline', in one thread's bits", { timeout: 30_000 }, async () => {
    await checkThreads((threads) => runBun(['runtime-threads.mjs', String(threads), 'inline']));
  });
});

describe('Deno, from the installed project (package.json and node_modules, no deno.json)', () => {
  it('runs the README Node examples with --allow-read, ES module and CommonJS', { timeout: 15_000 }, async (t) => {
    t.diagnostic(execFileSync(deno, ['--version'], { encoding: 'utf8' }).split('\n')[0]);
    assert.match(await runDeno(['--allow-read', 'example.mjs']), EXAMPLE_OUTPUT);
    assert.match(await runDeno(['--allow-read', 'example.cjs']), EXAMPLE_OUTPUT);
  });

  it('without --allow-read, the README example fails on reading the wasm, and says which flag', { timeout: 15_000 }, async (t) => {
    const message = await runDeno(['example.mjs']).then(
      () => assert.fail('init() read the wasm without --allow-read'),
      (e: Error) => e.message,
    );
    t.diagnostic(message.split('\n').find((l) => l.includes('NotCapable')) ?? message);
    assert.match(message, DENO_NO_READ);
  });

  it('imports the Node entry, runs the relaxed-SIMD build and matches PyTorch; reading only the package dist suffices', { timeout: 15_000 }, async () => {
    for (const allow of ['--allow-read', '--allow-read=node_modules/linformer-wasm/dist']) {
      const report: GoldenReport = JSON.parse(await runDeno([allow, 'runtime-golden.mjs']));
      assert.match(report.entry, /node_modules\/linformer-wasm\/dist\/index\.node\.js$/);
      assert.equal(report.build, 'relaxed-simd');
      checkGolden(report.results);
    }
  });

  it('requires the CommonJS entry with --allow-read and matches PyTorch', { timeout: 15_000 }, async () => {
    const report: GoldenReport = JSON.parse(await runDeno(['--allow-read', 'runtime-golden.cjs']));
    assert.match(report.entry, /node_modules\/linformer-wasm\/dist\/index\.node\.cjs$/);
    assert.equal(report.build, 'relaxed-simd');
    checkGolden(report.results);
  });

  it("runs 'linformer-wasm/inline' with no permission at all and matches PyTorch", { timeout: 15_000 }, async () => {
    const report: GoldenReport = JSON.parse(await runDeno(['runtime-golden-inline.mjs']));
    assert.match(report.entry, /node_modules\/linformer-wasm\/dist\/index\.node\.inline\.js$/);
    assert.equal(report.build, 'relaxed-simd');
    checkGolden(report.results);
  });

  it('shares one state between import and require, either first', { timeout: 15_000 }, async () => {
    checkOneState(JSON.parse(await runDeno(['--allow-read', 'one-state-esm-first.mjs'])));
    checkOneState(JSON.parse(await runDeno(['--allow-read', 'one-state-cjs-first.cjs'])));
  });

  it('runs 2 and 3 threads (worker_threads) with --allow-read alone, matches PyTorch there and gives the bits of one thread', { timeout: 30_000 }, async () => {
    await checkThreads((threads) => runDeno(['--allow-read', 'runtime-threads.mjs', String(threads)]));
  });

  it("runs 2 and 3 threads through 'linformer-wasm/inline' with no permission at all, in one thread's bits", { timeout: 30_000 }, async () => {
    await checkThreads((threads) => runDeno(['runtime-threads.mjs', String(threads), 'inline']));
  });
});

describe('Deno with an npm: specifier and no node_modules', () => {
  let registry: Server;
  let registryUrl: string;
  const served: string[] = [];

  // A registry of one package, the packed tarball, so that Deno fetches it
  // into its own cache as it would from npm.
  before(async () => {
    const tarball = readFileSync(join(consumer.tempDir, consumer.packed.filename));
    const integrity = `sha512-${createHash('sha512').update(tarball).digest('base64')}`;
    const { name, version } = JSON.parse(readFileSync(join(consumer.installed, 'package.json'), 'utf8'));
    registry = createServer((req, res) => {
      served.push(req.url ?? '');
      if (req.url === `/${name}`) {
        const dist = { tarball: `${registryUrl}${name}-${version}.tgz`, integrity };
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ name, 'dist-tags': { latest: version }, versions: { [version]: { name, version, dist } } }));
      } else if (req.url === `/${name}-${version}.tgz`) res.end(tarball);
      else res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => registry.listen(0, '127.0.0.1', resolve));
    registryUrl = `http://127.0.0.1:${(registry.address() as AddressInfo).port}/`;
  });

  after(() => registry?.close());

  it("runs the README example as import from 'npm:linformer-wasm' with --allow-read", { timeout: 20_000 }, async () => {
    // A folder with no package.json above it, so Deno uses its own cache.
    const dir = join(consumer.tempDir, 'deno-npm');
    mkdirSync(dir);
    const example = docExample('example.mjs').replace("from 'linformer-wasm'", "from 'npm:linformer-wasm'");
    assert.match(example, /from 'npm:linformer-wasm'/);
    writeFileSync(join(dir, 'main.mjs'), example);
    const run = async (permissions: string[]) => {
      try {
        const args = ['run', '--no-prompt', ...permissions, 'main.mjs'];
        return (await execFileAsync(deno, args, { cwd: dir, encoding: 'utf8', env: { ...env, NPM_CONFIG_REGISTRY: registryUrl } })).stdout;
      } catch (e) {
        const { stdout, stderr } = e as { stdout?: string; stderr?: string };
        throw new Error(`deno ${permissions.join(' ')} main.mjs failed:\n${stdout ?? ''}${stderr ?? ''}`);
      }
    };
    assert.match(await run(['--allow-read']), EXAMPLE_OUTPUT);
    assert.ok(served.some((url) => url.endsWith('.tgz')), 'Deno fetched the tarball from the registry');
    assert.ok(!existsSync(join(dir, 'node_modules')), 'no node_modules was made');
    // The wasm is read from Deno's cache, and reading it still needs the permission.
    const denoDir = env.DENO_DIR!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    await assert.rejects(run([]), new RegExp(`NotCapable: Requires read access to "${denoDir}/npm/[^"]*/dist/linformer(-relaxed)?\\.wasm"`));
  });
});
