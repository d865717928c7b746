// Fuzzes parseSafetensors and loadStateDict with .safetensors bytes mutated
// from the torch exports in tests/golden: header edits (an offset, a dtype, a
// shape entry, a key deleted or added, the text itself, non-JSON bytes) and
// byte edits (bit flips, truncation, extension, the header length). For each
// file: parsing either throws a TypeError or RangeError whose message starts
// with "safetensors:", or returns tensors that an independent reading of the
// same header confirms (byte ranges inside the data section and tiling it,
// dims, values, no aliasing); the file is never changed; and loading a file
// that parsed either works (the module then holds exactly the parsed tensors)
// or throws a TypeError or RangeError and leaves the weights as they were.
//
// Call after init(): fuzzSafetensors({ runs, seed }). The short run is in
// tests/safetensors.test.ts, the long one is scripts/fuzz-safetensors.mjs.
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { LinearMultiheadAttention, parseSafetensors, type OutputTensor } from 'linformer-wasm';
import { goldenDir, loadGolden, type GoldenCase } from '../helpers/golden.js';
import { assemble, decodeFloats, pad, sameBytes, sameFloats, splitSafetensors } from '../helpers/safetensors-writer.js';

export interface FuzzOptions {
  runs: number;
  seed: number;
  /** Called every `progressEvery` runs with the counts so far. */
  onProgress?: (counts: FuzzCounts) => void;
  progressEvery?: number;
}

export interface FuzzCounts {
  runs: number;
  /** Files parseSafetensors accepted (and the oracle confirmed). */
  parsed: number;
  /** Files parseSafetensors refused with a safetensors: TypeError/RangeError. */
  rejected: number;
  /** Parsed files loadStateDict then took, or refused with a TypeError/RangeError. */
  loaded: number;
  loadRejected: number;
}

export interface FuzzFailure {
  problem: string;
  /** The mutation, as JSON; `shrunk` is fast-check's smallest failing one. */
  mutation: string;
  shrunk?: boolean;
  seed: number;
  path?: string;
}

export interface FuzzResult extends FuzzCounts {
  failures: FuzzFailure[];
  /** How often each kind of rejection came up (messages with names and numbers blanked). */
  reasons: Record<string, number>;
  ms: number;
  slowestMs: number;
}

/** A parse slower than this is reported: the files are a few kB. */
const SLOW_MS = 1000;

// ------------------------------------------------------------------ the files

/** A JSON object as its pairs, so that an edit can repeat a key or use any name. */
class Obj {
  constructor(public pairs: [string, unknown][]) {}
  get(key: string): unknown {
    for (let i = this.pairs.length - 1; i >= 0; i--) if (this.pairs[i][0] === key) return this.pairs[i][1];
    return undefined;
  }
  set(key: string, value: unknown): void {
    let found = false;
    for (const p of this.pairs) if (p[0] === key) (p[1] = value), (found = true);
    if (!found) this.pairs.push([key, value]);
  }
}

function toObj(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(toObj);
  if (v !== null && typeof v === 'object' && !(v instanceof Obj)) return new Obj(Object.entries(v).map(([k, x]) => [k, toObj(x)]));
  return v;
}

function clone(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(clone);
  if (v instanceof Obj) return new Obj(v.pairs.map(([k, x]) => [k, clone(x)]));
  return v;
}

function serialize(v: unknown): string {
  if (v instanceof Obj) return `{${v.pairs.map(([k, x]) => `${JSON.stringify(k)}:${serialize(x)}`).join(',')}}`;
  if (Array.isArray(v)) return `[${v.map(serialize).join(',')}]`;
  return JSON.stringify(v) ?? 'null';
}

interface Base {
  name: string;
  bytes: Uint8Array;
  header: Obj;
  data: Uint8Array;
}

function loadBases(): Base[] {
  return ['linformer-f32.safetensors', 'linformer-f16.safetensors', 'linformer-bf16.safetensors'].map((name) => {
    const bytes = new Uint8Array(readFileSync(goldenDir + name));
    const { header, data } = splitSafetensors(bytes);
    return { name, bytes, header: toObj(header) as Obj, data: data.slice() };
  });
}

// ------------------------------------------------------------------ mutations

