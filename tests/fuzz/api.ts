// Fuzzes every public entry with fast-check: forward, loadStateDict,
// stateDict, eval/train and the constructors of both modules, ops.matmul,
// ops.prepack, ops.linear, ops.softmax, manualSeed, env, parseSafetensors'
// argument, memoryUsage and backendInfo. Each run is one call whose
// arguments start from a good call and carry up to two defects: malformed
// tensors (getters that return another array on a later read, Proxies,
// non-integer/negative/NaN/huge dims, data of the wrong type or length, views
// with a byte offset, SharedArrayBuffer data, frozen objects, extra keys),
// masks, options (wrong types, null, unknown keys), state dicts (missing,
// extra or misshapen keys, NaN weights, non-tensors, Maps) and bad numbers.
//
// The rule for every call:
//   - a good call gives the right answer (the float64 reference of
//     tests/helpers/reference.ts, within 1e-5 + 1e-4·|ref|);
//   - a bad call throws a TypeError or RangeError whose message names the bad
//     argument; using a disposed object and train(true) throw a plain Error;
//   - a call with a defect that has a sensible reading (null options, typed
//     dims, a Proxy as data, a getter whose later reads differ) does either;
//   - never another error, a wasm trap, a hang or a call slower than 2 s;
//   - afterwards every module (the one called, and modules nobody called)
//     answers a fixed call bit for bit as before the fuzzing began, holds the
//     same state dict, and memoryUsage().allocatedBytes is where it was.
//
// fuzzApi({ runs, seed }) runs in the calling thread (after init());
// fuzzApiInWorker({ runs, seed }) runs it in a worker thread under a watchdog
// that turns a call that never returns into a reported failure. Each new kind
// of failure is shrunk by fast-check and recorded once; the fuzzing then goes
// on with the next seed until `runs` calls are made.
import fc from 'fast-check';
import { performance } from 'node:perf_hooks';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import {
  backendInfo,
  env,
  LinearMultiheadAttention,
  manualSeed,
  memoryUsage,
  MultiheadAttention,
  ops,
  parseSafetensors,
} from 'linformer-wasm';
import { assertCloseRef, linear64, matmul64, referenceLinformer, referenceMHA, softmax64, type RefConfig, type RefResult } from '../helpers/reference.js';
import { count, randn, randomStateDict, Rng, type F32Tensor } from '../helpers/rng.js';

// ------------------------------------------------------------------ results

export interface FuzzApiOptions {
  runs: number;
  seed: number;
  /** Plans (as planKey gives them) not to run: ones that hung before. */
  skip?: readonly string[];
  /** Kinds of failure already recorded (FuzzApiFailure.signature): counted, not recorded again. */
  known?: readonly string[];
  /** Called before each call with the plan's key and JSON (for a watchdog). */
  onCall?: (calls: number, plan: () => string) => void;
  /** Called with each failure as it is recorded. */
  onFailure?: (failure: FuzzApiFailure) => void;
  onProgress?: (counts: FuzzApiCounts) => void;
  progressEvery?: number;
}

export interface FuzzApiCounts {
  /** API calls made, shrinking included. */
  calls: number;
  /** Calls that returned. */
  answered: number;
  /** Calls that threw, by error class (TypeError, RangeError, Error). */
  rejected: Record<string, number>;
  /** Calls per entry. */
  entries: Record<string, number>;
  /** Calls whose plan broke the rule (a known kind of failure counts here each time). */
  failedCalls: number;
}

export interface FuzzApiFailure {
  /** The kind of failure: the call's entry and bad arguments, or the error it threw, and what went wrong, e.g. "manualSeed nan: accepted a bad call". */
  signature: string;
  problem: string;
  /** The plan of the call, as JSON: shrunk by fast-check unless `shrunk` is false. */
  plan: string;
  shrunk: boolean;
  seed: number;
  path?: string;
}

export interface FuzzApiResult extends FuzzApiCounts {
  failures: FuzzApiFailure[];
  ms: number;
  slowestMs: number;
}

/** A call slower than this is a failure: every call here is tiny. */
const SLOW_MS = 2000;
/** Distinct kinds of failure after which the fuzzing stops. */
const MAX_FAILURES = 100;

// ------------------------------------------------------------------ the modules the calls go to

type TargetName = 'mha' | 'linformer' | 'sharer';

interface ModuleSpec {
  linformer: boolean;
  cfg: RefConfig;
}

/** Options of a module from its reference config. */
function optionsOf(cfg: RefConfig): Record<string, unknown> {
  const { embedDim: _e, numHeads: _h, ...rest } = cfg;
  return Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined));
}

const SPECS: Record<TargetName | 'owner' | 'bystander', ModuleSpec> = {
  mha: { linformer: false, cfg: { embedDim: 8, numHeads: 2, addBiasKV: true, addZeroAttn: true, kdim: 6, vdim: 5 } },
  linformer: { linformer: true, cfg: { embedDim: 6, numHeads: 3, seqLen: 7, projK: 3, paramSharing: 'kv', batchFirst: true, addZeroAttn: true } },
  // E of the layerwise owner, used by the sharer
  owner: { linformer: true, cfg: { embedDim: 4, numHeads: 2, seqLen: 6, projK: 2, paramSharing: 'layerwise' } },
  sharer: { linformer: true, cfg: { embedDim: 6, numHeads: 2, seqLen: 6, projK: 2, paramSharing: 'layerwise', addBiasKV: true } },
  bystander: { linformer: false, cfg: { embedDim: 4, numHeads: 1, batchFirst: true } },
};

type Module = MultiheadAttention | LinearMultiheadAttention;

interface Held {
  module: Module;
  spec: ModuleSpec;
  /** The weights it was loaded with. */
  sd: Record<string, F32Tensor>;
  probe: { query: F32Tensor; key: F32Tensor; value: F32Tensor };
  /** Its answer to the probe before the fuzzing. */
  baseline: { output: Float32Array; weights: Float32Array | null };
}

function sameBits(a: ArrayBufferView | null | undefined, b: ArrayBufferView | null | undefined): boolean {
  if (!a || !b) return a === b;
  const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const y = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  return x.length === y.length && Buffer.compare(x, y) === 0;
}

/** Query, key and value for a module: (L, N, ·), (N, L, ·) with batchFirst, or (L, ·) unbatched. */
function inputsFor(cfg: RefConfig, rng: Rng, L: number, S: number, N: number, unbatched: boolean) {
  const shape = (rows: number, f: number) => (unbatched ? [rows, f] : cfg.batchFirst ? [N, rows, f] : [rows, N, f]);
  return {
    query: randn(rng, shape(L, cfg.embedDim)),
    key: randn(rng, shape(S, cfg.kdim ?? cfg.embedDim)),
    value: randn(rng, shape(S, cfg.vdim ?? cfg.embedDim)),
  };
}

class Modules {
  held = new Map<string, Held>();

  constructor() {
    this.build();
  }

  build(): void {
    const rng = new Rng(20240);
    const make = (name: keyof typeof SPECS, shareWith?: LinearMultiheadAttention) => {
      const spec = SPECS[name];
      const options: Record<string, unknown> = { ...optionsOf(spec.cfg), ...(shareWith ? { shareWith } : {}) };
      const module = spec.linformer
        ? new LinearMultiheadAttention(spec.cfg.embedDim, spec.cfg.numHeads, options)
        : new MultiheadAttention(spec.cfg.embedDim, spec.cfg.numHeads, options);
      const sd = randomStateDict(rng, { ...spec.cfg, sharesE: shareWith !== undefined }, spec.linformer);
      module.loadStateDict(sd);
      const probe = inputsFor(spec.cfg, rng, 3, 4, 2, false);
      const got = module.forward(probe.query, probe.key, probe.value, { averageAttnWeights: false });
      this.held.set(name, { module, spec, sd, probe, baseline: { output: got.output.data, weights: got.weights?.data ?? null } });
      return module;
    };
    make('mha');
    make('linformer');
    const owner = make('owner') as LinearMultiheadAttention;
    make('sharer', owner);
    make('bystander');
  }

  dispose(): void {
    for (const h of this.held.values()) h.module.dispose();
    this.held.clear();
  }

  get(name: string): Held {
    return this.held.get(name)!;
  }

  /** The owner's E, for the sharer's reference. */
  get sharedE(): F32Tensor {
    return this.get('owner').sd.e_proj_weight;
  }

  /** null when every module answers its probe as before and holds its weights; else what differs. */
  check(): string | null {
    for (const [name, h] of this.held) {
      let got;
      try {
        got = h.module.forward(h.probe.query, h.probe.key, h.probe.value, { averageAttnWeights: false });
      } catch (e) {
        return `module '${name}' no longer answers its probe: ${errorText(e)}`;
      }
      if (!sameBits(got.output.data, h.baseline.output) || !sameBits(got.weights?.data, h.baseline.weights)) {
        return `module '${name}' answers its probe differently than before the fuzzing`;
      }
      const sd = h.module.stateDict();
      for (const [key, t] of Object.entries(h.sd)) {
        if (!sd[key] || !sameBits(sd[key].data, t.data)) return `module '${name}': stateDict()['${key}'] changed`;
      }
    }
    return null;
  }
}

// ------------------------------------------------------------------ expectations

/** How a call may end: answers it may give (each checked by a function), errors it may throw. */
interface Expectation {
  /** Checks of an answer (any one passing is right); empty: the call must throw. */
  answers: ((result: unknown) => string | null)[];
  /** A TypeError or RangeError naming one of these is right; empty: it must not throw one. */
  names: string[];
  /** A plain Error whose message matches is right (a disposed object, train(true)). */
  plainError?: RegExp;
}

/** What a defect does to the call: the call stays good, may go either way, or is bad. */
type Verdict = 'valid' | 'either' | 'invalid';

