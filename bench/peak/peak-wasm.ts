// The ceiling: how many f32 FLOP/s wasm SIMD reaches on this machine when
// nothing but arithmetic runs. A hand-assembled module loops over independent
// v128 registers: in the plain build half of them are multiplied (x·m) and
// half added to (x + c), one mul per add as in a GEMM, with no op waiting for
// another; in the relaxed build each is a fused acc·m + c (relaxed_madd).
// Enough registers are in flight that the FP pipes, not latency, bound it.
// m = 1 and c = 0 keep every value at 1.0: no denormals, no overflow.

const V128 = 0x7b;
const I32 = 0x7f;
const F32 = 0x7d;
const SIMD = 0xfd;
const LOCAL_GET = 0x20;
const LOCAL_SET = 0x21;

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

function simdOp(code: number): number[] {
  return [SIMD, ...uleb(code)];
}

const F32X4_SPLAT = simdOp(0x13);
const F32X4_EXTRACT_LANE_0 = [...simdOp(0x1f), 0];
const F32X4_ADD = simdOp(0xe4);
const F32X4_MUL = simdOp(0xe6);
const F32X4_RELAXED_MADD = simdOp(0x105);

/** Ops per register in one trip round the loop, to keep the loop's own cost small. */
export const UNROLL = 8;

/**
 * `run(iterations: i32, m: f32, c: f32) → f32`: `iterations` trips of
 * UNROLL ops on each of `accumulators` registers; returns a lane of their
 * sum so the work cannot be dropped.
 */
export function peakModuleBytes(accumulators: number, relaxed: boolean): Uint8Array<ArrayBuffer> {
  const ITER = 0, M_PARAM = 1, C_PARAM = 2;
  const m = 3, c = 4, acc0 = 5; // v128 locals after the three params
  const code: number[] = [];
  code.push(LOCAL_GET, M_PARAM, ...F32X4_SPLAT, LOCAL_SET, m);
  code.push(LOCAL_GET, C_PARAM, ...F32X4_SPLAT, LOCAL_SET, c);
  const one = new Uint8Array(new Float32Array([1]).buffer);
  for (let i = 0; i < accumulators; i++) code.push(0x43, ...one, ...F32X4_SPLAT, LOCAL_SET, acc0 + i);
  code.push(0x02, 0x40, 0x03, 0x40); // block, loop
  code.push(LOCAL_GET, ITER, 0x45, 0x0d, 1); // i32.eqz; br_if out of the block
  for (let u = 0; u < UNROLL; u++) {
    for (let i = 0; i < accumulators; i++) {
      if (relaxed) code.push(LOCAL_GET, acc0 + i, LOCAL_GET, m, LOCAL_GET, c, ...F32X4_RELAXED_MADD);
      else if (i % 2 === 0) code.push(LOCAL_GET, acc0 + i, LOCAL_GET, m, ...F32X4_MUL);
      else code.push(LOCAL_GET, acc0 + i, LOCAL_GET, c, ...F32X4_ADD);
      code.push(LOCAL_SET, acc0 + i);
    }
  }
  code.push(LOCAL_GET, ITER, 0x41, 1, 0x6b, LOCAL_SET, ITER); // iterations -= 1
  code.push(0x0c, 0, 0x0b, 0x0b); // br to the loop; end loop; end block
  code.push(LOCAL_GET, acc0);
  for (let i = 1; i < accumulators; i++) code.push(LOCAL_GET, acc0 + i, ...F32X4_ADD);
  code.push(...F32X4_EXTRACT_LANE_0, 0x0b);

  const locals = [1, ...uleb(accumulators + 2), V128];
  const body = [...locals, ...code];
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [1, 0x60, 3, I32, F32, F32, 1, F32]),
    ...section(3, [1, 0]),
    ...section(7, [1, 3, 0x72, 0x75, 0x6e, 0x00, 0]), // export "run"
    ...section(10, [1, ...uleb(body.length), ...body]),
  ];
  return new Uint8Array(bytes);
}

export interface PeakResult {
  /** Best GFLOP/s over the accumulator counts tried. */
  gflops: number;
  accumulators: number;
  /** GFLOP/s for each accumulator count tried. */
  byAccumulators: Record<number, number>;
}

/** 4 lanes × (mul and add fused), or 4 lanes × one mul or one add. */
const flopPerOp = (relaxed: boolean) => (relaxed ? 8 : 4);

/**
 * Short calls of the loop, then a pause for the optimising compile to land:
 * V8 starts wasm in its baseline tier and a running call never switches to
 * the optimised code, so only calls made after tier-up count.
 */
