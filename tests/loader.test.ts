// The loader: explicit states, use before init() is a clear error, a second
// init() is a no-op, every kind of source, the relaxed-SIMD choice, recovery
// from a failed init. This file runs in its own process (node --test runs
// each file apart), so it starts uninitialised; every init variant runs in a
// fresh child process (tests/fixtures/loader-child.mjs), since the loader's
// state is process-global.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { backendInfo, init, LinearMultiheadAttention, loaderState, memoryUsage, MultiheadAttention, ops } from 'linformer-wasm';
import { checkGolden, buildOne } from './helpers/cases.js';

const run = promisify(execFile);
const fixtures = fileURLToPath(new URL('../../tests/fixtures/', import.meta.url));
const RELAXED_ON = '--experimental-wasm-relaxed-simd';
const RELAXED_OFF = '--no-experimental-wasm-relaxed-simd';
// Node 20 has relaxed SIMD behind a V8 flag, so one engine with it and one
// without are both a flag away. Node ≥ 22 has it on and rejects the flag;
// there the engine runs as it is, and "not available" is what
// { relaxedSimd: false } and a plain build given alone choose (below).
const HAS_RELAXED_FLAG = spawnSync(process.execPath, [RELAXED_ON, '-e', '0']).status === 0;
const ENGINES: string[][] = HAS_RELAXED_FLAG ? [[RELAXED_ON], [RELAXED_OFF], []] : [[]];

interface ChildReport {
  state: string;
  info: { build: 'simd' | 'relaxed-simd'; relaxedSimdAvailable: boolean; buildFallback: string | null } | null;
  engineRelaxed: boolean;
  works: number[] | null;
  [extra: string]: unknown;
}

async function child(scenario: string, flags: string[] = [], args: string[] = []): Promise<ChildReport> {
  const file = scenario === 'cjs' ? 'loader-child.cjs' : 'loader-child.mjs';
  const { stdout } = await run(process.execPath, [...flags, fixtures + file, ...(scenario === 'cjs' ? [] : [scenario]), ...args], { timeout: 30_000 });
  const lines = stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]);
}

function isClearInitError(e: unknown, stateWord: RegExp): boolean {
  assert.ok(e instanceof Error, `expected an Error, got ${String(e)}`);
  assert.equal(e.constructor, Error, `${e.constructor.name}: ${e.message}`);
  assert.match(e.message, /init\(\)/, e.message);
  assert.match(e.message, stateWord, e.message);
  return true;
}

describe('before init()', () => {
  it("the state is 'uninitialised'", () => {
    assert.equal(loaderState(), 'uninitialised');
  });

  it('constructing a module, calling an op, memoryUsage() and backendInfo() throw a clear Error naming init()', () => {
    const notYet = /await init\(\)|call .*init\(\)|not initialised/;
    assert.throws(() => new MultiheadAttention(16, 4), (e) => isClearInitError(e, notYet));
    assert.throws(() => new LinearMultiheadAttention(16, 4, { seqLen: 8, projK: 4 }), (e) => isClearInitError(e, notYet));
    const t = { data: new Float32Array(4), dims: [2, 2] };
    assert.throws(() => ops.matmul(t, t), (e) => isClearInitError(e, notYet));
    assert.throws(() => ops.linear(t, t), (e) => isClearInitError(e, notYet));
    assert.throws(() => ops.softmax(t), (e) => isClearInitError(e, notYet));
    assert.throws(() => memoryUsage(), (e) => isClearInitError(e, notYet));
    assert.throws(() => backendInfo(), (e) => isClearInitError(e, notYet));
    assert.equal(loaderState(), 'uninitialised');
  });

  it("while loading: state 'loading', use is an error saying init() has not finished; a second init() is the same promise", async () => {
    const p1 = init();
    assert.equal(loaderState(), 'loading');
    assert.throws(() => new MultiheadAttention(16, 4), (e) => isClearInitError(e, /not finished|await/));
    const p2 = init();
    assert.equal(p1, p2, 'init() while loading returns the same promise');
    await p1;
    assert.equal(loaderState(), 'ready');
    assert.equal(init(), p1, 'init() when ready returns the same promise');
    const info = backendInfo();
    await init(new Uint8Array([0, 97, 115, 109]));
    assert.equal(loaderState(), 'ready', 'a later init(bad bytes) is a no-op, not a failure');
    assert.deepEqual(backendInfo(), info);
    const m = buildOne('mha/basic-E16-H4-N1-L5-S7');
    try {
      checkGolden(m, 'mha/basic-E16-H4-N1-L5-S7');
    } finally {
      m.dispose();
    }
  });
});