type HeaderEdit =
  | { kind: 'offset'; tensor: number; which: 0 | 1; delta: number }
  | { kind: 'offsetValue'; tensor: number; which: 0 | 1; value: unknown }
  | { kind: 'offsets'; tensor: number; value: unknown }
  | { kind: 'shift'; tensor: number; delta: number }
  | { kind: 'swap'; a: number; b: number }
  | { kind: 'dtype'; tensor: number; value: unknown }
  | { kind: 'shapeEntry'; tensor: number; index: number; value: unknown }
  | { kind: 'shapeDelta'; tensor: number; index: number; delta: number }
  | { kind: 'shape'; tensor: number; value: unknown }
  | { kind: 'entry'; tensor: number; value: unknown }
  | { kind: 'copyEntry'; tensor: number; key: string; shift: number }
  | { kind: 'deleteKey'; level: 0 | 1 | 2; tensor: number; index: number }
  | { kind: 'addKey'; level: 0 | 1 | 2; tensor: number; key: string; value: unknown };

type TextEdit = { kind: 'text'; at: number; remove: number; insert: string } | { kind: 'garbage'; bytes: Uint8Array };

type ByteEdit =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'setByte'; at: number; value: number }
  | { kind: 'truncate'; keep: number }
  | { kind: 'cut'; bytes: number }
  | { kind: 'extend'; bytes: Uint8Array }
  | { kind: 'length'; value: bigint }
  | { kind: 'lengthDelta'; delta: number };

interface Mutation {
  file: number;
  header: HeaderEdit[];
  text: TextEdit[];
  bytes: ByteEdit[];
}

const DTYPES = ['BOOL', 'F4', 'F6_E2M3', 'F6_E3M2', 'U8', 'I8', 'F8_E5M2', 'F8_E4M3', 'F8_E8M0', 'F8_E4M3FNUZ', 'F8_E5M2FNUZ', 'I16', 'U16', 'F16', 'BF16', 'I32', 'U32', 'F32', 'C64', 'F64', 'I64', 'U64'];

const weird: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer({ min: -300, max: 6000 }),
  fc.constantFrom(-0, 0.5, -1, 2 ** 31, 2 ** 32, 2 ** 53 - 1, 2 ** 53, 2 ** 64, 1e21, 1e300),
  fc.double(),
  fc.string({ maxLength: 8 }),
  fc.constantFrom(null, true, false),
  fc.array(fc.integer({ min: -2, max: 2000 }), { maxLength: 4 }),
  fc.jsonValue({ maxDepth: 2 }),
);

const index = fc.nat({ max: 1000 });
const plausibleEntry = fc.record({
  dtype: fc.constantFrom(...DTYPES),
  shape: fc.array(fc.nat({ max: 6 }), { maxLength: 3 }),
  data_offsets: fc.tuple(fc.nat({ max: 5000 }), fc.nat({ max: 5000 })),
});
const keyName = fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom('__metadata__', 'bias_e', 'dtype', 'shape', 'data_offsets', '__proto__', 'constructor', 'format'));

const headerEdit: fc.Arbitrary<HeaderEdit> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('offset' as const), tensor: index, which: fc.constantFrom(0 as const, 1 as const), delta: fc.integer({ min: -40, max: 40 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('offsetValue' as const), tensor: index, which: fc.constantFrom(0 as const, 1 as const), value: weird }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('offsets' as const), tensor: index, value: weird }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('shift' as const), tensor: index, delta: fc.integer({ min: -40, max: 40 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('swap' as const), a: index, b: index }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('dtype' as const), tensor: index, value: fc.oneof(fc.constantFrom(...DTYPES, 'F33', 'f32', 'constructor', '__proto__', 'toString', ''), weird) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('shapeEntry' as const), tensor: index, index, value: weird }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('shapeDelta' as const), tensor: index, index, delta: fc.integer({ min: -3, max: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('shape' as const), tensor: index, value: weird }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('entry' as const), tensor: index, value: fc.oneof(weird, plausibleEntry) }) },
  // a second name for a tensor's bytes (or bytes next to them): the aliasing a reader must refuse
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('copyEntry' as const), tensor: index, key: keyName, shift: fc.oneof(fc.constant(0), fc.integer({ min: -40, max: 40 })) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('deleteKey' as const), level: fc.constantFrom(0 as const, 1 as const, 2 as const), tensor: index, index }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('addKey' as const), level: fc.constantFrom(0 as const, 1 as const, 2 as const), tensor: index, key: keyName, value: fc.oneof(weird, plausibleEntry, fc.string({ maxLength: 4 })) }) },
);