/** `name` as a word of the message (so 'key' is not found in 'keyPaddingMask'). */
function names(message: string, name: string): boolean {
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(^|[^A-Za-z0-9_])${escaped}([^A-Za-z0-9_]|$)`).test(message);
}

function errorText(e: unknown): string {
  if (e instanceof Error) return `${e.constructor.name}: ${e.message}`;
  return `non-Error thrown: ${String(e)}`;
}

function problemOf(f: () => void): string | null {
  try {
    f();
    return null;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

// ------------------------------------------------------------------ tensors and their defects

/** Forms a tensor argument can take; VALID ones are good tensors, EITHER ones have a sensible reading. */
const VALID_FORMS = ['plain', 'frozen', 'extra-keys', 'class-instance', 'byte-offset', 'shared-buffer', 'proxy', 'getter-same', 'getter-copy'] as const;
const EITHER_FORMS = ['dims-typed-array', 'proxy-data', 'getter-longer', 'getter-shorter', 'getter-changing', 'dims-getter-changing'] as const;
const INVALID_FORMS = [
  'data-wrong-type', 'data-plain-array', 'data-null', 'data-missing', 'length-short', 'length-long',
  'dims-fraction', 'dims-negative', 'dims-nan', 'dims-infinite', 'dims-huge', 'dims-string', 'dims-missing', 'dims-not-array',
  'null', 'undefined', 'number', 'string', 'pair-array', 'bare-typed-array', 'empty-object', 'wrong-shape',
] as const;
const TENSOR_FORMS = [...VALID_FORMS, ...EITHER_FORMS, ...INVALID_FORMS];
type TensorForm = (typeof TENSOR_FORMS)[number];

type Data = Float32Array | Uint8Array;

interface AnyTensor {
  data: Data;
  dims: number[];
}

interface BuiltArg {
  value: unknown;
  verdict: Verdict;
  /** The tensors a right answer may have used: the good one, or for a getter each array it returns. */
  readings: AnyTensor[];
}

/** Same type as `like`, `n` elements, values from rng. */
function dataLike(like: Data, n: number, rng: Rng): Data {
  if (like instanceof Uint8Array) return Uint8Array.from({ length: n }, () => (rng.bool(0.3) ? 1 : 0));
  return Float32Array.from({ length: n }, () => rng.normal());
}

class TensorLikeClass {
  #data: Data;
  #dims: number[];
  constructor(data: Data, dims: number[]) {
    this.#data = data;
    this.#dims = dims;
  }
  get data(): Data {
    return this.#data;
  }
  get dims(): number[] {
    return this.#dims;
  }
  get type(): string {
    return 'float32';
  }
}

/**
 * The argument `base` made into `form`. `wrongTypes` are data arrays of a
 * type the argument does not take; `reshape` gives a shape the call does not
 * take (same data length as that shape).
 */
function tensorArg(form: TensorForm, variant: number, base: AnyTensor, rng: Rng, wrongTypes: (n: number) => unknown[], reshape: (dims: number[]) => number[]): BuiltArg {
  const { data, dims } = base;
  const n = data.length;
  const good = (value: unknown): BuiltArg => ({ value, verdict: 'valid', readings: [base] });
  const either = (value: unknown, readings: AnyTensor[] = [base]): BuiltArg => ({ value, verdict: 'either', readings });
  const bad = (value: unknown): BuiltArg => ({ value, verdict: 'invalid', readings: [] });
  const Ctor = data.constructor as Float32ArrayConstructor | Uint8ArrayConstructor;
  /** A getter that gives `first` on the first read and `later` after. */
  const getterTensor = (first: Data, later: () => Data) => {
    let reads = 0;
    return { get data() { return reads++ === 0 ? first : later(); }, dims: dims.slice() };
  };
  switch (form) {
    case 'plain':
      return good({ data, dims });
    case 'frozen':
      return good(Object.freeze({ data, dims: Object.freeze(dims.slice()) }));
    case 'extra-keys':
      return good({ data, dims, type: data instanceof Uint8Array ? 'bool' : 'float32', size: n, location: 'cpu', name: 'x', toString: () => 'tensor' });
    case 'class-instance':
      return good(new TensorLikeClass(data, dims));
    case 'byte-offset': {
      const offset = 4 * (1 + (variant % 3));
      const buffer = new ArrayBuffer(offset + data.byteLength + 12);
      const view = new Ctor(buffer, offset, n);
      view.set(data as never);
      return good({ data: view, dims });
    }
    case 'shared-buffer': {
      const view = new Ctor(new SharedArrayBuffer(data.byteLength + 8) as unknown as ArrayBuffer, 0, n);
      view.set(data as never);
      return good({ data: view, dims });
    }
    case 'proxy':
      return good(new Proxy({ data, dims }, {}));
    case 'getter-same':
      return good({ get data() { return data; }, dims });
    case 'getter-copy':
      return good({ get data() { return data.slice(); }, dims });
    case 'dims-typed-array':
      return either({ data, dims: Int32Array.from(dims) });
    case 'proxy-data':
      return either({ data: new Proxy(data, {}), dims });
    case 'getter-longer': {
      // a little longer, or long enough to run past any buffer of the call into the memory beyond
      const extra = [64, 4096, 1 << 18, 1 << 20][variant % 4];
      return either(getterTensor(data, () => { const d = new Ctor(n + extra); d.set(data as never); return d; }));
    }
    case 'getter-shorter':
      return either(getterTensor(data, () => data.slice(0, Math.max(0, n - 1 - variant))));
    case 'getter-changing': {
      const other = dataLike(data, n, rng);
      return either(getterTensor(data, () => other), [base, { data: other, dims }]);
    }
    case 'dims-getter-changing': {
      let reads = 0;
      const later = variant % 2 === 0 ? [...dims, 1 + variant] : dims.map((d) => d + 1);
      return either({ data, get dims() { return reads++ === 0 ? dims.slice() : later.slice(); } });
    }
    case 'data-wrong-type': {
      const choices = wrongTypes(n);
      return bad({ data: choices[variant % choices.length], dims });
    }
    case 'data-plain-array':
      return bad({ data: Array.from(data), dims });
    case 'data-null':
      return bad({ data: null, dims });
    case 'data-missing':
      return bad({ dims });
    case 'length-short':
      // nothing to take away from an empty tensor: one element too many instead
      return bad({ data: n === 0 ? dataLike(data, 1, rng) : data.slice(0, n - 1), dims });
    case 'length-long':
      return bad({ data: dataLike(data, n + 1 + variant, rng), dims });
    case 'dims-fraction':
      return bad({ data, dims: dims.length ? [dims[0] + 0.5, ...dims.slice(1)] : [0.5] });
    case 'dims-negative':
      return bad({ data, dims: dims.length ? [-1 - variant, ...dims.slice(1)] : [-1] });
    case 'dims-nan':
      return bad({ data, dims: [NaN, ...dims.slice(1)] });
    case 'dims-infinite':
      return bad({ data, dims: [Infinity, ...dims.slice(1)] });
    case 'dims-huge': {
      const huge = [2 ** 31, 2 ** 32 + 1, 2 ** 53, 1e300][variant % 4];
      // (huge, 0, …) would be a good empty tensor: give it one element
      return bad({ data: count(dims.slice(1)) === 0 ? dataLike(data, 1, rng) : data, dims: [huge, ...dims.slice(1)] });
    }
    case 'dims-string':
      return bad({ data, dims: variant % 2 ? (dims.length ? dims.map(String) : ['1']) : dims.join(',') });
    case 'dims-missing':
      return bad({ data });
    case 'dims-not-array':
      return bad({ data, dims: [n, { length: dims.length, 0: dims[0] }, new Set(dims), null][variant % 4] });
    case 'null':
      return bad(null);
    case 'undefined':
      return bad(undefined);
    case 'number':
      return bad([0, 1, NaN, -1][variant % 4]);
    case 'string':
      return bad('tensor');
    case 'pair-array':
      return bad([data, dims]);
    case 'bare-typed-array':
      return bad(data);
    case 'empty-object':
      return bad({});
    case 'wrong-shape': {
      const to = reshape(dims);
      return bad({ data: dataLike(data, count(to), rng), dims: to });
    }
  }
}

const floatWrongTypes = (n: number) => [new Float64Array(n), new Int32Array(n), new Uint8Array(n), new Int16Array(n), new Uint8ClampedArray(n)];
const maskWrongTypes = (n: number) => [new Float64Array(n), new Int8Array(n), new Uint8ClampedArray(n), new Uint16Array(n), new Int32Array(n)];
/** The last axis two wider: never a shape the call takes (Linformer takes k and k + 1 for a mask). */
const wider = (dims: number[]) => (dims.length ? [...dims.slice(0, -1), dims[dims.length - 1] + 2] : [2]);

// ------------------------------------------------------------------ plans

/** One defect of a call: which argument, what form, and a variant of that form. */
interface Defect {
  at: string;
  form: string;
  variant: number;
}

function defects(catalogue: Record<string, readonly string[]>, max = 2): fc.Arbitrary<Defect[]> {
  const one = fc.oneof(
    ...Object.entries(catalogue).map(([at, forms]) => fc.record({ at: fc.constant(at), form: fc.constantFrom(...forms), variant: fc.nat(7) })),
  );
  // at most one defect per argument
  const some = fc.uniqueArray(one, { minLength: 1, maxLength: max, selector: (d) => d.at });
  return fc.oneof({ weight: 1, arbitrary: fc.constant<Defect[]>([]) }, { weight: 6, arbitrary: some });
}

const BOOL_OPTION_FORMS = ['true', 'false', 'undefined', 'null', 'one', 'zero', 'string', 'object', 'nan', 'boxed'] as const;

function boolOption(form: string): { value: unknown; verdict: Verdict } {
  switch (form) {
    case 'true':
      return { value: true, verdict: 'valid' };
    case 'false':
      return { value: false, verdict: 'valid' };
    case 'undefined':
      return { value: undefined, verdict: 'valid' };
    case 'null':
      return { value: null, verdict: 'invalid' };
    case 'one':
      return { value: 1, verdict: 'invalid' };
    case 'zero':
      return { value: 0, verdict: 'invalid' };
    case 'string':
      return { value: 'true', verdict: 'invalid' };
    case 'object':
      return { value: {}, verdict: 'invalid' };
    case 'nan':
      return { value: NaN, verdict: 'invalid' };
    default:
      return { value: new Boolean(true), verdict: 'invalid' };
  }
}

/** Forms of an options object: valid (good options), either (null: torch's None), invalid (not an options object). */
const OPTIONS_FORMS = ['plain', 'proxy', 'frozen', 'null-prototype', 'class-instance', 'null', 'number', 'string', 'boolean', 'array', 'map', 'tensor', 'function'] as const;

function optionsObject(form: string, options: Record<string, unknown>): { value: unknown; verdict: Verdict } {
  switch (form) {
    case 'plain':
      return { value: options, verdict: 'valid' };
    case 'proxy':
      return { value: new Proxy(options, {}), verdict: 'valid' };
    case 'frozen':
      return { value: Object.freeze({ ...options }), verdict: 'valid' };
    case 'null-prototype':
      return { value: Object.assign(Object.create(null), options), verdict: 'valid' };
    case 'class-instance': {
      class Options {}
      return { value: Object.assign(new Options(), options), verdict: 'valid' };
    }
    case 'null':
      return { value: null, verdict: 'either' };
    case 'number':
      return { value: 1, verdict: 'invalid' };
    case 'string':
      return { value: 'options', verdict: 'invalid' };
    case 'boolean':
      return { value: false, verdict: 'invalid' };
    case 'array':
      return { value: [options], verdict: 'invalid' };
    case 'map':
      return { value: new Map(Object.entries(options)), verdict: 'invalid' };
    case 'tensor':
      return { value: { data: new Float32Array(2), dims: [2], ...options }, verdict: 'invalid' };
    default:
      return { value: () => options, verdict: 'invalid' };
  }
}

/** Positive integers (embedDim, kdim, seqLen…): bad values and the verdict of each. */
const INT_FORMS = ['zero', 'negative', 'fraction', 'nan', 'infinite', 'string', 'null', 'boolean', 'bigint', 'boxed', 'array', 'huge'] as const;

function intValue(form: string, good: number): { value: unknown; verdict: Verdict } {
  switch (form) {
    case 'zero':
      return { value: 0, verdict: 'invalid' };
    case 'negative':
      return { value: -good, verdict: 'invalid' };
    case 'fraction':
      return { value: good + 0.5, verdict: 'invalid' };
    case 'nan':
      return { value: NaN, verdict: 'invalid' };
    case 'infinite':
      return { value: Infinity, verdict: 'invalid' };
    case 'string':
      return { value: String(good), verdict: 'invalid' };
    case 'null':
      return { value: null, verdict: 'invalid' };
    case 'boolean':
      return { value: true, verdict: 'invalid' };
    case 'bigint':
      return { value: BigInt(good), verdict: 'invalid' };
    case 'boxed':
      return { value: new Number(good), verdict: 'invalid' };
    case 'array':
      return { value: [good], verdict: 'invalid' };
    default:
      // the right type, but sizes past wasm's 4 GiB
      return { value: 2 ** 31, verdict: 'invalid' };
  }
}

// ------------------------------------------------------------------ the calls

/** A call ready to make: the thunk and how it may end. */
interface Call {
  run: () => unknown;
  expect: Expectation;
  /** Cleanup after the call (dispose what it made, restore weights or env); `threw` tells whether it threw. */
  after?: (result: unknown, threw: boolean) => void;
}

/** An answer check against a reference result for forward's output and weights. */
function forwardAnswer(ref: RefResult, inputs: unknown[]): (result: unknown) => string | null {
  return (result) => {
    const r = result as { output?: F32Tensor; weights?: F32Tensor | null } | null;
    if (!r || typeof r !== 'object' || !r.output) return 'forward returned no { output, weights }';
    const p = problemOf(() => assertCloseRef('output', r.output!, ref.output));
    if (p) return p;
    if (ref.weights === null) return r.weights === null ? null : 'weights should be null';
    const w = problemOf(() => assertCloseRef('weights', r.weights ?? null, ref.weights!));
    if (w) return w;
    for (const t of inputs) {
      const d = (t as { data?: unknown } | null)?.data;
      if (ArrayBuffer.isView(d) && d.buffer === r.output.data.buffer) return 'the output aliases an input';
    }
    return null;
  };
}

/** One argument of a call as the fuzzer made it. */
interface Arg {
  name: string;
  /** Names a right error message may give (default: the argument's). */
  names?: string[];
  verdict: Verdict;
  /** Values a right answer may have read (a getter's several arrays). */
  readings?: unknown[];
  /** Part of an options object: not wrong when the options are not passed. */
  inOptions?: boolean;
}

/**
 * Combines the verdicts of a call's arguments into its expectation:
 * `answersFor(readings)` gives the right answers for a choice of readings of
 * the arguments that a getter or proxy may have given.
 */
function expectationOf(args: Arg[], answersFor: (choice: Map<string, unknown>) => ((r: unknown) => string | null) | null): Expectation {
  const invalid = args.filter((a) => a.verdict === 'invalid');
  const either = args.filter((a) => a.verdict === 'either');
  const named = (list: Arg[]) => list.flatMap((a) => a.names ?? [a.name]);
  if (invalid.length > 0) return { answers: [], names: named([...invalid, ...either]) };
  // every combination of the readings of the arguments that have several
  let choices: Map<string, unknown>[] = [new Map()];
  for (const a of args) {
    if (!a.readings || a.readings.length <= 1) continue;
    choices = choices.flatMap((c) => a.readings!.map((r) => new Map(c).set(a.name, r)));
  }
  const answers = choices.map(answersFor).filter((f): f is (r: unknown) => string | null => f !== null);
  return { answers, names: named(either) };
}

/** A mask over `dims` with about 30% of its entries masked out. */
function drawMask(rng: Rng, dims: number[], bool: boolean): AnyTensor {
  const masked = Uint8Array.from({ length: count(dims) }, () => (rng.bool(0.3) ? 1 : 0));
  if (bool) return { data: masked, dims };
  return { data: Float32Array.from(masked, (m) => (m ? -Infinity : rng.normal())), dims };
}

// ---- forward

const FORWARD_DEFECTS = {
  query: TENSOR_FORMS,
  key: TENSOR_FORMS,
  value: TENSOR_FORMS,
  keyPaddingMask: [...TENSOR_FORMS, 'null', 'float-mask'],
  attnMask: [...TENSOR_FORMS, 'null'],
  needWeights: BOOL_OPTION_FORMS,
  averageAttnWeights: BOOL_OPTION_FORMS,
  options: [...OPTIONS_FORMS, 'undefined', 'omitted', 'getter-changing'],
  unknownOption: ['need_weights', 'key_padding_mask', 'attn_mask', 'average_attn_weights', 'needweights', 'batchFirst', 'mask', 'is_causal'],
  arity: ['no-arguments', 'query-only', 'no-value'],
} as const;

const forwardPlan = fc.record({
  entry: fc.constant('forward' as const),
  target: fc.constantFrom<TargetName>('mha', 'linformer', 'sharer'),
  L: fc.integer({ min: 0, max: 4 }),
  S: fc.integer({ min: 0, max: 4 }),
  N: fc.integer({ min: 1, max: 2 }),
  unbatched: fc.boolean(),
  kpm: fc.constantFrom('absent', 'bool', 'float'),
  am: fc.constantFrom('absent', '2d', '3d'),
  amBool: fc.boolean(),
  needWeights: fc.constantFrom('absent', 'true', 'false'),
  averageAttnWeights: fc.constantFrom('absent', 'true', 'false'),
  defects: defects(FORWARD_DEFECTS),
  dataSeed: fc.nat(),
});
type ForwardPlan = typeof forwardPlan extends fc.Arbitrary<infer T> ? T : never;

function forwardCall(plan: ForwardPlan, mods: Modules): Call {
  const h = mods.get(plan.target);
  const { cfg, linformer } = h.spec;
  const rng = new Rng(plan.dataSeed);
  const S = linformer ? Math.min(plan.S, cfg.seqLen! - (cfg.addBiasKV ? 1 : 0)) : plan.S;
  const { L, N, unbatched } = plan;
  const H = cfg.numHeads;
  const base = inputsFor(cfg, rng, L, S, N, unbatched);
  const masks: Record<'keyPaddingMask' | 'attnMask', AnyTensor | undefined> = {
    keyPaddingMask: plan.kpm === 'absent' ? undefined : drawMask(rng, unbatched ? [S] : [N, S], plan.kpm === 'bool' || linformer),
    attnMask: undefined,
  };
  const amWidth = linformer ? cfg.projK! : S;
  const amDims = (threeD: boolean) => [...(threeD ? [unbatched ? H : N * H] : []), L, amWidth];
  if (plan.am !== 'absent') masks.attnMask = drawMask(rng, amDims(plan.am === '3d'), plan.amBool);
  const flags: Record<string, boolean | undefined> = {
    needWeights: plan.needWeights === 'absent' ? undefined : plan.needWeights === 'true',
    averageAttnWeights: plan.averageAttnWeights === 'absent' ? undefined : plan.averageAttnWeights === 'true',
  };

  const args: Arg[] = [];
  const tensors: Record<string, unknown> = { query: base.query, key: base.key, value: base.value };
  const readings: Record<string, unknown[]> = {};
  const optionValues: Record<string, unknown> = {};
  let optionsForm = 'plain';
  let arity = 4;
  const tensorNames = ['query', 'key', 'value'];
  for (const d of plan.defects) {
    if (d.at === 'query' || d.at === 'key' || d.at === 'value') {
      const built = tensorArg(d.form as TensorForm, d.variant, base[d.at], rng, floatWrongTypes, wider);
      tensors[d.at] = built.value;
      readings[d.at] = built.readings;
      args.push({ name: d.at, names: d.form === 'wrong-shape' ? tensorNames : [d.at], verdict: built.verdict, readings: built.readings });
    } else if (d.at === 'keyPaddingMask' || d.at === 'attnMask') {
      const mask = masks[d.at] ?? (d.at === 'attnMask' ? drawMask(rng, amDims(false), true) : drawMask(rng, unbatched ? [S] : [N, S], true));
      if (d.form === 'null' || d.form === 'undefined') {
        // torch's None: no mask
        optionValues[d.at] = d.form === 'null' ? null : undefined;
        masks[d.at] = undefined;
      } else if (d.form === 'float-mask') {
        const floatMask = drawMask(rng, mask.dims, false);
        optionValues[d.at] = floatMask;
        masks[d.at] = floatMask;
        // Linformer zeroes padded keys: a float padding mask has no meaning there
        if (linformer) args.push({ name: d.at, verdict: 'invalid', inOptions: true });
      } else {
        const built = tensorArg(d.form as TensorForm, d.variant, mask, rng, maskWrongTypes, wider);
        optionValues[d.at] = built.value;
        masks[d.at] = mask;
        args.push({ name: d.at, verdict: built.verdict, readings: built.readings, inOptions: true });
      }
    } else if (d.at === 'needWeights' || d.at === 'averageAttnWeights') {
      const b = boolOption(d.form);
      optionValues[d.at] = b.value;
      if (b.verdict === 'valid') flags[d.at] = b.value as boolean | undefined;
      args.push({ name: d.at, verdict: b.verdict, inOptions: true });
    } else if (d.at === 'options') {
      optionsForm = d.form;
    } else if (d.at === 'unknownOption') {
      optionValues[d.form] = d.form === 'batchFirst' ? true : false;
      args.push({ name: d.form, verdict: 'invalid', inOptions: true });
    } else if (d.at === 'arity') {
      arity = d.form === 'no-arguments' ? 0 : d.form === 'query-only' ? 1 : 2;
      args.push({ name: d.form, names: [['query', 'key', 'value'][arity]], verdict: 'invalid' });
    }
  }
  // the options object: the good masks and flags, then the defects' values over them
  const options: Record<string, unknown> = {};
  for (const key of ['keyPaddingMask', 'attnMask'] as const) if (masks[key]) options[key] = masks[key];
  for (const key of ['needWeights', 'averageAttnWeights']) if (flags[key] !== undefined) options[key] = flags[key];
  Object.assign(options, optionValues);
  let optionsValue: unknown = options;
  let defaults = false;
  if (optionsForm === 'undefined' || optionsForm === 'omitted') {
    optionsValue = undefined;
    defaults = true;
    if (optionsForm === 'omitted') arity = Math.min(arity, 3);
  } else if (optionsForm === 'getter-changing') {
    // needWeights reads true once, then false (or the other way): either reading is a right answer
    const first = flags.needWeights ?? true;
    let reads = 0;
    // the getter takes the place of any needWeights given
    for (let i = args.length - 1; i >= 0; i--) if (args[i].name === 'needWeights') args.splice(i, 1);
    optionsValue = { ...options, get needWeights() { return reads++ === 0 ? first : !first; } };
    args.push({ name: 'needWeights', verdict: 'either', readings: [first, !first] });
  } else {
    const o = optionsObject(optionsForm, options);
    optionsValue = o.value;
    // null is torch's None: no options
    if (o.verdict === 'either') defaults = true;
    if (o.verdict !== 'valid') args.push({ name: 'options', verdict: o.verdict });
  }
  // options that are not passed cannot be wrong
  if (defaults) for (const a of args) if (a.inOptions) a.verdict = 'valid';

  const callArgs = [tensors.query, tensors.key, tensors.value, optionsValue].slice(0, arity);
  const expect = expectationOf(args, (choice) => {
    const pick = (name: string, fallback: unknown) => (choice.has(name) ? choice.get(name) : (readings[name]?.[0] ?? fallback)) as F32Tensor;
    const q = pick('query', base.query);
    const k = pick('key', base.key);
    const v = pick('value', base.value);
    const fo = defaults
      ? {}
      : {
          keyPaddingMask: (choice.get('keyPaddingMask') as AnyTensor | undefined) ?? masks.keyPaddingMask,
          attnMask: (choice.get('attnMask') as AnyTensor | undefined) ?? masks.attnMask,
          needWeights: (choice.get('needWeights') as boolean | undefined) ?? flags.needWeights,
          averageAttnWeights: flags.averageAttnWeights,
        };
    return forwardAnswerFor(h, q, k, v, fo, mods, callArgs);
  });
  const forward = h.module.forward as (...a: unknown[]) => unknown;
  return { run: () => forward.apply(h.module, callArgs), expect };
}

function forwardAnswerFor(h: Held, q: F32Tensor, k: F32Tensor, v: F32Tensor, fo: Record<string, unknown>, mods: Modules, inputs: unknown[]) {
  const ref = h.spec.linformer
    ? referenceLinformer(h.spec.cfg, h.sd, q, k, v, fo as never, h === mods.get('sharer') ? mods.sharedE : undefined)
    : referenceMHA(h.spec.cfg, h.sd, q, k, v, fo as never);
  return forwardAnswer(ref, inputs);
}

// ---- loadStateDict

const LOAD_DEFECTS = {
  dict: ['null', 'undefined', 'number', 'string', 'array', 'set', 'function', 'boolean'],
  entry: [...TENSOR_FORMS, 'missing', 'nan', 'infinity', 'non-tensor-number', 'non-tensor-string', 'non-tensor-null', 'non-tensor-array'],
  extraKey: ['foo', 'in_proj_weight_extra', 'out_proj.weight.bias', 'e_proj_weight', 'f_proj_weight', 'bias_k', 'module.in_proj_weight'],
  fProj: ['equal-to-e', 'different'],
  loadOptions: ['null', 'undefined', 'empty', 'prefix-number', 'prefix-null', 'strict', 'string'],
} as const;

const loadPlan = fc.record({
  entry: fc.constant('loadStateDict' as const),
  target: fc.constantFrom<TargetName>('mha', 'linformer', 'sharer'),
  container: fc.constantFrom('object', 'map', 'frozen', 'null-prototype', 'proxy'),
  prefix: fc.boolean(),
  defects: defects(LOAD_DEFECTS),
  dataSeed: fc.nat(),
});
type LoadPlan = typeof loadPlan extends fc.Arbitrary<infer T> ? T : never;

const PREFIX = 'encoder.layers.0.self_attn.';

function loadCall(plan: LoadPlan, mods: Modules): Call {
  const h = mods.get(plan.target);
  const { cfg, linformer } = h.spec;
  const rng = new Rng(plan.dataSeed);
  const sharesE = plan.target === 'sharer';
  const fresh = randomStateDict(rng, { ...cfg, sharesE }, linformer);
  const entries = new Map<string, unknown>(Object.entries(fresh));
  const loaded = new Map<string, F32Tensor[]>(Object.entries(fresh).map(([k, t]) => [k, [t]]));
  const args: Arg[] = [];
  let dictForm: string | null = null;
  let loadOptions: unknown = plan.prefix ? { prefix: PREFIX } : undefined;
  let prefixed = plan.prefix;
  const keys = [...entries.keys()];
  for (const d of plan.defects) {
    if (d.at === 'dict') dictForm = d.form;
    else if (d.at === 'entry') {
      const key = keys[d.variant % keys.length];
      const t = fresh[key];
      const bad = (value: unknown) => {
        entries.set(key, value);
        args.push({ name: key, verdict: 'invalid' });
      };
      if (d.form === 'missing') {
        entries.delete(key);
        args.push({ name: key, verdict: 'invalid' });
      } else if (d.form === 'nan' || d.form === 'infinity') {
        const data = t.data.slice();
        data[d.variant % data.length] = d.form === 'nan' ? NaN : -Infinity;
        bad({ data, dims: t.dims });
      } else if (d.form === 'non-tensor-number') bad(1);
      else if (d.form === 'non-tensor-string') bad('weights');
      else if (d.form === 'non-tensor-null') bad(null);
      else if (d.form === 'non-tensor-array') bad(Array.from(t.data));
      else {
        const built = tensorArg(d.form as TensorForm, d.variant, t, rng, floatWrongTypes, wider);
        entries.set(key, built.value);
        loaded.set(key, built.readings as F32Tensor[]);
        args.push({ name: key, verdict: built.verdict, readings: built.readings });
      }
    } else if (d.at === 'extraKey') {
      const key = d.form;
      // a key of this module is not extra, even when another defect removed it: adding it back would repair the dict
      if (key in fresh || entries.has(key)) continue;
      const shape = key.startsWith('bias') ? [1, 1, cfg.embedDim] : [2, 2];
      entries.set(key, randn(rng, shape));
      args.push({ name: key, verdict: 'invalid' });
    } else if (d.at === 'fProj') {
      // put there by another defect
      if (entries.has('f_proj_weight')) continue;
      if (!linformer || sharesE) {
        // not a key of this module: unexpected (MultiheadAttention) or refused (E is another module's)
        entries.set('f_proj_weight', randn(rng, [cfg.projK ?? 2, cfg.seqLen ?? 2]));
        args.push({ name: 'f_proj_weight', verdict: 'invalid' });
        continue;
      }
      // F = E ('kv'): an f_proj_weight may come along if it equals E
      if (d.form === 'equal-to-e') {
        entries.set('f_proj_weight', { data: fresh.e_proj_weight.data.slice(), dims: fresh.e_proj_weight.dims.slice() });
      } else {
        entries.set('f_proj_weight', randn(rng, fresh.e_proj_weight.dims));
        args.push({ name: 'f_proj_weight', verdict: 'invalid' });
      }
    } else if (d.at === 'loadOptions') {
      const withPrefix = (o: Record<string, unknown>) => (plan.prefix ? { prefix: PREFIX, ...o } : o);
      switch (d.form) {
        case 'null':
          loadOptions = null;
          if (plan.prefix) {
            // without its prefix option, the prefixed keys are all unexpected
            args.push({ name: 'null-options', names: ['options', ...keys], verdict: 'invalid' });
          } else args.push({ name: 'options', verdict: 'either' });
          prefixed = plan.prefix;
          break;
        case 'undefined':
          loadOptions = undefined;
          if (plan.prefix) args.push({ name: 'no-prefix', names: keys, verdict: 'invalid' });
          break;
        case 'empty':
          loadOptions = {};
          if (plan.prefix) args.push({ name: 'no-prefix', names: keys, verdict: 'invalid' });
          break;
        case 'prefix-number':
          loadOptions = { prefix: 7 };
          args.push({ name: 'prefix', verdict: 'invalid' });
          break;
        case 'prefix-null':
          loadOptions = { prefix: null };
          args.push({ name: 'prefix', verdict: 'invalid' });
          break;
        case 'strict':
          loadOptions = withPrefix({ strict: false });
          args.push({ name: 'strict', verdict: 'invalid' });
          break;
        default:
          loadOptions = 'prefix';
          args.push({ name: 'options', verdict: 'invalid' });
      }
    }
  }
  // the container, keys prefixed when the plan loads with a prefix (plus keys without it, which are ignored)
  const pairs = [...entries].map(([k, v]) => [prefixed ? PREFIX + k : k, v] as [string, unknown]);
  if (prefixed) pairs.push(['decoder.layers.0.norm.weight', randn(rng, [3])]);
  let source: unknown;
  if (dictForm !== null) {
    source = { null: null, undefined: undefined, number: 3, string: 'state_dict', array: pairs, set: new Set(pairs), function: () => pairs, boolean: true }[dictForm];
    args.push({ name: 'stateDict', names: ['stateDict', 'state_dict', 'source'], verdict: 'invalid' });
  } else {
    const object = Object.fromEntries(pairs);
    source = {
      object,
      map: new Map(pairs),
      frozen: Object.freeze(object),
      'null-prototype': Object.assign(Object.create(null), object),
      proxy: new Proxy(object, {}),
    }[plan.container];
  }

  const expect = expectationOf(args, (choice) => {
    const sd: Record<string, F32Tensor> = {};
    for (const [k, list] of loaded) sd[k] = (choice.get(k) as F32Tensor | undefined) ?? list[0];
    return (result) => {
      if (result !== undefined) return 'loadStateDict returned a value';
      const got = h.module.stateDict();
      for (const [k, t] of Object.entries(sd)) if (!got[k] || !sameBits(got[k].data, t.data)) return `after loadStateDict, stateDict()['${k}'] is not the tensor loaded`;
      const probe = h.probe;
      const ref = linformer
        ? referenceLinformer(cfg, sd, probe.query, probe.key, probe.value, {}, sharesE ? mods.sharedE : undefined)
        : referenceMHA(cfg, sd, probe.query, probe.key, probe.value);
      return forwardAnswer(ref, [])(h.module.forward(probe.query, probe.key, probe.value));
    };
  });
  const load = h.module.loadStateDict as (...a: unknown[]) => unknown;
  return {
    run: () => load.call(h.module, source, loadOptions),
    expect,
    // a load that took puts the module's own weights back; one that threw must have changed nothing
    after: (_result, threw) => {
      if (!threw) h.module.loadStateDict(h.sd);
    },
  };
}

// ---- methods of a module: stateDict, eval, train, training

const methodPlan = fc.record({
  entry: fc.constant('method' as const),
  target: fc.constantFrom<TargetName>('mha', 'linformer', 'sharer'),
  method: fc.constantFrom('stateDict', 'eval', 'train', 'training'),
  mode: fc.constantFrom('false', 'true', 'omitted', 'undefined', 'one', 'zero', 'string', 'null', 'object'),
});
type MethodPlan = typeof methodPlan extends fc.Arbitrary<infer T> ? T : never;

function methodCall(plan: MethodPlan, mods: Modules): Call {
  const h = mods.get(plan.target);
  const m = h.module;
  switch (plan.method) {
    case 'stateDict':
      return {
        run: () => m.stateDict(),
        expect: {
          answers: [
            (r) => {
              const sd = r as Record<string, F32Tensor>;
              const want = Object.keys(h.sd);
              if (Object.keys(sd).sort().join() !== want.sort().join()) return `stateDict() keys ${Object.keys(sd)}, expected ${want}`;
              for (const k of want) if (!sameBits(sd[k].data, h.sd[k].data)) return `stateDict()['${k}'] differs from what was loaded`;
              // a copy: writing to it changes nothing (the check after the call reads the module again)
              for (const k of want) sd[k].data.fill(0.5);
              return null;
            },
          ],
          names: [],
        },
      };
    case 'eval':
      return { run: () => m.eval(), expect: { answers: [(r) => (r === m ? null : 'eval() did not return the module')], names: [] } };
    case 'training':
      return { run: () => m.training, expect: { answers: [(r) => (r === false ? null : `training is ${String(r)}`)], names: [] } };
    case 'train': {
      const train = m.train as (...a: unknown[]) => unknown;
      const value = { false: false, true: true, undefined: undefined, one: 1, zero: 0, string: 'false', null: null, object: {} }[plan.mode as 'false'];
      const args = plan.mode === 'omitted' ? [] : [value];
      const returnsModule = plan.mode === 'false';
      const evalOnly = ['true', 'omitted', 'undefined'].includes(plan.mode);
      return {
        run: () => train.apply(m, args),
        expect: {
          answers: returnsModule ? [(r) => (r === m ? null : 'train(false) did not return the module')] : [],
          names: returnsModule || evalOnly ? [] : ['mode'],
          plainError: evalOnly ? /eval/ : undefined,
        },
      };
    }
  }
}

// ---- constructors

const CTOR_DEFECTS = {
  embedDim: [...INT_FORMS, 'indivisible', 'undefined'],
  numHeads: [...INT_FORMS, 'indivisible', 'undefined'],
  bias: BOOL_OPTION_FORMS.filter((f) => f !== 'true' && f !== 'false' && f !== 'undefined'),
  addBiasKV: ['null', 'one', 'string', 'object'],
  addZeroAttn: ['null', 'one', 'string', 'object'],
  batchFirst: ['null', 'one', 'string', 'object', 'boxed'],
  kdim: INT_FORMS.filter((f) => f !== 'null'),
  vdim: INT_FORMS.filter((f) => f !== 'null'),
  dropout: ['negative', 'above-one', 'nan', 'string', 'null', 'boolean', 'infinite'],
  seed: ['negative', 'fraction', 'nan', 'too-large', 'string', 'null', 'bigint'],
  seqLen: INT_FORMS,
  projK: INT_FORMS,
  paramSharing: ['unknown', 'capitalised', 'number', 'null', 'array'],
  shareWith: ['mha', 'plain-object', 'other-sizes', 'not-layerwise', 'disposed', 'null'],
  options: [...OPTIONS_FORMS, 'undefined'],
  unknownOption: ['batch_first', 'add_bias_kv', 'seq_len', 'proj_k', 'embedDim', 'num_heads', 'kDim', 'shareWidth', 'param_sharing', 'device'],
} as const;

const constructPlan = fc.record({
  entry: fc.constant('construct' as const),
  kind: fc.constantFrom('mha', 'linformer'),
  heads: fc.constantFrom<[number, number]>([4, 1], [4, 2], [6, 3], [6, 2], [8, 4]),
  bias: fc.constantFrom('absent', 'true', 'false'),
  addBiasKV: fc.constantFrom('absent', 'true', 'false'),
  addZeroAttn: fc.constantFrom('absent', 'true', 'false'),
  batchFirst: fc.constantFrom('absent', 'true', 'false'),
  kdim: fc.constantFrom<number | 'absent' | 'null'>('absent', 'null', 3, 5),
  vdim: fc.constantFrom<number | 'absent' | 'null'>('absent', 'null', 2, 7),
  dropout: fc.constantFrom<number | 'absent'>('absent', 0, 0.1, 1),
  seed: fc.constantFrom<number | 'absent'>('absent', 0, 7, 2 ** 32 - 1),
  seqLen: fc.integer({ min: 5, max: 9 }),
  projK: fc.integer({ min: 1, max: 4 }),
  paramSharing: fc.constantFrom('absent', 'none', 'layerwise', 'kv', 'per-head'),
  shareOwner: fc.boolean(),
  defects: defects(CTOR_DEFECTS),
  dataSeed: fc.nat(),
});
type ConstructPlan = typeof constructPlan extends fc.Arbitrary<infer T> ? T : never;

function constructCall(plan: ConstructPlan, mods: Modules): Call {
  const linformer = plan.kind === 'linformer';
  const owner = mods.get('owner').module as LinearMultiheadAttention;
  const [E, H] = plan.heads;
  const cfg: RefConfig = { embedDim: E, numHeads: H };
  const options: Record<string, unknown> = {};
  const bool = (v: string) => (v === 'absent' ? undefined : v === 'true');
  for (const key of ['bias', 'addBiasKV', 'addZeroAttn', 'batchFirst'] as const) {
    const v = bool(plan[key]);
    if (v !== undefined) options[key] = cfg[key] = v;
  }
  for (const key of ['kdim', 'vdim'] as const) {
    const v = plan[key];
    if (v === 'null') options[key] = null;
    else if (v !== 'absent') options[key] = cfg[key] = v;
  }
  if (plan.dropout !== 'absent') options.dropout = plan.dropout;
  if (plan.seed !== 'absent') options.seed = plan.seed;
  const sharing = plan.shareOwner && linformer;
  if (linformer) {
    Object.assign(options, { seqLen: plan.seqLen, projK: plan.projK });
    Object.assign(cfg, { seqLen: plan.seqLen, projK: plan.projK, paramSharing: plan.paramSharing === 'absent' ? 'none' : plan.paramSharing });
    if (plan.paramSharing !== 'absent') options.paramSharing = plan.paramSharing;
    if (sharing) {
      Object.assign(options, { paramSharing: 'layerwise', seqLen: owner.seqLen, projK: owner.projK, shareWith: owner });
      Object.assign(cfg, { paramSharing: 'layerwise', seqLen: owner.seqLen, projK: owner.projK });
    }
  }
  const args: Arg[] = [];
  let optionsForm = 'plain';
  let embedArg: unknown = E;
  let headsArg: unknown = H;
  const made: Module[] = [];
  for (const d of plan.defects) {
    const set = (key: string, value: unknown, verdict: Verdict = 'invalid', extra: string[] = []) => {
      options[key] = value;
      args.push({ name: key, names: [key, ...extra], verdict, inOptions: true });
    };
    switch (d.at) {
      case 'embedDim':
      case 'numHeads': {
        const good = d.at === 'embedDim' ? E : H;
        if (d.form === 'indivisible') {
          embedArg = 6;
          headsArg = 4;
          args.push({ name: d.at, names: ['embedDim', 'numHeads'], verdict: 'invalid' });
          break;
        }
        const v = d.form === 'undefined' ? { value: undefined, verdict: 'invalid' as Verdict } : intValue(d.form, good);
        if (d.at === 'embedDim') embedArg = v.value;
        else headsArg = v.value;
        // a huge numHeads does not divide embedDim: either is a right name for it
        args.push({ name: d.at, names: d.form === 'huge' ? ['embedDim', 'numHeads'] : [d.at], verdict: v.verdict });
        break;
      }
      case 'bias':
      case 'addBiasKV':
      case 'addZeroAttn':
      case 'batchFirst':
        set(d.at, boolOption(d.form).value);
        break;
      case 'kdim':
      case 'vdim':
        set(d.at, intValue(d.form, 3).value, 'invalid', d.form === 'huge' ? ['kdim', 'vdim', 'embedDim'] : []);
        break;
      case 'dropout':
        set(d.at, { negative: -0.1, 'above-one': 1.5, nan: NaN, string: '0.1', null: null, boolean: false, infinite: Infinity }[d.form as 'nan']);
        break;
      case 'seed':
        set(d.at, { negative: -1, fraction: 1.5, nan: NaN, 'too-large': 2 ** 32, string: '1', null: null, bigint: 1n }[d.form as 'nan']);
        break;
      case 'seqLen':
      case 'projK':
        if (!linformer) set(d.at, 4, 'invalid');
        // with shareWith, the message may say that E's sizes do not match the other module's
        else set(d.at, intValue(d.form, 4).value, 'invalid', [...(d.form === 'huge' ? ['seqLen', 'projK'] : []), ...(sharing ? ['shareWith'] : [])]);
        break;
      case 'paramSharing':
        set(d.at, { unknown: 'shared', capitalised: 'Layerwise', number: 1, null: null, array: ['kv'] }[d.form as 'null']);
        break;
      case 'shareWith': {
        if (!linformer) {
          set(d.at, owner);
          break;
        }
        if (d.form === 'null') {
          // null reads as torch's None: no sharing
          set(d.at, null, 'either');
          break;
        }
        if (d.form === 'disposed') {
          const gone = new LinearMultiheadAttention(4, 2, { seqLen: 6, projK: 2, paramSharing: 'layerwise' });
          gone.dispose();
          Object.assign(options, { paramSharing: 'layerwise', seqLen: 6, projK: 2, shareWith: gone });
          args.push({ name: 'shareWith', verdict: 'invalid', inOptions: true });
          break;
        }
        let other: unknown;
        if (d.form === 'mha') other = mods.get('bystander').module;
        else if (d.form === 'plain-object') other = { paramSharing: 'layerwise', seqLen: owner.seqLen, projK: owner.projK };
        else if (d.form === 'not-layerwise') other = mods.get('linformer').module;
        else {
          const o = new LinearMultiheadAttention(4, 2, { seqLen: owner.seqLen + 1, projK: owner.projK, paramSharing: 'layerwise' });
          made.push(o);
          other = o;
        }
        Object.assign(options, { paramSharing: 'layerwise', seqLen: owner.seqLen, projK: owner.projK, shareWith: other });
        args.push({ name: 'shareWith', verdict: 'invalid', inOptions: true });
        break;
      }
      case 'options':
        optionsForm = d.form;
        break;
      case 'unknownOption':
        set(d.form, 1);
        break;
    }
  }
  // shareWith on a disposed module is a plain Error (its lifetime, not an argument, is wrong)
  const disposedOwner = plan.defects.some((d) => d.at === 'shareWith' && d.form === 'disposed') && linformer;
  let optionsValue: unknown = options;
  let defaults = false;
  if (optionsForm === 'undefined') {
    optionsValue = undefined;
    defaults = true;
  } else {
    const o = optionsObject(optionsForm, options);
    optionsValue = o.value;
    if (o.verdict === 'either') {
      defaults = true;
      args.push({ name: 'options', verdict: 'either' });
    } else if (o.verdict === 'invalid') args.push({ name: 'options', verdict: 'invalid' });
  }
  // options that are not passed cannot be wrong
  if (defaults) for (const a of args) if (a.inOptions) a.verdict = 'valid';
  const refCfg: RefConfig = defaults ? { embedDim: E, numHeads: H, ...(linformer ? { seqLen: 512, projK: 128 } : {}) } : cfg;
  const sharedE = !defaults && sharing && options.shareWith === owner ? mods.sharedE : undefined;
  const expect = expectationOf(args, () => (result) => {
    const m = result as Module;
    if (!(m instanceof (linformer ? LinearMultiheadAttention : MultiheadAttention))) return 'the constructor returned something else';
    const sd = m.stateDict();
    const want = randomStateDict(new Rng(0), { ...refCfg, sharesE: sharedE !== undefined }, linformer);
    for (const k of Object.keys(want)) {
      if (!sd[k]) return `stateDict() has no '${k}'`;
      if (sd[k].dims.join() !== want[k].dims.join()) return `stateDict()['${k}'] is (${sd[k].dims}), expected (${want[k].dims})`;
    }
    if (Object.keys(sd).length !== Object.keys(want).length) return `stateDict() keys ${Object.keys(sd)}, expected ${Object.keys(want)}`;
    // a seqLen of 512 (the default) is too long for a quick check; 3 source rows suffice
    const rng = new Rng(plan.dataSeed);
    const probe = inputsFor(refCfg, rng, 2, Math.min(3, (refCfg.seqLen ?? 9) - (refCfg.addBiasKV ? 1 : 0)), 2, false);
    const ref = linformer ? referenceLinformer(refCfg, sd, probe.query, probe.key, probe.value, {}, sharedE) : referenceMHA(refCfg, sd, probe.query, probe.key, probe.value);
    return forwardAnswer(ref, [])(m.forward(probe.query, probe.key, probe.value));
  });
  if (disposedOwner && !defaults) expect.plainError = /dispos/;
  const Ctor = (linformer ? LinearMultiheadAttention : MultiheadAttention) as unknown as new (...a: unknown[]) => Module;
  return {
    run: () => new Ctor(embedArg, headsArg, optionsValue),
    expect,
    after: (result) => {
      if (result instanceof MultiheadAttention || result instanceof LinearMultiheadAttention) result.dispose();
      for (const m of made) m.dispose();
    },
  };
}

// ---- ops

const MATMUL_DEFECTS = {
  a: TENSOR_FORMS,
  b: TENSOR_FORMS,
  out: TENSOR_FORMS.filter((f) => f !== 'undefined'),
  transposeB: BOOL_OPTION_FORMS,
  options: [...OPTIONS_FORMS, 'undefined'],
  unknownOption: ['transpose_b', 'transpose', 'transposeA', 'outTensor', 'alpha'],
  packed: ['disposed', 'transposeB-given'],
} as const;

const matmulPlan = fc.record({
  entry: fc.constant('matmul' as const),
  M: fc.integer({ min: 0, max: 5 }),
  K: fc.integer({ min: 0, max: 5 }),
  N: fc.integer({ min: 0, max: 5 }),
  transposeB: fc.constantFrom('absent', 'false', 'true'),
  prepacked: fc.boolean(),
  out: fc.boolean(),
  defects: defects(MATMUL_DEFECTS),
  dataSeed: fc.nat(),
});
type MatmulPlan = typeof matmulPlan extends fc.Arbitrary<infer T> ? T : never;

/** Forms that hand over the tensor itself, so out.data is the array the product went into. */
const SAME_ARRAY_FORMS: readonly string[] = ['plain', 'frozen', 'extra-keys', 'class-instance', 'byte-offset', 'shared-buffer', 'proxy', 'getter-same', 'dims-typed-array', 'proxy-data'];

function matmulCall(plan: MatmulPlan, _mods: Modules): Call {
  const rng = new Rng(plan.dataSeed);
  const madeFor = plan.transposeB === 'true';
  const a = randn(rng, [plan.M, plan.K]);
  const b = randn(rng, madeFor ? [plan.N, plan.K] : [plan.K, plan.N]);
  const args: Arg[] = [];
  const values: Record<string, unknown> = { a, b };
  const readings: Record<string, AnyTensor[]> = { a: [a], b: [b] };
  const options: Record<string, unknown> = {};
  if (plan.transposeB !== 'absent' && !plan.prepacked) options.transposeB = madeFor;
  const outTensor = { data: new Float32Array(plan.M * plan.N), dims: [plan.M, plan.N] };
  let out: { built: BuiltArg; form: string } | null = plan.out ? { built: { value: outTensor, verdict: 'valid', readings: [outTensor] }, form: 'plain' } : null;
  let optionsForm = 'plain';
  let packedDefect: string | null = null;
  let transposeDefect: { value: unknown; verdict: Verdict } | null = null;
  const related = ['a', 'b', 'out'];
  for (const d of plan.defects) {
    if (d.at === 'a' || (d.at === 'b' && !plan.prepacked)) {
      // a's K past K and N, every axis of b past that: no wrong shape fits b read
      // either way round (a transposeB defect may flip it), nor another wrong shape
      const past = plan.K + plan.N + 2;
      const aWrong = (dims: number[]) => [dims[0], past];
      const bWrong = (dims: number[]) => dims.map((n) => n + past + 1);
      const reshape = d.at === 'a' ? aWrong : bWrong;
      const built = tensorArg(d.form as TensorForm, d.variant, d.at === 'a' ? a : b, rng, floatWrongTypes, reshape);
      values[d.at] = built.value;
      readings[d.at] = built.readings as AnyTensor[];
      args.push({ name: d.at, names: d.form === 'wrong-shape' ? related : [d.at], verdict: built.verdict, readings: built.readings });
    } else if (d.at === 'out' && d.form === 'null') {
      // torch's out=None
      options.out = null;
      out = null;
    } else if (d.at === 'out') {
      out = { built: tensorArg(d.form as TensorForm, d.variant, outTensor, rng, floatWrongTypes, wider), form: d.form };
      args.push({ name: 'out', names: d.form === 'wrong-shape' ? related : ['out'], verdict: out.built.verdict, inOptions: true });
    } else if (d.at === 'transposeB' && !plan.prepacked) {
      transposeDefect = boolOption(d.form);
      options.transposeB = transposeDefect.value;
      if (transposeDefect.verdict !== 'valid') args.push({ name: 'transposeB', verdict: transposeDefect.verdict, inOptions: true });
    } else if (d.at === 'options') optionsForm = d.form;
    else if (d.at === 'unknownOption') {
      options[d.form] = true;
      args.push({ name: d.form, verdict: 'invalid', inOptions: true });
    } else if (d.at === 'packed' && plan.prepacked) packedDefect = d.form;
  }
  if (out) options.out = out.built.value;
  let packed: InstanceType<typeof ops.PackedMatrix> | null = null;
  if (plan.prepacked) {
    packed = ops.prepack(b, plan.transposeB === 'absent' ? undefined : { transposeB: madeFor });
    values.b = packed;
    if (packedDefect === 'disposed') packed.dispose();
    if (packedDefect === 'transposeB-given') {
      // a PackedMatrix is multiplied as it was packed: transposeB true again is redundant at best
      options.transposeB = true;
      args.push({ name: 'transposeB', verdict: madeFor ? 'either' : 'invalid', inOptions: true });
    }
  }
  let optionsValue: unknown = Object.keys(options).length ? options : undefined;
  let dropped = false;
  if (optionsForm === 'undefined') {
    optionsValue = undefined;
    dropped = true;
  } else if (optionsForm !== 'plain') {
    const o = optionsObject(optionsForm, options);
    optionsValue = o.value;
    dropped = o.verdict === 'either';
    if (o.verdict !== 'valid') args.push({ name: 'options', verdict: o.verdict });
  }
  if (dropped) for (const x of args) if (x.inOptions) x.verdict = 'valid';
  // the orientation the call multiplies b in; b was made for `madeFor`
  const given = dropped ? undefined : transposeDefect ? (transposeDefect.verdict === 'valid' ? transposeDefect.value : madeFor) : plan.transposeB === 'absent' ? undefined : madeFor;
  const transposed = plan.prepacked ? false : given === true;
  if (!plan.prepacked && transposed !== madeFor) {
    // b read the other way round: a shape error unless it is square
    args.push({ name: 'transposeB', names: ['a', 'b', 'transposeB'], verdict: plan.K === plan.N ? 'valid' : 'invalid' });
  }
  const outUsed = out !== null && !dropped ? out : null;
  const expect = expectationOf(args, (choice) => {
    const A = (choice.get('a') as AnyTensor | undefined) ?? readings.a[0];
    const B = (choice.get('b') as AnyTensor | undefined) ?? readings.b[0];
    const want = matmul64(A, B, plan.prepacked ? madeFor : transposed);
    return (result) => {
      const r = result as F32Tensor;
      const p = problemOf(() => assertCloseRef('matmul', r, want));
      if (p) return p;
      if (outUsed && SAME_ARRAY_FORMS.includes(outUsed.form) && r.data !== (outUsed.built.value as { data: unknown }).data) {
        return 'with out, the returned data is not out.data';
      }
      return null;
    };
  });
  if (packedDefect === 'disposed') expect.plainError = /dispos/;
  return {
    run: () => (ops.matmul as (...x: unknown[]) => unknown)(values.a, values.b, optionsValue),
    expect: packedDefect === 'disposed' ? { ...expect, answers: [] } : expect,
    after: () => packed?.dispose(),
  };
}

const PREPACK_DEFECTS = {
  b: TENSOR_FORMS,
  transposeB: BOOL_OPTION_FORMS,
  options: [...OPTIONS_FORMS, 'undefined'],
  unknownOption: ['transpose_b', 'out', 'transpose'],
} as const;

const prepackPlan = fc.record({
  entry: fc.constant('prepack' as const),
  K: fc.integer({ min: 0, max: 5 }),
  N: fc.integer({ min: 0, max: 5 }),
  transposeB: fc.constantFrom('absent', 'false', 'true'),
  defects: defects(PREPACK_DEFECTS),
  dataSeed: fc.nat(),
});
type PrepackPlan = typeof prepackPlan extends fc.Arbitrary<infer T> ? T : never;

function prepackCall(plan: PrepackPlan, _mods: Modules): Call {
  const rng = new Rng(plan.dataSeed);
  let transposeB = plan.transposeB === 'absent' ? undefined : plan.transposeB === 'true';
  const b = randn(rng, transposeB ? [plan.N, plan.K] : [plan.K, plan.N]);
  const args: Arg[] = [];
  let bValue: unknown = b;
  let bReadings: AnyTensor[] = [b];
  const options: Record<string, unknown> = transposeB === undefined ? {} : { transposeB };
  let optionsForm = 'plain';
  for (const d of plan.defects) {
    if (d.at === 'b') {
      // any 2-D b is a good one: a wrong shape is another rank
      const built = tensorArg(d.form as TensorForm, d.variant, b, rng, floatWrongTypes, (dims) => [...dims, 1]);
      bValue = built.value;
      bReadings = built.readings as AnyTensor[];
      args.push({ name: 'b', verdict: built.verdict, readings: built.readings });
    } else if (d.at === 'transposeB') {
      const v = boolOption(d.form);
      options.transposeB = v.value;
      if (v.verdict === 'valid') transposeB = v.value as boolean | undefined;
      args.push({ name: 'transposeB', verdict: v.verdict, inOptions: true });
    } else if (d.at === 'options') optionsForm = d.form;
    else {
      options[d.form] = true;
      args.push({ name: d.form, verdict: 'invalid', inOptions: true });
    }
  }
  let optionsValue: unknown = Object.keys(options).length ? options : undefined;
  let dropped = false;
  if (optionsForm === 'undefined') {
    optionsValue = undefined;
    dropped = true;
  } else if (optionsForm !== 'plain') {
    const o = optionsObject(optionsForm, options);
    optionsValue = o.value;
    dropped = o.verdict === 'either';
    if (o.verdict !== 'valid') args.push({ name: 'options', verdict: o.verdict });
  }
  if (dropped) {
    transposeB = undefined;
    for (const x of args) if (x.inOptions) x.verdict = 'valid';
  }
  const expect = expectationOf(args, (choice) => (result) => {
    const B = (choice.get('b') as AnyTensor | undefined) ?? bReadings[0];
    const packed = result as InstanceType<typeof ops.PackedMatrix>;
    if (!(packed instanceof ops.PackedMatrix)) return 'prepack did not return a PackedMatrix';
    const [k, n] = transposeB ? [B.dims[1], B.dims[0]] : B.dims;
    if (packed.dims[0] !== k || packed.dims[1] !== n) return `PackedMatrix dims (${packed.dims}), expected (${k}, ${n})`;
    const a = randn(new Rng(plan.dataSeed + 1), [3, k]);
    return problemOf(() => assertCloseRef('matmul with the PackedMatrix', ops.matmul(a, packed), matmul64(a, B, transposeB ?? false)));
  });
  return {
    run: () => (ops.prepack as (...x: unknown[]) => unknown)(bValue, optionsValue),
    expect,
    after: (result) => {
      if (result instanceof ops.PackedMatrix) result.dispose();
    },
  };
}

const LINEAR_DEFECTS = { x: TENSOR_FORMS, weight: TENSOR_FORMS, bias: [...TENSOR_FORMS.filter((f) => f !== 'undefined' && f !== 'null')] } as const;

const linearPlan = fc.record({
  entry: fc.constant('linear' as const),
  lead: fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 2 }),
  inF: fc.integer({ min: 0, max: 5 }),
  outF: fc.integer({ min: 0, max: 5 }),
  bias: fc.constantFrom('tensor', 'null', 'undefined', 'omitted'),
  defects: defects(LINEAR_DEFECTS),
  dataSeed: fc.nat(),
});
type LinearPlan = typeof linearPlan extends fc.Arbitrary<infer T> ? T : never;

function linearCall(plan: LinearPlan, _mods: Modules): Call {
  const rng = new Rng(plan.dataSeed);
  const x = randn(rng, [...plan.lead, plan.inF]);
  const w = randn(rng, [plan.outF, plan.inF]);
  const b = randn(rng, [plan.outF]);
  const base: Record<string, F32Tensor> = { x, weight: w, bias: b };
  const values: Record<string, unknown> = { x, weight: w, bias: plan.bias === 'tensor' ? b : plan.bias === 'null' ? null : undefined };
  const readings: Record<string, AnyTensor[]> = { x: [x], weight: [w], bias: [b] };
  let withBias = plan.bias === 'tensor';
  let arity = plan.bias === 'omitted' ? 2 : 3;
  const args: Arg[] = [];
  // x's in_features two larger, weight's three, bias's out_features two: two wrong shapes never fit each other
  const reshapes: Record<string, (dims: number[]) => number[]> = { x: wider, weight: (dims) => [dims[0], dims[1] + 3], bias: wider };
  for (const d of plan.defects) {
    const built = tensorArg(d.form as TensorForm, d.variant, base[d.at], rng, floatWrongTypes, reshapes[d.at]);
    values[d.at] = built.value;
    readings[d.at] = built.readings as AnyTensor[];
    if (d.at === 'bias') {
      withBias = true;
      arity = 3;
    }
    args.push({ name: d.at, names: d.form === 'wrong-shape' ? ['x', 'weight', 'bias'] : [d.at], verdict: built.verdict, readings: built.readings });
  }
  const expect = expectationOf(args, (choice) => {
    const X = (choice.get('x') as AnyTensor | undefined) ?? readings.x[0];
    const W = (choice.get('weight') as AnyTensor | undefined) ?? readings.weight[0];
    const B = withBias ? ((choice.get('bias') as AnyTensor | undefined) ?? readings.bias[0]) : null;
    const want = linear64(X, W, B);
    return (result) => problemOf(() => assertCloseRef('linear', result as F32Tensor, want));
  });
  const callArgs = [values.x, values.weight, values.bias].slice(0, arity);
  return { run: () => (ops.linear as (...x: unknown[]) => unknown)(...callArgs), expect };
}

const softmaxPlan = fc.record({
  entry: fc.constant('softmax' as const),
  dims: fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 }),
  dim: fc.oneof(fc.constant<'absent'>('absent'), fc.integer({ min: -3, max: 2 })),
  defects: defects({ x: TENSOR_FORMS, dim: ['out-of-range', 'fraction', 'nan', 'string', 'null', 'boolean', 'infinite', 'bigint', 'undefined'] }),
  dataSeed: fc.nat(),
});
type SoftmaxPlan = typeof softmaxPlan extends fc.Arbitrary<infer T> ? T : never;

function softmaxCall(plan: SoftmaxPlan, _mods: Modules): Call {
  const rng = new Rng(plan.dataSeed);
  const x = randn(rng, plan.dims, 3);
  const rank = Math.max(plan.dims.length, 1);
  let dim: unknown = plan.dim === 'absent' ? undefined : ((plan.dim % (2 * rank)) + 2 * rank) % (2 * rank) - rank;
  let arity = plan.dim === 'absent' ? 1 : 2;
  let xValue: unknown = x;
  let xReadings: AnyTensor[] = [x];
  const args: Arg[] = [];
  for (const d of plan.defects) {
    if (d.at === 'x') {
      // any shape is a good one: a wrong shape here is a wrong length
      const built = tensorArg(d.form as TensorForm, d.variant, x, rng, floatWrongTypes, (dims) => dims);
      if (d.form === 'wrong-shape') continue;
      xValue = built.value;
      xReadings = built.readings as AnyTensor[];
      args.push({ name: 'x', verdict: built.verdict, readings: built.readings });
    } else {
      arity = 2;
      const values: Record<string, [unknown, Verdict]> = {
        'out-of-range': [rank + d.variant, 'invalid'],
        fraction: [-0.5, 'invalid'],
        nan: [NaN, 'invalid'],
        string: ['-1', 'invalid'],
        null: [null, 'either'],
        boolean: [true, 'invalid'],
        infinite: [-Infinity, 'invalid'],
        bigint: [-1n, 'invalid'],
        undefined: [undefined, 'valid'],
      };
      const [value, verdict] = values[d.form];
      dim = value;
      args.push({ name: 'dim', verdict });
    }
  }
  const expect = expectationOf(args, (choice) => {
    const X = (choice.get('x') as AnyTensor | undefined) ?? xReadings[0];
    const axis = typeof dim === 'number' ? dim : -1;
    if (X.dims.length === 0 && axis !== 0 && axis !== -1) return null;
    const want = softmax64(X, axis);
    return (result) => problemOf(() => assertCloseRef(`softmax dim ${String(dim)}`, result as F32Tensor, want));
  });
  const callArgs = [xValue, dim].slice(0, arity);
  return { run: () => (ops.softmax as (...x: unknown[]) => unknown)(...callArgs), expect };
}

// ---- manualSeed, env, parseSafetensors' argument, memoryUsage, backendInfo, disposed objects

const seedPlan = fc.record({
  entry: fc.constant('manualSeed' as const),
  seed: fc.constantFrom('zero', 'one', 'largest', 'negative', 'fraction', 'nan', 'too-large', 'string', 'null', 'omitted', 'bigint', 'object'),
});
type SeedPlan = typeof seedPlan extends fc.Arbitrary<infer T> ? T : never;

function seedCall(plan: SeedPlan): Call {
  const values: Record<string, [unknown, Verdict]> = {
    zero: [0, 'valid'], one: [1, 'valid'], largest: [2 ** 32 - 1, 'valid'],
    negative: [-1, 'either'], fraction: [1.5, 'invalid'], nan: [NaN, 'invalid'], 'too-large': [2 ** 32, 'either'],
    string: ['1', 'invalid'], null: [null, 'invalid'], omitted: [undefined, 'invalid'], bigint: [1n, 'invalid'], object: [{}, 'invalid'],
  };
  const [value, verdict] = values[plan.seed];
  const seed = manualSeed as (...x: unknown[]) => unknown;
  const made = () => {
    const m = new MultiheadAttention(4, 1);
    const w = m.stateDict().in_proj_weight.data;
    m.dispose();
    return w;
  };
  return {
    run: () => seed(...(plan.seed === 'omitted' ? [] : [value])),
    expect: {
      answers:
        verdict !== 'invalid'
          ? [
              () => {
                // the same seed gives the same weights
                const a = made();
                manualSeed(value as number);
                return sameBits(a, made()) ? null : `manualSeed(${String(value)}) twice gave different weights`;
              },
            ]
          : [],
      names: verdict === 'valid' ? [] : ['seed', 'manualSeed'],
    },
  };
}

const envPlan = fc.record({
  entry: fc.constant('env' as const),
  key: fc.constantFrom('scoreBlockFloats', 'sequenceProjection', 'gemmTile'),
  value: fc.constantFrom<unknown>(1, 7, 64, 32768, 0, -1, 1.5, NaN, Infinity, '64', null, undefined, 'auto', 'inputs', 'keys', 'both', 'Keys', true, '4x8', '6x8', '8x8'),
  target: fc.constantFrom<TargetName>('mha', 'linformer', 'sharer'),
  dataSeed: fc.nat(),
});
type EnvPlan = typeof envPlan extends fc.Arbitrary<infer T> ? T : never;

function envCall(plan: EnvPlan, mods: Modules): Call {
  const h = mods.get(plan.target);
  const probe = inputsFor(h.spec.cfg, new Rng(plan.dataSeed), 3, 4, 2, false);
  const good =
    plan.key === 'scoreBlockFloats'
      ? typeof plan.value === 'number' && Number.isInteger(plan.value) && plan.value > 0
      : (plan.key === 'sequenceProjection' ? ['auto', 'inputs', 'keys'] : ['auto', '4x8', '6x8']).includes(plan.value as string);
  const saved = { ...env };
  return {
    run: () => {
      (env as Record<string, unknown>)[plan.key] = plan.value;
      return h.module.forward(probe.query, probe.key, probe.value);
    },
    // a value the package cannot use: the right answer all the same, or an error naming the setting
    expect: {
      answers: [forwardAnswerFor(h, probe.query, probe.key, probe.value, {}, mods, [])],
      names: good ? [] : [plan.key],
    },
    after: () => Object.assign(env, saved),
  };
}

const miscPlan = fc.record({
  entry: fc.constant('misc' as const),
  what: fc.constantFrom('memoryUsage', 'backendInfo', 'parseSafetensors', 'disposed-forward', 'disposed-loadStateDict', 'disposed-stateDict', 'disposed-dispose'),
  kind: fc.constantFrom('mha', 'linformer'),
  value: fc.constantFrom<unknown>(null, undefined, 5, 'file.safetensors', {}, [1, 2], true),
});
type MiscPlan = typeof miscPlan extends fc.Arbitrary<infer T> ? T : never;

function miscCall(plan: MiscPlan, mods: Modules): Call {
  switch (plan.what) {
    case 'memoryUsage':
      return {
        run: () => memoryUsage(),
        expect: {
          answers: [
            (r) => {
              const u = r as Record<string, number>;
              const fields = ['wasmBytes', 'allocatedBytes', 'scratchBytes', 'peakBytes'];
              if (!fields.every((f) => Number.isInteger(u[f]) && u[f] >= 0)) return `memoryUsage() ${JSON.stringify(u)}`;
              return u.allocatedBytes <= u.wasmBytes && u.scratchBytes <= u.allocatedBytes && u.peakBytes <= u.wasmBytes ? null : `memoryUsage() inconsistent: ${JSON.stringify(u)}`;
            },
          ],
          names: [],
        },
      };
    case 'backendInfo':
      return { run: () => backendInfo(), expect: { answers: [(r) => (['simd', 'relaxed-simd'].includes((r as { build: string }).build) ? null : 'backendInfo().build')], names: [] } };
    case 'parseSafetensors':
      return { run: () => (parseSafetensors as (x: unknown) => unknown)(plan.value), expect: { answers: [], names: ['safetensors'] } };
    default: {
      const spec = plan.kind === 'mha' ? SPECS.mha : SPECS.linformer;
      const m = plan.kind === 'mha' ? new MultiheadAttention(spec.cfg.embedDim, spec.cfg.numHeads, optionsOf(spec.cfg)) : new LinearMultiheadAttention(spec.cfg.embedDim, spec.cfg.numHeads, optionsOf(spec.cfg));
      m.dispose();
      const probe = mods.get(plan.kind).probe;
      const run = {
        'disposed-forward': () => m.forward(probe.query, probe.key, probe.value),
        'disposed-loadStateDict': () => m.loadStateDict(mods.get(plan.kind).sd),
        'disposed-stateDict': () => m.stateDict(),
        'disposed-dispose': () => m.dispose(),
      }[plan.what];
      const twice = plan.what === 'disposed-dispose';
      return { run, expect: { answers: twice ? [(r) => (r === undefined ? null : 'dispose() returned a value')] : [], names: [], plainError: twice ? undefined : /dispos/ } };
    }
  }
}

// ------------------------------------------------------------------ the property

const plan = fc.oneof(
  { weight: 30, arbitrary: forwardPlan },
  { weight: 14, arbitrary: loadPlan },
  { weight: 3, arbitrary: methodPlan },
  { weight: 16, arbitrary: constructPlan },
  { weight: 10, arbitrary: matmulPlan },
  { weight: 5, arbitrary: prepackPlan },
  { weight: 6, arbitrary: linearPlan },
  { weight: 6, arbitrary: softmaxPlan },
  { weight: 2, arbitrary: seedPlan },
  { weight: 3, arbitrary: envPlan },
  { weight: 3, arbitrary: miscPlan },
);
type Plan = typeof plan extends fc.Arbitrary<infer T> ? T : never;

function callOf(p: Plan, mods: Modules): Call {
  switch (p.entry) {
    case 'forward':
      return forwardCall(p, mods);
    case 'loadStateDict':
      return loadCall(p, mods);
    case 'method':
      return methodCall(p, mods);
    case 'construct':
      return constructCall(p, mods);
    case 'matmul':
      return matmulCall(p, mods);
    case 'prepack':
      return prepackCall(p, mods);
    case 'linear':
      return linearCall(p, mods);
    case 'softmax':
      return softmaxCall(p, mods);
    case 'manualSeed':
      return seedCall(p);
    case 'env':
      return envCall(p, mods);
    case 'misc':
      return miscCall(p, mods);
  }
}

/** Defect forms that leave an argument good: they do not tell one kind of failure from another. */
const GOOD_FORMS = new Set<string>([...VALID_FORMS, 'true', 'false', 'undefined', 'null-prototype', 'equal-to-e']);

/** What identifies a plan's kind of call: its entry and the defects that are not good forms. */
export function planKey(p: Plan): string {
  const what = 'defects' in p ? p.defects.filter((d) => !GOOD_FORMS.has(d.form)).map((d) => `${d.at}:${d.form}`).sort().join(',') : '';
  const value = (v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : typeof v);
  const extra = p.entry === 'env' ? `${p.key}=${value(p.value)}` : p.entry === 'misc' ? p.what : p.entry === 'method' ? `${p.method}(${p.mode})` : p.entry === 'manualSeed' ? p.seed : '';
  return `${p.entry}${extra ? ` ${extra}` : ''}${what ? ` [${what}]` : ''}`;
}

function describePlan(p: Plan): string {
  return JSON.stringify(p, (_k, v) => (typeof v === 'bigint' ? `${v}n` : Number.isNaN(v) ? 'NaN' : v === Infinity ? 'Infinity' : v === -Infinity ? '-Infinity' : v === undefined ? 'undefined' : v));
}

/** A broken rule: what happened, its kind, and the error's message when one was thrown. */
interface Found {
  problem: string;
  kind: string;
  message?: string;
}

/**
 * One kind of failure: an error's message (names and numbers blanked) for a
 * wrong error, since its cause does not depend on the other defects of the
 * call; else the defects of the call.
 */
function signatureOf(p: Plan, found: Found): string {
  if (found.kind === 'accepted a bad call' && 'defects' in p) {
    // the argument that was not checked, whatever was wrong with it
    const at = p.defects.filter((d) => !GOOD_FORMS.has(d.form)).map((d) => d.at).sort().join(',');
    return `${p.entry} [${at}]: ${found.kind}`;
  }
  if (found.message === undefined) return `${planKey(p)}: ${found.kind}`;
  const shape = found.message.replace(/'[^']*'/g, "'…'").replace(/\d+(\.\d+)?/g, '#');
  return `${p.entry}: ${found.kind}: ${shape}`;
}

/** Runs one call of the plan and checks the rule; returns the problem, or null. */
class Harness {
  readonly counts: FuzzApiCounts = { calls: 0, answered: 0, rejected: {}, entries: {}, failedCalls: 0 };
  slowestMs = 0;
  mods: Modules;
  allocated: number;

  constructor() {
    // A scratch region that outlives its call only grows: grow it past any
    // call here first, so that allocatedBytes is exact before and after every
    // call. The modules come after it, where a write past a call's buffers lands.
    ops.matmul(randn(new Rng(1), [256, 256]), randn(new Rng(2), [256, 256]));
    this.mods = new Modules();
    this.allocated = memoryUsage().allocatedBytes;
  }

  examine(p: Plan): Found | null {
    this.counts.calls++;
    this.counts.entries[p.entry] = (this.counts.entries[p.entry] ?? 0) + 1;
    let call: Call;
    try {
      call = callOf(p, this.mods);
    } catch (e) {
      return { problem: `the fuzzer could not build the call: ${errorText(e)}`, kind: 'fuzzer' };
    }
    let result: unknown;
    let thrown: unknown = undefined;
    let threw = false;
    const t0 = performance.now();
    try {
      result = call.run();
    } catch (e) {
      threw = true;
      thrown = e;
    }
    const ms = performance.now() - t0;
    this.slowestMs = Math.max(this.slowestMs, ms);
    let problem = threw ? this.judgeError(thrown, call.expect) : this.judgeAnswer(result, call.expect);
    try {
      call.after?.(result, threw);
    } catch (e) {
      problem ??= { problem: `cleaning up after the call failed: ${errorText(e)}`, kind: 'cleanup' };
    }
    if (!problem && ms > SLOW_MS) problem = { problem: `the call took ${ms.toFixed(0)} ms`, kind: 'slow' };
    const damage = this.mods.check();
    const allocated = memoryUsage().allocatedBytes;
    if (!problem && damage) problem = { problem: damage, kind: 'corrupted' };
    if (!problem && allocated !== this.allocated) {
      problem = { problem: `memoryUsage().allocatedBytes is ${allocated}, was ${this.allocated} before the call`, kind: 'memory' };
    }
    if (damage || allocated !== this.allocated) this.rebuild();
    if (problem) this.counts.failedCalls++;
    return problem;
  }

  private judgeError(e: unknown, x: Expectation): Found | null {
    const cls = e instanceof Error ? e.constructor.name : typeof e;
    this.counts.rejected[cls] = (this.counts.rejected[cls] ?? 0) + 1;
    if (e instanceof WebAssembly.RuntimeError) return { problem: `a wasm trap: ${errorText(e)}`, kind: 'wasm trap' };
    if (e instanceof TypeError || e instanceof RangeError) {
      if (x.names.length === 0) {
        return { problem: `threw on a good call: ${errorText(e)}`, kind: `threw ${cls} on a good call`, message: e.message };
      }
      if (!x.names.some((n) => names(e.message, n))) {
        return { problem: `the ${cls} does not name ${x.names.map((n) => `'${n}'`).join(' or ')}: ${e.message}`, kind: `${cls} without the argument's name`, message: e.message };
      }
      return null;
    }
    if (x.plainError && e instanceof Error && e.constructor === Error && x.plainError.test(e.message)) return null;
    const message = e instanceof Error ? e.message : String(e);
    return { problem: `threw ${errorText(e)}; expected ${x.names.length ? 'a TypeError or RangeError' : 'an answer'}`, kind: `threw ${cls}`, message };
  }

  private judgeAnswer(result: unknown, x: Expectation): Found | null {
    this.counts.answered++;
    if (x.answers.length === 0) {
      const wanted = x.plainError ? 'an Error' : `a TypeError or RangeError naming ${x.names.map((n) => `'${n}'`).join(' or ')}`;
      return { problem: `answered a bad call; expected ${wanted}`, kind: 'accepted a bad call' };
    }
    const problems = x.answers.map((check) => {
      try {
        return check(result);
      } catch (e) {
        return `checking the answer threw ${errorText(e)}`;
      }
    });
    if (problems.some((q) => q === null)) return null;
    return { problem: `wrong answer: ${problems[0]}`, kind: 'wrong answer' };
  }

  /** After a call broke a module or leaked: new modules, new baselines. */
  rebuild(): void {
    try {
      this.mods.dispose();
    } catch {
      // a broken module may not dispose cleanly; the new ones are what counts
    }
    this.mods = new Modules();
    this.allocated = memoryUsage().allocatedBytes;
  }

  dispose(): void {
    this.mods.dispose();
  }
}