describe('init() sources, each in a fresh process', () => {
  const simdOnly: [string, string][] = [
    ['bytes (Uint8Array of dist/linformer.wasm)', 'bytes'],
    ['an ArrayBuffer', 'arraybuffer'],
    ['a file: URL of dist/linformer.wasm', 'url'],
    ['a URL string', 'url-string'],
    ['a precompiled WebAssembly.Module', 'module'],
    ['a Response-like object', 'response'],
    ['a promise of a Response-like object', 'response-promise'],
    ['{ simd } without a relaxed build', 'builds-simd-only'],
    ['{ simd, relaxed } with { relaxedSimd: false }', 'builds-relaxed-off'],
  ];
  for (const [what, scenario] of simdOnly) {
    it(`${what}: ready, the plain SIMD build, and it computes`, async () => {
      const flagSets = ENGINES;
      const reports = await Promise.all(flagSets.map((flags) => child(scenario, flags)));
      reports.forEach((r, i) => {
        assert.equal(r.state, 'ready', `${scenario} ${flagSets[i]}`);
        assert.equal(r.info?.build, 'simd', `${scenario} ${flagSets[i]}`);
        assert.deepEqual(r.works, [17, 39]);
      });
    });
  }

  it('CommonJS: require() the package, init(), compute', async () => {
    const r = await child('cjs');
    assert.equal(r.before, 'uninitialised');
    assert.equal(r.state, 'ready');
    assert.deepEqual(r.works, [17, 39]);
  });
});

describe("backendInfo().build is 'relaxed-simd' exactly when the engine validates relaxed SIMD", () => {
  for (const [what, scenario] of [
    ['init()', 'default'],
    ['init({ simd, relaxed }) with URLs', 'builds'],
    ['init({ simd, relaxed }) with precompiled modules', 'builds-precompiled'],
  ]) {
    it(`${what}: ${HAS_RELAXED_FLAG ? `with and without ${RELAXED_ON}` : 'relaxed SIMD on, as this engine has it'}`, async () => {
      const seen = new Set<boolean>();
      const flagSets = ENGINES;
      const reports = await Promise.all(flagSets.map((flags) => child(scenario, flags)));
      for (const [i, r] of reports.entries()) {
        const flags = flagSets[i];
        assert.equal(r.state, 'ready');
        assert.equal(r.info!.build, r.engineRelaxed ? 'relaxed-simd' : 'simd', `${flags}: engine validates relaxed SIMD: ${r.engineRelaxed}`);
        assert.equal(r.info!.relaxedSimdAvailable, r.engineRelaxed, `${flags}: relaxedSimdAvailable`);
        assert.deepEqual(r.works, [17, 39]);
        seen.add(r.engineRelaxed);
      }
      if (HAS_RELAXED_FLAG) assert.deepEqual([...seen].sort(), [false, true], 'the flags should give one engine with and one without relaxed SIMD');
      else assert.deepEqual([...seen], [true], 'Node ≥ 22 validates relaxed SIMD by default');
    });
  }

  it('init(relaxed build bytes) runs relaxed where the engine has it, and fails cleanly where it does not', async () => {
    for (const flags of ENGINES) {
      const r = await child('relaxed-module', flags);
      if (r.engineRelaxed) {
        assert.equal(r.state, 'ready');
        assert.equal(r.info!.build, 'relaxed-simd');
        assert.equal(r.failed, null);
      } else {
        assert.equal(r.state, 'failed');
        const failed = r.failed as { name: string; message: string };
        assert.ok(failed, 'init should reject');
        assert.match(failed.message, /no relaxed SIMD/, 'the error should say why the relaxed build does not compile');
      }
    }
  });
});