const textEdit: fc.Arbitrary<TextEdit> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('text' as const),
      at: fc.nat(),
      remove: fc.nat({ max: 4 }),
      insert: fc.oneof(
        fc.string({ unit: fc.constantFrom('{', '}', '[', ']', ':', ',', '"', '\\', '-', '.', 'e', '0', '1', '9', ' ', 'a', 'é', '\u0000', '\ud800'), maxLength: 4 }),
        fc.string({ unit: 'binary', maxLength: 3 }),
      ),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('garbage' as const), bytes: fc.uint8Array({ maxLength: 64 }) }) },
);

const byteEdit: fc.Arbitrary<ByteEdit> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('flip' as const), at: fc.oneof(fc.nat({ max: 800 }), fc.nat()), bit: fc.nat({ max: 7 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('setByte' as const), at: fc.oneof(fc.nat({ max: 800 }), fc.nat()), value: fc.nat({ max: 255 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('truncate' as const), keep: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('cut' as const), bytes: fc.integer({ min: 1, max: 16 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('extend' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 32 }) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('length' as const),
      value: fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.constantFrom(0n, 1n, 2n, 7n, 8n, 100_000_000n, 100_000_001n, 2n ** 53n, 2n ** 63n, 2n ** 64n - 1n)),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('lengthDelta' as const), delta: fc.integer({ min: -16, max: 16 }) }) },
);

const mutation: fc.Arbitrary<Mutation> = fc.record({
  file: fc.nat({ max: 2 }),
  header: fc.array(headerEdit, { maxLength: 3 }),
  text: fc.oneof({ weight: 4, arbitrary: fc.constant<TextEdit[]>([]) }, { weight: 1, arbitrary: fc.array(textEdit, { minLength: 1, maxLength: 2 }) }),
  bytes: fc.array(byteEdit, { maxLength: 2 }),
});

const tensorEntries = (h: Obj) => h.pairs.filter(([k]) => k !== '__metadata__');

function applyHeaderEdit(h: Obj, e: HeaderEdit): void {
  const entries = tensorEntries(h);
  if (e.kind === 'deleteKey' && e.level === 0) {
    if (h.pairs.length) h.pairs.splice(e.index % h.pairs.length, 1);
    return;
  }
  if (e.kind === 'addKey' && e.level === 0) {
    h.pairs.push([e.key, toObj(e.value)]);
    return;
  }
  if (e.kind === 'deleteKey' || e.kind === 'addKey') {
    const target = e.level === 2 ? h.get('__metadata__') : entries.length ? entries[e.tensor % entries.length][1] : undefined;
    if (!(target instanceof Obj)) return;
    if (e.kind === 'deleteKey') {
      if (target.pairs.length) target.pairs.splice(e.index % target.pairs.length, 1);
    } else target.pairs.push([e.key, toObj(e.value)]);
    return;
  }
  if (!entries.length) return;
  if (e.kind === 'swap') {
    const [a, b] = [entries[e.a % entries.length][1], entries[e.b % entries.length][1]];
    if (a instanceof Obj && b instanceof Obj) {
      const [oa, ob] = [a.get('data_offsets'), b.get('data_offsets')];
      a.set('data_offsets', ob);
      b.set('data_offsets', oa);
    }
    return;
  }
  const pair = entries[e.tensor % entries.length];
  if (e.kind === 'entry') {
    pair[1] = toObj(e.value);
    return;
  }
  if (e.kind === 'copyEntry') {
    const copy = clone(pair[1]);
    const offsets = copy instanceof Obj ? copy.get('data_offsets') : undefined;
    if (Array.isArray(offsets) && typeof offsets[0] === 'number' && typeof offsets[1] === 'number') {
      offsets[0] += e.shift;
      offsets[1] += e.shift;
    }
    h.pairs.push([e.key, copy]);
    return;
  }
  const entry = pair[1];
  if (!(entry instanceof Obj)) return;
  const offsets = entry.get('data_offsets');
  const shape = entry.get('shape');
  switch (e.kind) {
    case 'offset':
      if (Array.isArray(offsets) && typeof offsets[e.which] === 'number') offsets[e.which] += e.delta;
      break;
    case 'offsetValue':
      if (Array.isArray(offsets)) offsets[e.which] = e.value;
      break;
    case 'offsets':
      entry.set('data_offsets', toObj(e.value));
      break;
    case 'shift':
      if (Array.isArray(offsets) && typeof offsets[0] === 'number' && typeof offsets[1] === 'number') {
        offsets[0] += e.delta;
        offsets[1] += e.delta;
      }
      break;
    case 'dtype':
      entry.set('dtype', toObj(e.value));
      break;
    case 'shapeEntry':
      if (Array.isArray(shape)) shape[shape.length ? e.index % (shape.length + 1) : 0] = toObj(e.value);
      break;
    case 'shapeDelta':
      if (Array.isArray(shape) && shape.length && typeof shape[e.index % shape.length] === 'number') shape[e.index % shape.length] += e.delta;
      break;
    case 'shape':
      entry.set('shape', toObj(e.value));
      break;
  }
}

