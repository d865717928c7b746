// The worker example (examples/worker/) and the docs' worker in workerd,
// which refuses to compile wasm from bytes: a golden case posted as JSON, the
// DETR configuration posted as .safetensors and checked against this
// process, the wasm memory that configuration takes, the example's
// wrangler.jsonc bundled as wrangler would, and init() asking for threads
// where there is no Worker (tests/fixtures/workerd-threads.mjs).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { init, LinearMultiheadAttention, MultiheadAttention, parseSafetensors, type Tensor } from 'linformer-wasm';
import { assertClose, decode, type RawTensor } from './helpers/golden.js';
import { goldenCase } from './helpers/golden-cases.js';
import { docExample, repoRoot } from './helpers/docs.js';
import { startWorkerd, type Workerd } from './helpers/workerd.js';

const GOLDEN = goldenCase('safetensors.json', 'safetensors/linformer-f32');
const MIB = 2 ** 20;

// How the package's imports reach workerd, as a bundler would resolve them
// with the "workerd" condition; paths are under --import-path (the repo).
const PACKAGE_MODULES = `
    (name = "linformer-wasm", esModule = embed "/dist/index.browser.js"),
    (name = "linformer-wasm/linformer.wasm", wasm = embed "/dist/linformer.wasm"),
    (name = "linformer-wasm/linformer-relaxed.wasm", wasm = embed "/dist/linformer-relaxed.wasm"),`;

/** A capnp string literal holding `value` as JSON. */
const capnpJson = (value: unknown) => JSON.stringify(JSON.stringify(value));

function config(): string {
  const spec = GOLDEN.modules[0];
  const model = { module: spec.ctor, embedDim: spec.embedDim, numHeads: spec.numHeads, options: spec.options };
  return `using Workerd = import "/workerd/workerd.capnp";
using Example = import "/examples/worker/config.capnp";

const config :Workerd.Config = (
  services = [
    # The example exactly as it ships: the DETR model.
    (name = "detr", worker = Example.attentionWorker),
    # The example worker with the golden case's model and torch weights.
    (name = "golden", worker = .goldenWorker),
    # The docs' worker, with Node compatibility on: process exists there, and must not matter.
    (name = "docs", worker = .docsWorker),
    # The golden worker behind an init() that asks for 2 threads.
    (name = "threads", worker = .threadsWorker),
  ],
  sockets = [
    (name = "detr", address = "127.0.0.1:0", http = (), service = "detr"),
    (name = "golden", address = "127.0.0.1:0", http = (), service = "golden"),
    (name = "docs", address = "127.0.0.1:0", http = (), service = "docs"),
    (name = "threads", address = "127.0.0.1:0", http = (), service = "threads"),
  ],
);

const goldenBindings :List(Workerd.Worker.Binding) = [
  (name = "MODEL", json = ${capnpJson(model)}),
  (name = "WEIGHTS", data = embed "/tests/golden/${spec.stateDictFile}"),
];

const goldenWorker :Workerd.Worker = (
  modules = [
    (name = "worker.mjs", esModule = embed "/examples/worker/worker.mjs"),${PACKAGE_MODULES}
  ],
  bindings = .goldenBindings,
  compatibilityDate = "2025-06-01",
);

const threadsWorker :Workerd.Worker = (
  modules = [
    (name = "threads.mjs", esModule = embed "/tests/fixtures/workerd-threads.mjs"),
    (name = "worker.mjs", esModule = embed "/examples/worker/worker.mjs"),${PACKAGE_MODULES}
  ],
  bindings = .goldenBindings,
  compatibilityDate = "2025-06-01",
);

const docsWorker :Workerd.Worker = (
  modules = [
    (name = "worker.js", esModule = embed "worker.js"),${PACKAGE_MODULES}
  ],
  compatibilityDate = "2025-06-01",
  compatibilityFlags = ["nodejs_compat"],
);
`;
}

let tempDir: string;
let workerd: Workerd;
let wrangler: Workerd;
const url = (socket: string, path = '/') => `http://127.0.0.1:${workerd.ports[socket]}${path}`;

before(
  async () => {
    tempDir = mkdtempSync(join(tmpdir(), 'linformer-workerd-'));
    writeFileSync(join(tempDir, 'worker.js'), docExample('worker.js'));
    writeFileSync(join(tempDir, 'config.capnp'), config());
    [workerd, wrangler] = await Promise.all([
      startWorkerd(join(tempDir, 'config.capnp'), ['detr', 'golden', 'docs', 'threads'], { importPath: repoRoot }),
      // workerd bundles a wrangler.jsonc's main with esbuild, as wrangler does.
      startWorkerd(join(repoRoot, 'examples/worker/wrangler.jsonc'), ['http']),
    ]);
    await init();
  },
  { timeout: 30_000 },
);