describe('a build that cannot be had: the relaxed one falls back to the plain build, saying why in backendInfo(); the plain one fails clearly', () => {
  for (const [what, scenario, why] of [
    ['a relaxed file that does not exist', 'builds-relaxed-missing', 'does-not-exist-relaxed.wasm: file not found'],
    ['a relaxed Response with HTTP 404', 'builds-relaxed-404', 'linformer-relaxed.wasm: HTTP 404'],
    ['an HTML page where the relaxed wasm should be', 'builds-relaxed-html', 'linformer-relaxed.wasm: an HTML page, not wasm'],
  ]) {
    it(`${what}: ready, the plain build, and buildFallback says why${HAS_RELAXED_FLAG ? ' (with and without relaxed SIMD)' : ''}`, async () => {
      const reports = await Promise.all(ENGINES.map((flags) => child(scenario, flags)));
      reports.forEach((r, i) => {
        assert.equal(r.state, 'ready', `${scenario} ${ENGINES[i]}`);
        assert.equal(r.info!.build, 'simd');
        // An engine without relaxed SIMD never asks for the relaxed build, so nothing fell back.
        assert.equal(r.info!.buildFallback, r.engineRelaxed ? `${why}; running the plain SIMD build` : null, `${ENGINES[i]}`);
        assert.deepEqual(r.works, [17, 39]);
      });
    });
  }

  it('both builds missing: init() rejects, naming the plain file', async () => {
    const reports = await Promise.all(ENGINES.map((flags) => child('builds-both-missing', flags)));
    for (const r of reports) {
      assert.equal(r.state, 'failed');
      assert.match((r.failed as { message: string }).message, /^linformer-wasm: \S*\/dist\/does-not-exist\.wasm does not exist$/);
    }
  });

  it('an HTML page instead of wasm: init() rejects, saying so and naming the URL', async () => {
    const r = await child('html-page');
    assert.equal(r.state, 'failed');
    assert.match((r.failed as { message: string }).message, /^linformer-wasm: https:\/\/example\.test\/linformer\.wasm is an HTML page, not wasm: /);
  });

  it('init() with nothing missing has no fallback', async () => {
    const r = await child('default');
    assert.equal(r.info!.buildFallback, null);
  });
});

describe('the GEMM tile: timed at init on the relaxed build, or set by env.gemmTile', () => {
  it("'auto': the relaxed build times both tiles and keeps one; the plain build keeps 4×8; both compute exactly", async () => {
    for (const flags of ENGINES) {
      const r = await child('tile', flags, ['auto']);
      assert.equal(r.state, 'ready');
      const info = r.info as unknown as { build: string; gemmTile: string };
      if (info.build === 'simd') assert.equal(info.gemmTile, '4x8');
      else assert.ok(['4x8', '6x8'].includes(info.gemmTile), info.gemmTile);
      assert.equal(r.exact, true);
    }
  });

  for (const tile of ['4x8', '6x8']) {
    it(`'${tile}': used as set, on either build, and the product is exact`, async () => {
      for (const flags of ENGINES) {
        const r = await child('tile', flags, [tile]);
        assert.equal((r.info as unknown as { gemmTile: string }).gemmTile, tile);
        assert.equal(r.exact, true);
      }
    });
  }

  it('anything else: init() rejects with a RangeError naming env.gemmTile', async () => {
    const r = await child('tile', [], ['8x8']);
    assert.equal(r.state, 'failed');
    assert.deepEqual(r.failed, { name: 'RangeError', message: "linformer-wasm: env: gemmTile: expected one of 'auto', '4x8', '6x8', got string '8x8'" });
  });
});

describe('a failed init() leaves the state failed, and a later good init() works', () => {
  it('bad bytes', async () => {
    const r = await child('failed-then-good');
    const failed = r.failed as { name: string; message: string };
    assert.ok(failed, 'init(bad bytes) should reject');
    assert.equal(r.stateAfterFailure, 'failed');
    for (const use of [r.useAfterFailure, r.opsAfterFailure] as { name: string; message: string }[]) {
      assert.equal(use.name, 'Error');
      assert.match(use.message, /init\(\)/);
      assert.match(use.message, /failed/);
    }
    assert.equal(r.state, 'ready');
    assert.deepEqual(r.works, [17, 39]);
  });

  it('an HTTP 404 response: the error names the status and the URL', async () => {
    const r = await child('response-404');
    const failed = r.failed as { name: string; message: string };
    assert.match(failed.message, /404/);
    assert.match(failed.message, /example\.test\/linformer\.wasm/);
    assert.match((r.before as { message: string }).message, /failed/);
    assert.equal(r.state, 'ready');
    assert.deepEqual(r.works, [17, 39]);
  });

  it('a missing file: the error names the file', async () => {
    const r = await child('missing-file');
    assert.match((r.failed as { message: string }).message, /does-not-exist\.wasm/);
    assert.equal(r.stateAfterFailure, 'failed');
    assert.equal(r.state, 'ready');
  });

  it('init() twice (and with other sources while loading or ready) is one promise', async () => {
    const r = await child('twice');
    assert.equal(r.samePromise, true);
    assert.equal(r.stateWhileLoading, 'loading');
    assert.match((r.useWhileLoading as { message: string }).message, /not finished|await/);
    assert.equal(r.state, 'ready');
  });
});