const encoder = new TextEncoder();

function build(m: Mutation, bases: Base[]): Uint8Array {
  const base = bases[m.file];
  let file: Uint8Array;
  if (!m.header.length && !m.text.length) {
    file = base.bytes.slice();
  } else {
    const h = clone(base.header) as Obj;
    for (const e of m.header) applyHeaderEdit(h, e);
    let text = pad(serialize(h));
    let headerBytes: Uint8Array | null = null;
    for (const e of m.text) {
      if (e.kind === 'garbage') {
        headerBytes = e.bytes;
        continue;
      }
      const at = e.at % (text.length + 1);
      text = text.slice(0, at) + e.insert + text.slice(at + e.remove);
      headerBytes = null;
    }
    file = assemble(headerBytes ?? encoder.encode(text), base.data);
  }
  for (const e of m.bytes) file = applyByteEdit(file, e);
  return file;
}

function applyByteEdit(file: Uint8Array, e: ByteEdit): Uint8Array {
  const n = file.length;
  switch (e.kind) {
    case 'flip':
      if (n) file[e.at % n] ^= 1 << e.bit;
      return file;
    case 'setByte':
      if (n) file[e.at % n] = e.value;
      return file;
    case 'truncate':
      return file.slice(0, e.keep % (n + 1));
    case 'cut':
      return file.slice(0, Math.max(0, n - e.bytes));
    case 'extend': {
      const out = new Uint8Array(n + e.bytes.length);
      out.set(file);
      out.set(e.bytes, n);
      return out;
    }
    case 'length':
    case 'lengthDelta': {
      if (n < 8) return file;
      const view = new DataView(file.buffer, file.byteOffset, 8);
      const value = e.kind === 'length' ? e.value : view.getBigUint64(0, true) + BigInt(e.delta);
      view.setBigUint64(0, BigInt.asUintN(64, value), true);
      return file;
    }
  }
}

function describeMutation(m: Mutation): string {
  return JSON.stringify(m, (_, v) => (typeof v === 'bigint' ? `${v}n` : v instanceof Uint8Array ? `bytes ${Buffer.from(v).toString('hex')}` : v instanceof Obj ? Object.fromEntries(v.pairs) : v));
}

// ------------------------------------------------------------------ the oracle

const READ = new Set(['F32', 'F16', 'BF16']);

