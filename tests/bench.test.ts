// Smoke test of the benchmark harness: it runs on a tiny config, prints its
// tables, writes valid JSON, and every engine's output agrees with the
// package's. No speed is asserted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

interface Engine {
  id: string;
  medianMs?: number;
  gemmTile?: string;
  error?: string;
  check?: { maxAbsDiff: number; relativeError: number; agrees: boolean };
}

test('npm run bench runs on a tiny config', { timeout: 180_000 }, () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'linformer-bench-'));
  try {
    const shapes = path.join(dir, 'shapes.txt');
    writeFileSync(shapes, ['attention tiny L=32 E=16 H=2 k=8 ref target-linformer=1', 'gemm small M=24 K=16 N=8 ref'].join('\n'));
    const build = spawnSync(process.execPath, ['bench/build.mjs'], { cwd: root, encoding: 'utf8' });
    assert.equal(build.status, 0, build.stderr);

    const json = path.join(dir, 'bench.json');
    const run = spawnSync(
      process.execPath,
      ['bench/.out/main.mjs', '--shapes', shapes, '--quick', '--only', 'tiny,small', '--json', json, '--md', path.join(dir, 'bench.md')],
      { cwd: root, encoding: 'utf8' },
    );
    assert.equal(run.status, 0, `harness failed:\n${run.stderr}`);
    assert.match(run.stdout, /\| config \| attention \| linformer-wasm simd/);
    assert.match(run.stdout, /### SGEMM/);
    assert.match(run.stdout, /All outputs agree\./);
    assert.match(run.stdout, /### Two threads/);
    if (JSON.parse(readFileSync(json, 'utf8')).meta.relaxedAvailable) assert.match(run.stdout, /its 1T and 2T instances chose (the same tile|different tiles)/);

    const data = JSON.parse(readFileSync(json, 'utf8'));
    assert.deepEqual(data.failures, []);
    assert.ok(data.peak.length > 0 && data.peak[0].plain.gflops > 0, 'the ceiling was measured');

    // The 1-thread processes, and the 2-thread ones (the package at 1 and 2 threads beside onnxruntime-web at 2).
    const groups = data.meta.relaxedAvailable ? ['simd', 'relaxed', 'simd2', 'relaxed2'] : ['simd', 'simd2'];
    for (const kind of ['linformer', 'standard']) {
      for (const group of groups) {
        const job = data.attention.find((a: { kind: string; group: string }) => a.kind === kind && a.group === group);
        assert.ok(job, `${kind} ran in the ${group} process`);
        const engines: Engine[] = job.engines;
        for (const e of engines) {
          assert.equal(e.error, undefined, `${kind} ${group} ${e.id}: ${e.error}`);
          assert.ok(e.medianMs! > 0, `${kind} ${group} ${e.id} was timed`);
        }
        const ids = engines.map((e) => e.id);
        assert.ok(ids.includes('package'));
        if (group === 'simd') assert.ok(ids.includes('js'), 'the plain-JS reference ran');
        if (group.endsWith('2')) assert.ok(ids.includes('package-1t') && ids.some((id) => id.startsWith('ort2')), `${group}: ${ids.join(', ')}`);
        // the GEMM tile each instance of the package chose is recorded beside its times
        for (const e of engines.filter((x) => x.id.startsWith('package'))) {
          assert.match(e.gemmTile ?? '', group.startsWith('simd') ? /^4x8$/ : /^(4x8|6x8)$/, `${kind} ${group} ${e.id}: gemmTile`);
        }
        // every engine but the reference itself was checked, and agrees
        for (const e of engines.filter((x) => !(group === 'simd' && x.id === 'package'))) {
          assert.ok(e.check, `${kind} ${group} ${e.id} was checked`);
          assert.ok(e.check.agrees, `${kind} ${group} ${e.id} disagrees: max abs diff ${e.check.maxAbsDiff}`);
        }
      }
    }
    const gemmEngines: Engine[] = data.gemm.flatMap((g: { shapes: { engines: Engine[] }[] }) => g.shapes.flatMap((s) => s.engines));
    assert.ok(gemmEngines.some((e) => e.id === 'tfjs'));
    for (const id of ['package', 'package-out', 'package-prepacked', 'package-prepacked-out']) {
      assert.ok(gemmEngines.some((e) => e.id === id && e.medianMs !== undefined), `SGEMM ${id} measured`);
    }
    for (const e of gemmEngines) assert.ok(e.check === undefined || e.check.agrees, `SGEMM ${e.id} disagrees`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