/** Runs `runs` calls from `seed`; needs init() to have run. */
export function fuzzApi({ runs, seed, skip = [], known: knownBefore = [], onCall, onFailure, onProgress, progressEvery = 10_000 }: FuzzApiOptions): FuzzApiResult {
  const harness = new Harness();
  const failures: FuzzApiFailure[] = [];
  const known = new Set<string>(knownBefore);
  const skipped = new Set(skip);
  const t0 = performance.now();
  // what each failing plan did, for the counterexample fast-check hands back
  const failedWith = new WeakMap<object, Found>();
  let done = 0;
  let round = 0;
  try {
    while (done < runs && failures.length < MAX_FAILURES) {
      const roundSeed = (seed + round * 7919) | 0;
      const details = fc.check(
        fc.property(plan, (p) => {
          const key = planKey(p);
          if (skipped.has(key)) return true;
          onCall?.(harness.counts.calls, () => `${key}\n${describePlan(p)}`);
          const found = harness.examine(p);
          if (onProgress && harness.counts.calls % progressEvery === 0) onProgress(copyCounts(harness.counts));
          // a kind of failure already recorded is counted, not shrunk again
          if (found === null || known.has(signatureOf(p, found))) return true;
          failedWith.set(p, found);
          return false;
        }),
        { numRuns: runs - done, seed: roundSeed },
      );
      done += details.numRuns;
      if (!details.failed) break;
      round++;
      const [p] = (details.counterexample ?? []) as [Plan];
      if (p === undefined) {
        failures.push({ signature: 'fast-check', problem: errorText(details.errorInstance), plan: '', shrunk: false, seed: roundSeed });
        break;
      }
      const found = failedWith.get(p) ?? harness.examine(p) ?? { problem: 'failed, then passed when run again (it depends on earlier calls)', kind: 'flaky' };
      const signature = signatureOf(p, found);
      known.add(signature);
      const failure = { signature, problem: found.problem, plan: describePlan(p), shrunk: true, seed: roundSeed, path: details.counterexamplePath ?? undefined };
      failures.push(failure);
      onFailure?.(failure);
    }
  } finally {
    harness.dispose();
  }
  return { ...copyCounts(harness.counts), failures, ms: performance.now() - t0, slowestMs: harness.slowestMs };
}