/** What is wrong with a successful parse, read again independently; null if nothing. */
function checkParsed(file: Uint8Array, tensors: Map<string, OutputTensor>): string | null {
  if (!(tensors instanceof Map)) return 'parseSafetensors returned something other than a Map';
  if (file.length < 8) return `parsed a file of ${file.length} bytes`;
  const n = new DataView(file.buffer, file.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(file.length - 8)) return `parsed a file whose header length ${n} runs past its end`;
  const dataStart = 8 + Number(n);
  const dataLength = file.length - dataStart;
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(file.subarray(8, dataStart)));
  } catch {
    return 'parsed a header that is not UTF-8 JSON';
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) return 'parsed a header that is not an object';
  const h = header as Record<string, any>;
  if ('__metadata__' in h) {
    const meta = h.__metadata__;
    if (meta === null || typeof meta !== 'object' || Array.isArray(meta) || Object.values(meta).some((v) => typeof v !== 'string')) {
      return `parsed a header whose __metadata__ is ${JSON.stringify(meta)}`;
    }
  }
  const names = Object.keys(h).filter((k) => k !== '__metadata__');
  if (tensors.size !== names.length) return `returned ${tensors.size} tensors, the header has ${names.length}`;
  const ranges: [number, number][] = [];
  for (const name of names) {
    const t = tensors.get(name);
    const entry = h[name];
    if (!t) return `tensor '${name}' of the header is not returned`;
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) return `returned tensor '${name}' whose entry is ${JSON.stringify(entry)}`;
    const { dtype, shape, data_offsets: offsets } = entry;
    if (!Array.isArray(offsets) || offsets.length !== 2) return `returned tensor '${name}' with data_offsets ${JSON.stringify(offsets)}`;
    const [b, e] = offsets;
    if (!Number.isSafeInteger(b) || !Number.isSafeInteger(e) || b < 0 || b > e || e > dataLength) {
      return `returned tensor '${name}' with data_offsets ${JSON.stringify(offsets)}, outside the data section [0, ${dataLength}]`;
    }
    if (!READ.has(dtype)) return `returned tensor '${name}' of dtype ${JSON.stringify(dtype)}`;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) return `returned tensor '${name}' of shape ${JSON.stringify(shape)}`;
    if (!(t.data instanceof Float32Array)) return `tensor '${name}' data is not a Float32Array`;
    if (t.data.buffer === file.buffer) return `tensor '${name}' aliases the file's bytes`;
    if (!Array.isArray(t.dims) || t.dims.length !== shape.length || t.dims.some((d, i) => d !== shape[i])) return `tensor '${name}' dims ${JSON.stringify(t.dims)}, header shape ${JSON.stringify(shape)}`;
    if (t.data.length !== shape.reduce((a: number, d: number) => a * d, 1)) return `tensor '${name}' has ${t.data.length} elements for shape ${JSON.stringify(shape)}`;
    if (!sameFloats(t.data, decodeFloats(dtype, file.subarray(dataStart + b, dataStart + e)))) return `tensor '${name}' values are not the bytes at [${b}, ${e})`;
    ranges.push([b, e]);
  }
  ranges.sort((p, q) => p[0] - q[0] || p[1] - q[1]);
  let cursor = 0;
  for (const [b, e] of ranges) {
    if (b !== cursor) return `accepted data_offsets that ${b < cursor ? 'overlap' : 'leave a gap'} at byte ${cursor} of the data`;
    cursor = e;
  }
  if (cursor !== dataLength) return `accepted tensors covering ${cursor} of ${dataLength} data bytes`;
  return null;
}

const isEngineSafe = (e: unknown) => e instanceof Error && (e.constructor === TypeError || e.constructor === RangeError);
const errorText = (e: unknown) => (e instanceof Error ? `${e.constructor.name}: ${e.message}` : `non-Error ${String(e)}`);

function sameDict(a: Record<string, OutputTensor>, b: Record<string, OutputTensor>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => b[k] && sameFloats(a[k].data, b[k].data) && a[k].dims.join() === b[k].dims.join());
}

/** A message cut to its rule: names, values and numbers blanked. */
function reasonOf(message: string): string {
  return message
    .slice('safetensors: '.length)
    .replace(/(, found |; |not valid JSON).*$/s, (m) => (m.startsWith('not') ? 'not valid JSON' : ''))
    .replace(/'.*?'(?= |$)/g, '…')
    .replace(/"(?:[^"\\]|\\.)*"/g, '…')
    .replace(/\(.*?\)|\[.*?[\])]/g, '#')
    .replace(/(?<![A-Za-z_-])-?\d+(?:\.\d+)?(?:e[+-]?\d+)?/gi, 'N')
    .slice(0, 80);
}

