// A short run of the fuzzer of every public entry (tests/fuzz/api.ts), in a
// worker thread under its watchdog. The long run is scripts/fuzz.mjs. The
// seed is printed; FC_SEED=<seed> replays it, FUZZ_CALLS=<n> sets the length.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fuzzApiInWorker, type FuzzApiFailure } from './fuzz/api.js';

const SEED = process.env.FC_SEED ? Number(process.env.FC_SEED) : (Date.now() ^ Math.floor(Math.random() * 2 ** 31)) | 0;
const CALLS = process.env.FUZZ_CALLS ? Number(process.env.FUZZ_CALLS) : 5000;

/** Every entry the fuzzer calls, so that a change to its plans cannot quietly leave one out. */
const ENTRIES = ['forward', 'loadStateDict', 'method', 'construct', 'matmul', 'prepack', 'linear', 'softmax', 'manualSeed', 'env', 'misc'];

function report(failures: FuzzApiFailure[]): string {
  return failures.map((f) => `${f.signature}\n  ${f.problem}\n  ${f.shrunk ? 'shrunk plan' : 'plan'}: ${f.plan}\n  seed ${f.seed}${f.path ? `, path ${f.path}` : ''}`).join('\n');
}

test(`fuzzing every public entry: ${CALLS} calls, each the right answer or a TypeError/RangeError naming the argument, nothing broken afterwards`, { timeout: 300_000 }, async (t) => {
  t.diagnostic(`fast-check seed ${SEED} (FC_SEED=${SEED} replays this run)`);
  const result = await fuzzApiInWorker({ runs: CALLS, seed: SEED, hangMs: 3000 });
  const { failures, ...counts } = result;
  t.diagnostic(`counts ${JSON.stringify(counts)}`);
  assert.ok(result.calls >= CALLS || failures.length > 0, `${result.calls} calls made, fewer than ${CALLS}`);
  for (const entry of ENTRIES) assert.ok((result.entries[entry] ?? 0) > 0, `no call of ${entry}`);
  // both sides of the rule came up: good calls answered, bad ones rejected
  assert.ok(result.answered > CALLS / 10, `only ${result.answered} calls answered`);
  assert.ok((result.rejected.TypeError ?? 0) > 0 && (result.rejected.RangeError ?? 0) > 0, `rejections ${JSON.stringify(result.rejected)}`);
  assert.equal(failures.length, 0, `${failures.length} kinds of failure:\n${report(failures)}`);
});