function copyCounts(c: FuzzApiCounts): FuzzApiCounts {
  return { ...c, rejected: { ...c.rejected }, entries: { ...c.entries } };
}

// ------------------------------------------------------------------ in a worker, under a watchdog

export interface WatchdogOptions {
  runs: number;
  seed: number;
  /** A call that has not returned after this long is a hang. */
  hangMs?: number;
  onProgress?: (counts: FuzzApiCounts) => void;
  progressEvery?: number;
  onFailure?: (failure: FuzzApiFailure) => void;
}

const PLAN_BYTES = 1 << 16;

/**
 * fuzzApi in a worker thread: a call that never returns is recorded as a
 * failure (with its plan, unshrunk), the worker is stopped, and the fuzzing
 * goes on in a new worker that skips that kind of call.
 */
export async function fuzzApiInWorker({ runs, seed, hangMs = 5_000, onProgress, progressEvery = 500, onFailure }: WatchdogOptions): Promise<FuzzApiResult> {
  const total: FuzzApiResult = { calls: 0, answered: 0, rejected: {}, entries: {}, failedCalls: 0, failures: [], ms: 0, slowestMs: 0 };
  const skip: string[] = [];
  const t0 = performance.now();
  let attempt = 0;
  // plans skipped after a hang make a worker fall short of its runs: the next one makes up the rest
  while (total.calls < runs && total.failures.length < MAX_FAILURES && attempt < 20) {
    const shared = new SharedArrayBuffer(8 + PLAN_BYTES);
    const control = new Int32Array(shared, 0, 2);
    const planBytes = new Uint8Array(shared, 8);
    const worker = new Worker(new URL(import.meta.url), {
      workerData: { fuzzApi: { runs: runs - total.calls, seed: seed + attempt * 104729, skip, known: total.failures.map((f) => f.signature), progressEvery }, shared },
    });
    let last: FuzzApiCounts | null = null;
    // failures the worker reported before it had to be stopped
    const failuresSeen: FuzzApiFailure[] = [];
    const outcome = await new Promise<{ result?: FuzzApiResult; hang?: string; error?: string }>((resolve) => {
      let seen = -1;
      let since = performance.now();
      const timer = setInterval(() => {
        const calls = Atomics.load(control, 0);
        if (calls !== seen) {
          seen = calls;
          since = performance.now();
        } else if (performance.now() - since > hangMs) {
          const length = Atomics.load(control, 1);
          resolve({ hang: new TextDecoder().decode(planBytes.slice(0, length)) });
        }
      }, 250);
      worker.on('message', (m: { progress?: FuzzApiCounts; failure?: FuzzApiFailure; result?: FuzzApiResult }) => {
        if (m.progress) {
          last = m.progress;
          onProgress?.(add(total, m.progress));
        }
        if (m.failure) {
          failuresSeen.push(m.failure);
          onFailure?.(m.failure);
        }
        if (m.result) {
          clearInterval(timer);
          resolve({ result: m.result });
        }
      });
      worker.on('error', (e) => {
        clearInterval(timer);
        resolve({ error: errorText(e) });
      });
      worker.on('exit', () => {
        clearInterval(timer);
        resolve({ error: 'the fuzzing worker exited' });
      });
    });
    await worker.terminate();
    attempt++;
    if (outcome.result) {
      Object.assign(total, add(total, outcome.result));
      total.failures.push(...outcome.result.failures);
      total.slowestMs = Math.max(total.slowestMs, outcome.result.slowestMs);
      // a worker that could make no call would not be followed by one that can
      if (outcome.result.calls === 0) break;
      continue;
    }
    // the counts up to the last report, the calls since, and the call that never came back
    const reported = last as FuzzApiCounts | null;
    const calls = Atomics.load(control, 0);
    if (reported) Object.assign(total, add(total, reported));
    total.calls += Math.max(0, calls - (reported?.calls ?? 0));
    total.failures.push(...failuresSeen);
    const [hangKey, planJson] = outcome.hang ? [outcome.hang.slice(0, outcome.hang.indexOf('\n')), outcome.hang.slice(outcome.hang.indexOf('\n') + 1)] : ['', ''];
    const failure: FuzzApiFailure = {
      signature: outcome.hang ? `${hangKey}: hang` : 'worker',
      problem: outcome.hang ? `the call did not return within ${hangMs} ms` : (outcome.error ?? 'the worker stopped'),
      plan: planJson,
      shrunk: false,
      seed: seed + (attempt - 1) * 104729,
    };
    total.failures.push(failure);
    total.failedCalls++;
    onFailure?.(failure);
    if (!outcome.hang) break;
    skip.push(hangKey);
  }
  total.ms = performance.now() - t0;
  return total;
}