class Harness {
  counts: FuzzCounts = { runs: 0, parsed: 0, rejected: 0, loaded: 0, loadRejected: 0 };
  slowestMs = 0;
  reasons = new Map<string, number>();
  constructor(private module: LinearMultiheadAttention) {}

  /** Runs one file; returns what is wrong, or null. */
  examine(file: Uint8Array, count: boolean): string | null {
    const before = file.slice();
    let tensors: Map<string, OutputTensor> | undefined;
    let error: unknown;
    let threw = false;
    const t0 = performance.now();
    try {
      tensors = parseSafetensors(file);
    } catch (e) {
      threw = true;
      error = e;
    }
    const ms = performance.now() - t0;
    if (count) this.slowestMs = Math.max(this.slowestMs, ms);
    if (ms > SLOW_MS) return `parseSafetensors took ${ms.toFixed(0)} ms`;
    if (!sameBytes(file, before)) return 'parseSafetensors changed the file';
    if (threw) {
      if (!isEngineSafe(error)) return `parseSafetensors threw ${errorText(error)}`;
      if (!(error as Error).message.startsWith('safetensors: ')) return `parseSafetensors threw ${errorText(error)} (no "safetensors: ")`;
      if (count) {
        this.counts.rejected++;
        const reason = reasonOf((error as Error).message);
        this.reasons.set(reason, (this.reasons.get(reason) ?? 0) + 1);
      }
      return null;
    }
    const wrong = checkParsed(file, tensors!);
    if (wrong) return wrong;
    if (count) this.counts.parsed++;

    const weights = this.module.stateDict();
    try {
      this.module.loadStateDict(file);
    } catch (e) {
      if (!isEngineSafe(e)) return `loadStateDict threw ${errorText(e)}`;
      if (!sameDict(weights, this.module.stateDict())) return `a failed loadStateDict (${errorText(e)}) changed the weights`;
      if (!sameBytes(file, before)) return 'loadStateDict changed the file';
      if (count) this.counts.loadRejected++;
      return null;
    }
    if (count) this.counts.loaded++;
    for (const [k, t] of Object.entries(this.module.stateDict())) {
      const p = tensors!.get(k);
      if (!p || !sameFloats(p.data, t.data)) return `after loadStateDict, '${k}' is not the parsed tensor`;
    }
    return null;
  }
}

/** Runs `runs` mutated files from `seed`; needs init() to have run. */
export function fuzzSafetensors({ runs, seed, onProgress, progressEvery = 100_000 }: FuzzOptions): FuzzResult {
  const bases = loadBases();
  const spec = loadGolden<GoldenCase>('safetensors.json').cases[0].modules[0];
  const module = new LinearMultiheadAttention(spec.embedDim, spec.numHeads, spec.options as { seqLen: number });
  module.loadStateDict(bases[0].bytes);
  const harness = new Harness(module);
  const failures: FuzzFailure[] = [];
  const t0 = performance.now();
  try {
    const details = fc.check(
      fc.property(mutation, (m) => {
        // Shrinking re-runs the property; only the first pass is counted.
        const counting = failures.length === 0;
        const problem = harness.examine(build(m, bases), counting);
        if (counting) {
          harness.counts.runs++;
          if (problem) failures.push({ problem, mutation: describeMutation(m), seed });
          else if (onProgress && harness.counts.runs % progressEvery === 0) onProgress({ ...harness.counts });
        }
        return problem === null;
      }),
      { numRuns: runs, seed },
    );
    if (details.failed && details.counterexample) {
      const [m] = details.counterexample;
      const problem = harness.examine(build(m, bases), false) ?? (details.errorInstance ? errorText(details.errorInstance) : 'failed');
      failures.push({ problem, mutation: describeMutation(m), shrunk: true, seed, path: details.counterexamplePath ?? undefined });
    } else if (details.failed) {
      failures.push({ problem: 'fast-check failed without a counterexample', mutation: '', seed });
    }
  } finally {
    module.dispose();
  }
  const reasons = Object.fromEntries([...harness.reasons].sort((a, b) => b[1] - a[1]));
  return { ...harness.counts, failures, reasons, ms: performance.now() - t0, slowestMs: harness.slowestMs };
}
