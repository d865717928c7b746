// Worker threads in Node: the same bits for every thread count, a memory
// that grows under the workers, workers that cannot start or die during a
// call, idle workers asleep, stopThreads(), and a program that ends by
// itself. Each scenario runs in a fresh process (tests/fixtures/threads-child.mjs),
// since init() and its pool belong to the process. The golden cases at 2 and
// 3 threads are the whole fast suite run again (scripts/test.mjs,
// LINFORMER_TEST_THREADS).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { backendInfo, init, loaderState } from 'linformer-wasm';

const CHILD = fileURLToPath(new URL('../../tests/fixtures/threads-child.mjs', import.meta.url));

interface Info {
  threads: number;
  threadsUnavailable: string | null;
}

/** Runs a scenario; the child must exit by itself, with code 0, well before the timeout. */
async function scenario(name: string, threads: number | 'default', ...more: string[]): Promise<Record<string, any> & { info: Info; warnings: string[] }> {
  const { stdout } = await promisify(execFile)(process.execPath, [CHILD, name, String(threads), ...more], { encoding: 'utf8', timeout: 60_000 });
  return JSON.parse(stdout.trim().split('\n').pop()!);
}

describe('the same bits on any number of threads', () => {
  for (const build of ['simd', 'relaxed']) {
    it(`${build} build: outputs and weights of uneven shapes, masks, both Linformer orders and the ops are bit-identical for 1 to 8 threads`, async () => {
      const one = await scenario('hashes', 1, build);
      assert.equal(one.info.threads, 1);
      for (let t = 2; t <= 8; t++) {
        const r = await scenario('hashes', t, build);
        assert.equal(r.info.threads, t, `threads in use: ${r.info.threadsUnavailable}`);
        assert.deepEqual(r.hashes, one.hashes, `${t} threads`);
      }
    });
  }
});

describe('the pool', () => {
  it('numThreads defaults to min(4, ceil(cores / 2)), as onnxruntime-web', async () => {
    const r = await scenario('default', 'default');
    assert.equal(r.info.threads, Math.min(4, Math.ceil(r.cores / 2)));
    assert.deepEqual(r.warnings, []);
  });

  it('a call that grows the shared memory is computed by every thread in the grown part, to the same bits', async () => {
    const two = await scenario('grow', 2);
    const one = await scenario('grow', 1);
    assert.ok(two.after > two.before * 16, `memory grew from ${two.before} to ${two.after}`);
    assert.equal(two.profileThreads, 2);
    assert.ok(two.workerBusyMs > 0, 'the worker took part in the large call');
    assert.equal(two.large, one.large);
    assert.equal(two.small, one.small);
  });

  it('idle workers sleep: no CPU is used between calls', async () => {
    const r = await scenario('idle', 3);
    assert.equal(r.info.threads, 3);
    // Three spinning threads would use about 1500 ms of CPU in these 500 ms.
    assert.ok(r.idleCpuMs < 100, `${r.idleCpuMs} ms of CPU in ${r.idleWallMs} ms idle`);
  });

  it('stopThreads() ends the workers; calls go on, on one thread, to the same bits', async () => {
    const r = await scenario('stop', 2);
    assert.equal(r.before.threads, 2);
    assert.equal(r.after.threads, 1);
    assert.match(r.after.threadsUnavailable, /stopThreads\(\) was called/);
    assert.equal(r.second, r.first);
  });
});

describe('faults', () => {
  for (const fault of ['start-throw', 'start-hang']) {
    it(`a worker that ${fault === 'start-throw' ? 'fails to start' : 'never answers'}: init() falls back to one thread, says why, and warns once`, async () => {
      const r = await scenario(fault, 2);
      const one = await scenario('stop', 1);
      assert.equal(r.info.threads, 1);
      assert.match(r.info.threadsUnavailable!, fault === 'start-throw' ? /a worker could not start: injected worker start failure/ : /a worker did not start within 500 ms/);
      assert.equal(r.warnings.length, 1);
      assert.ok(r.warnings[0].includes(r.info.threadsUnavailable!), r.warnings[0]);
      assert.equal(r.digest, one.first, 'the call computes on one thread');
    });
  }

  for (const threads of [2, 3]) {
    it(`${threads} threads: a worker that dies holding a task makes forward throw a clear Error, not hang; the next call works on one thread, then on a restarted pool`, async () => {
      const r = await scenario('crash', threads);
      assert.equal(r.before.threads, threads);
      assert.ok(r.error, 'the call with a dead worker threw');
      assert.match(r.error.message, /^linformer-wasm: MultiheadAttention\.forward: a worker thread stopped answering \(no task finished for 300 ms\); nothing was returned/);
      assert.ok(r.errorAfterMs < 5000, `it threw after ${r.errorAfterMs} ms`);
      assert.equal(r.scratchAfterError, 0, 'the failed call gave its scratch back');
      assert.equal(typeof r.moduleAfterError, 'string', 'the module the call failed on still computes');
      assert.equal(r.during.threads, 1);
      assert.match(r.during.threadsUnavailable, /restarting/);
      assert.equal(r.second, r.first, 'the next call, on one thread, gives the same bits');
      assert.equal(r.restarted, true, 'the pool came back');
      assert.equal(r.after.threadsUnavailable, null);
      assert.equal(r.third, r.first, 'and computes the same bits');
    });
  }
});

describe('init(…, { numThreads }) checks its argument', () => {
  it('a non-integer, 0 or more than 64 is refused, init() can be called again, and 1 thread needs no workers', async () => {
    await assert.rejects(init(undefined, { numThreads: 0 }), /RangeError: init: numThreads: expected an integer in \[1, 64\], got number 0/);
    assert.equal(loaderState(), 'failed');
    await assert.rejects(init(undefined, { numThreads: 2.5 }), RangeError);
    await assert.rejects(init(undefined, { numThreads: 65 }), RangeError);
    await assert.rejects(init(undefined, { numThreads: '2' as unknown as number }), TypeError);
    await init(undefined, { numThreads: 1 });
    assert.equal(backendInfo().threads, 1);
    assert.equal(backendInfo().threadsUnavailable, null);
  });
});