after(async () => {
  await Promise.all([workerd?.stop(), wrangler?.stop()]);
  if (tempDir) rmSync(tempDir, { recursive: true, force: true });
});

const jsonTensor = (t: RawTensor) => {
  const { dims, data } = decode(t);
  // Boolean masks travel as booleans, so the worker can tell them from additive ones.
  return { dims, data: t.dtype === 'u8' ? Array.from(data, Boolean) : Array.from(data) };
};
const fromJson = (t: { dims: number[]; data: (number | null)[] }) => ({
  dims: t.dims,
  data: Float32Array.from(t.data, (x) => x ?? NaN),
});

/** A .safetensors file of F32 tensors. */
function safetensors(tensors: Record<string, Tensor>): Uint8Array<ArrayBuffer> {
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    header[name] = { dtype: 'F32', shape: t.dims, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  const headerBytes = new TextEncoder().encode(JSON.stringify(header));
  const file = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(file.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  file.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const t of Object.values(tensors)) {
    file.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    at += t.data.byteLength;
  }
  return file;
}

/** N(0, 1) samples from a fixed seed. */
function randn(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const uniform = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) + 0.5) / 2 ** 32;
  return Float32Array.from({ length: n }, () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform()));
}

/** Every element within 1e-5 + 1e-4·|expected| (relaxed SIMD there, plain SIMD here). */
function assertNear(what: string, got: Tensor, expected: Tensor): void {
  assert.deepEqual([...got.dims], [...expected.dims], `${what}: dims`);
  for (let i = 0; i < expected.data.length; i++) {
    const [x, y] = [got.data[i], expected.data[i]];
    if (!(Math.abs(x - y) <= 1e-5 + 1e-4 * Math.abs(y))) assert.fail(`${what}[${i}]: worker ${x}, Node ${y}`);
  }
}

/** Posts GOLDEN's call as JSON to a worker running its model and checks the answer against torch's. */
async function checkGoldenWorker(socket: string): Promise<void> {
  const [call] = GOLDEN.calls;
  const fo = call.forwardOptions;
  const params = `?needWeights=${fo.needWeights ?? true}&averageAttnWeights=${fo.averageAttnWeights ?? true}`;
  const response = await fetch(url(socket, `/${params}`), {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({
      query: jsonTensor(call.query),
      key: jsonTensor(call.key),
      value: jsonTensor(call.value),
      keyPaddingMask: fo.keyPaddingMask && jsonTensor(fo.keyPaddingMask),
      attnMask: fo.attnMask && jsonTensor(fo.attnMask),
    }),
  });
  assert.equal(response.status, 200, await response.clone().text());
  assert.equal(response.headers.get('x-wasm-build'), 'relaxed-simd', 'workerd validates relaxed SIMD');
  const body = await response.json();
  assertClose(`${GOLDEN.name} output`, fromJson(body.output), call.expected.output);
  assert.ok(call.expected.weights && body.weights, 'weights asked for and returned');
  assertClose(`${GOLDEN.name} weights`, fromJson(body.weights), call.expected.weights);
}