function add(a: FuzzApiCounts, b: FuzzApiCounts): FuzzApiCounts {
  const sum = (x: Record<string, number>, y: Record<string, number>) => {
    const out = { ...x };
    for (const [k, v] of Object.entries(y)) out[k] = (out[k] ?? 0) + v;
    return out;
  };
  return {
    calls: a.calls + b.calls,
    answered: a.answered + b.answered,
    rejected: sum(a.rejected, b.rejected),
    entries: sum(a.entries, b.entries),
    failedCalls: a.failedCalls + b.failedCalls,
  };
}

if (!isMainThread && (workerData as { fuzzApi?: unknown } | null)?.fuzzApi) {
  const { fuzzApi: options, shared } = workerData as { fuzzApi: { runs: number; seed: number; skip: string[]; known: string[]; progressEvery?: number }; shared: SharedArrayBuffer };
  const control = new Int32Array(shared, 0, 2);
  const planBytes = new Uint8Array(shared, 8);
  const encoder = new TextEncoder();
  const { initForTests } = await import('../helpers/setup.js');
  await initForTests();
  const result = fuzzApi({
    ...options,
    onCall: (calls, planJson) => {
      const { written } = encoder.encodeInto(planJson(), planBytes);
      Atomics.store(control, 1, written);
      Atomics.store(control, 0, calls + 1);
    },
    onProgress: (progress) => parentPort!.postMessage({ progress }),
    onFailure: (failure) => parentPort!.postMessage({ failure }),
  });
  parentPort!.postMessage({ result });
}