function warmUp(run: (iterations: number, m: number, c: number) => number): Promise<void> {
  for (let i = 0; i < 30; i++) run(1000, 1, 0);
  return new Promise((resolve) => setTimeout(resolve, 20));
}

/** Measures one variant, warmed up first (warmUp). */
export async function measurePeak(relaxed: boolean, msPerTrial: number, trials = 5): Promise<PeakResult> {
  const byAccumulators: Record<number, number> = {};
  for (const accumulators of [8, 10, 12, 14]) {
    const instance = await WebAssembly.instantiate(await WebAssembly.compile(peakModuleBytes(accumulators, relaxed)));
    const run = instance.exports.run as (iterations: number, m: number, c: number) => number;
    const flopPerIteration = UNROLL * accumulators * flopPerOp(relaxed);
    let iterations = 1000;
    await warmUp(run);
    // size a trial to about msPerTrial
    for (;;) {
      const t0 = performance.now();
      run(iterations, 1, 0);
      const ms = performance.now() - t0;
      if (ms > msPerTrial / 4 || iterations > 1e9) {
        iterations = Math.max(1, Math.round((iterations * msPerTrial) / Math.max(ms, 1e-3)));
        break;
      }
      iterations *= 4;
    }
    let best = 0;
    let sink = 0;
    for (let t = 0; t < trials; t++) {
      const t0 = performance.now();
      sink += run(iterations, 1, 0);
      const s = (performance.now() - t0) / 1000;
      best = Math.max(best, (iterations * flopPerIteration) / s / 1e9);
    }
    if (!Number.isFinite(sink)) throw new Error('peak loop diverged');
    byAccumulators[accumulators] = best;
  }
  const [accumulators, gflops] = Object.entries(byAccumulators).reduce((a, b) => (b[1] > a[1] ? b : a));
  return { gflops, accumulators: Number(accumulators), byAccumulators };
}

/** What the threads of measurePeakTogether run: the loop, one trial per barrier. */
const TOGETHER_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { bytes, iterations, trials, threads, control } = workerData;
const run = new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports.run;
warmUp(run).then(() => parentPort.postMessage(trialsTogether(run, iterations, trials, threads, new Int32Array(control))));
${warmUp.toString()}
${trialsTogether.toString()}
`;

/** Each trial starts when every thread has reached it (a spin barrier on control[0]); returns each trial's ms. */
function trialsTogether(run: (iterations: number, m: number, c: number) => number, iterations: number, trials: number, threads: number, control: Int32Array): number[] {
  const ms: number[] = [];
  for (let t = 0; t < trials; t++) {
    Atomics.add(control, 0, 1);
    while (Atomics.load(control, 0) < (t + 1) * threads);
    const t0 = performance.now();
    run(iterations, 1, 0);
    ms.push(performance.now() - t0);
  }
  return ms;
}

/**
 * The machine's own scaling: the loop that reached `alone` on one thread,
 * run on `threads` threads at once (this one and worker_threads), each
 * trial started together. A trial's figure is the sum of every thread's
 * rate; the best trial is reported, as for one thread. Node only.
 */
export async function measurePeakTogether(relaxed: boolean, alone: PeakResult, threads: number, msPerTrial: number, trials: number): Promise<number> {
  const { Worker } = await import('node:worker_threads');
  const bytes = peakModuleBytes(alone.accumulators, relaxed);
  const flopPerIteration = UNROLL * alone.accumulators * flopPerOp(relaxed);
  const iterations = Math.max(1, Math.round((alone.gflops * 1e9 * msPerTrial) / 1000 / flopPerIteration));
  const control = new SharedArrayBuffer(4);
  const workers = Array.from({ length: threads - 1 }, () => new Worker(TOGETHER_WORKER, { eval: true, workerData: { bytes, iterations, trials, threads, control } }));
  try {
    const theirs = workers.map((w) => new Promise<number[]>((resolve, reject) => (w.once('message', resolve), w.once('error', reject))));
    const run = new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports.run as (iterations: number, m: number, c: number) => number;
    await warmUp(run);
    const mine = trialsTogether(run, iterations, trials, threads, new Int32Array(control));
    const all = [mine, ...(await Promise.all(theirs))];
    const gflops = (ms: number) => (iterations * flopPerIteration) / (ms / 1000) / 1e9;
    return Math.max(...mine.map((_, t) => all.reduce((sum, thread) => sum + gflops(thread[t]), 0)));
  } finally {
    for (const w of workers) void w.terminate();
  }
}