describe('worker in workerd', () => {
  it('answers a golden case posted as JSON, with the torch weights from a .safetensors binding', { timeout: 20_000 }, async () => {
    await checkGoldenWorker('golden');
  });

  it('runs one thread when init() asks for 2, since workerd has no Worker: no error, the reason, one warning', { timeout: 20_000 }, async () => {
    const { error, info, warnings, hasWorker } = await (await fetch(url('threads', '/threads'))).json();
    assert.equal(hasWorker, false, 'workerd has no Worker');
    assert.equal(error, null, 'init() resolved');
    assert.equal(info.threads, 1);
    assert.equal(info.threadsUnavailable, 'this runtime has no Worker');
    assert.deepEqual(warnings, ['linformer-wasm: numThreads 2 asked for, running 1: this runtime has no Worker']);
    // The example's forward passes, on that one thread, still give torch's answer.
    await checkGoldenWorker('threads');
  });

  it('rejects bad input with a 400 that names the argument, and keeps working', { timeout: 20_000 }, async () => {
    const [call] = GOLDEN.calls;
    const query = jsonTensor(call.query);
    const bad = await fetch(url('golden'), {
      method: 'POST',
      body: JSON.stringify({ query: { dims: [3, 3], data: query.data }, key: jsonTensor(call.key), value: jsonTensor(call.value) }),
    });
    assert.equal(bad.status, 400);
    assert.match(await bad.text(), /query/);
    const good = await fetch(url('golden'), {
      method: 'POST',
      body: JSON.stringify({ query, key: jsonTensor(call.key), value: jsonTensor(call.value) }),
    });
    assert.equal(good.status, 200);
  });

  it('runs DETR encoder attention (L = S = 850, E = 256, 8 heads, k = 64) from a .safetensors request', { timeout: 30_000 }, async (t) => {
    const info = await (await fetch(url('detr'))).json();
    const { module, embedDim, numHeads, options } = info.model;
    assert.deepEqual([module, embedDim, numHeads, options.seqLen, options.projK], ['LinearMultiheadAttention', 256, 8, 850, 64]);
    const L = options.seqLen as number;

    // DETR's encoder: positional embeddings added to queries and keys, not values.
    const src = randn(L * embedDim, 1);
    const pos = randn(L * embedDim, 2);
    const qk: Tensor = { data: src.map((x, i) => x + 0.1 * pos[i]), dims: [L, 1, embedDim] };
    const value: Tensor = { data: src, dims: [L, 1, embedDim] };

    const started = performance.now();
    const response = await fetch(url('detr'), {
      method: 'POST',
      headers: { 'Content-Type': 'application/octet-stream' },
      body: safetensors({ query: qk, key: qk, value }),
    });
    const roundTripMs = performance.now() - started;
    assert.equal(response.status, 200, await response.clone().text());
    const output = parseSafetensors(await response.arrayBuffer()).get('output');
    assert.ok(output, 'the answer holds `output`');

    // The same seeded model here gives the same answer.
    const local = new LinearMultiheadAttention(embedDim, numHeads, options);
    try {
      assertNear('DETR output', output, local.forward(qk, qk, value, { needWeights: false }).output);
    } finally {
      local.dispose();
    }

    const wasmBytes = Number(response.headers.get('x-wasm-memory-bytes'));
    const peakBytes = Number(response.headers.get('x-wasm-peak-bytes'));
    t.diagnostic(
      `DETR in workerd (${response.headers.get('x-wasm-build')}): wasm memory ${(wasmBytes / MIB).toFixed(1)} MiB, ` +
        `peak in use ${(peakBytes / MIB).toFixed(1)} MiB; request with 2.6 MB of inputs took ${roundTripMs.toFixed(0)} ms`,
    );
    assert.ok(wasmBytes > 0 && wasmBytes < 64 * MIB, `wasm memory ${wasmBytes} bytes leaves room in a 128 MB isolate`);
  });

  it('runs the example from its wrangler.jsonc, bundled as wrangler does', { timeout: 20_000 }, async () => {
    const origin = `http://127.0.0.1:${wrangler.ports.http}`;
    const { model, build } = await (await fetch(origin)).json();
    assert.equal(build, 'relaxed-simd');
    const { embedDim, numHeads, options } = model;
    const x: Tensor = { data: randn(20 * embedDim, 4), dims: [20, 1, embedDim] };
    const response = await fetch(origin, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ query: { dims: x.dims, data: Array.from(x.data) }, key: { dims: x.dims, data: Array.from(x.data) }, value: { dims: x.dims, data: Array.from(x.data) } }),
    });
    assert.equal(response.status, 200, await response.clone().text());
    const local = new LinearMultiheadAttention(embedDim, numHeads, options);
    try {
      assertNear('wrangler.jsonc output', fromJson((await response.json()).output), local.forward(x, x, x, { needWeights: false }).output);
    } finally {
      local.dispose();
    }
  });

  it('runs the worker of README.md (with nodejs_compat on)', { timeout: 20_000 }, async () => {
    const query: Tensor = { data: randn(3 * 64, 3), dims: [3, 64] };
    const response = await fetch(url('docs'), {
      method: 'POST',
      body: JSON.stringify({ query: { dims: query.dims, data: Array.from(query.data) } }),
    });
    assert.equal(response.status, 200, await response.clone().text());
    const local = new MultiheadAttention(64, 4, { seed: 0 });
    try {
      assertNear('docs worker output', fromJson(await response.json()), local.forward(query, query, query).output);
    } finally {
      local.dispose();
    }
  });
});
