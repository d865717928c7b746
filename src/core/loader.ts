import { hasRelaxedSimd, hasSimd } from './features.js';
import { envValue } from '../env.js';
import { measureGemmTile, type GemmTile } from './gemm-tile.js';
import { Heap } from './heap.js';
import type { Kernels } from './kernels.js';
import { checkArgument, rule } from './options.js';
import type { SpawnWorker } from '../threads/pool.js';
import { MAX_THREADS } from '../threads/control.js';
import { noThreads, startThreads, threadsHoldMemory, threadsInUse, threadsUnavailable } from '../threads/threads.js';

// One loader with explicit states. init() moves uninitialised → loading →
// ready (or failed, after which init may be tried again); a second init()
// while loading or ready returns the same promise and does nothing more.

// WasmSource names WebAssembly.Module and URL, which a consumer's program
// has from lib.dom or @types/node (URL only, in Node 20's), or not at all with
// lib es2022 alone. Empty interfaces merge with theirs without changing them
// and declare no values, so the declarations compile in every such program.
declare global {
  namespace WebAssembly {
    /** A compiled wasm module (lib.dom's `WebAssembly.Module` where present). */
    interface Module {}
  }
  /** A URL (lib.dom's or Node's where present). */
  interface URL {}
}

/** Where the wasm core can come from. */
export type WasmSource =
  | WebAssembly.Module
  | URL
  | string
  | ArrayBuffer
  | ArrayBufferView
  | ResponseLike
  | PromiseLike<ResponseLike>;

/** What init() needs of a fetch() Response. */
export interface ResponseLike {
  readonly ok: boolean;
  readonly status: number;
  readonly url: string;
  arrayBuffer(): Promise<ArrayBuffer>;
}

/** The builds of the core, for loaders that can choose between them. */
export interface WasmBuilds {
  /** The plain SIMD build (linformer.wasm). */
  simd: WasmSource;
  /** The relaxed-SIMD build (linformer-relaxed.wasm), used where the engine validates it. */
  relaxed?: WasmSource;
  /** The plain SIMD build over shared memory (linformer-threads.wasm), for numThreads > 1. */
  simdThreads?: WasmSource;
  /** The relaxed-SIMD build over shared memory (linformer-relaxed-threads.wasm), for numThreads > 1. */
  relaxedThreads?: WasmSource;
}

/** Where init() stands: not called, under way, done, or failed (it may then be called again). */
export type LoaderState = 'uninitialised' | 'loading' | 'ready' | 'failed';

/** What init() settled on. */
export interface BackendInfo {
  /** 'relaxed-simd' when the relaxed build runs, else 'simd'. */
  build: 'simd' | 'relaxed-simd';
  /** Whether this engine validates relaxed SIMD at all. */
  relaxedSimdAvailable: boolean;
  /**
   * Why the plain SIMD build runs although the relaxed one was chosen, or
   * null. When init() picks the relaxed build from a pair of builds (no
   * argument, or `{ simd, relaxed }`) and it cannot be fetched or compiled,
   * init() runs the plain build instead and says why here, e.g.
   * `"linformer-relaxed.wasm: HTTP 404; running the plain SIMD build"`:
   * copy linformer-relaxed.wasm beside linformer.wasm to get the faster build.
   */
  buildFallback: string | null;
  /**
   * The GEMM register tile in use: '4x8', or '6x8' where init() timed it
   * faster (engines whose compiler keeps its twelve accumulators in
   * registers; relaxed-SIMD build only). Both give the same bits. See
   * env.gemmTile.
   */
  gemmTile: GemmTile;
  /** Threads that run each call, the calling thread included: numThreads, or 1 where threads cannot run. */
  threads: number;
  /**
   * Why fewer threads run than init() was asked for, or null: e.g. "page
   * not cross-origin isolated: serve it with COOP/COEP headers", "this
   * runtime has no Worker", or a worker that could not start.
   */
  threadsUnavailable: string | null;
}

/** How a runtime entry turns a source into bytes or a module, finds the default, and starts workers. */
export interface Platform {
  /** The builds beside the package, for init() with no argument. */
  defaultBuilds(): WasmBuilds;
  /** Reads a URL or path that is not a WebAssembly.Module. */
  fetchBytes(source: URL | string): Promise<ArrayBuffer | Uint8Array>;
  /** Why this runtime cannot run worker threads over shared memory, or null if it can. */
  threadSupport(): string | null;
  /** Starts one worker (threads/worker-loop.ts) of this runtime. */
  spawnWorker: SpawnWorker;
  /** Logical cores, for the default numThreads. */
  cores(): number;
}

let state: LoaderState = 'uninitialised';
let pending: Promise<void> | null = null;
let heap: Heap | null = null;
/** The compiled core and the tile init() chose, kept to start a fresh instance after the last one was dropped. */
let compiled: WebAssembly.Module | null = null;
/** Whether `compiled` is a threaded build, which imports a shared memory. */
let compiledShared = false;
let gemmTile: GemmTile = '4x8';
let info: Omit<BackendInfo, 'threads' | 'threadsUnavailable'> | null = null;
/** A numThreads that could not be had is warned about once per process. */
let warnedThreads = false;
let platform: Platform | null = null;

/** Set once by the runtime entry (index.node.ts, index.browser.ts). */
export function setPlatform(p: Platform): void {
  platform = p;
}

export function loaderState(): LoaderState {
  return state;
}

/**
 * A memory that has grown past this is given back when nothing is left in
 * it: the instance and its memory are dropped, and the next use starts a new
 * one of one page (wasm memories cannot shrink).
 */
const DROP_EMPTY_MEMORY_ABOVE = 4 * 1024 * 1024;

/** The ready heap, or a clear error when init() has not completed. */
export function getHeap(): Heap {
  if (heap) return heap;
  if (state === 'ready' && compiled) return (heap = instantiate(compiled, compiledShared));
  const why =
    state === 'loading'
      ? 'init() has not finished: await it before using the package'
      : state === 'failed'
        ? 'init() failed: call init() again'
        : 'call `await init()` before using the package';
  throw new Error(`linformer-wasm is not initialised: ${why}`);
}

export function backendInfo(): BackendInfo {
  getHeap();
  return { ...info!, threads: threadsInUse(), threadsUnavailable: threadsUnavailable() };
}

function isBuilds(source: unknown): source is WasmBuilds {
  return (
    typeof source === 'object' &&
    source !== null &&
    'simd' in source &&
    !(source instanceof URL) &&
    !(source instanceof WebAssembly.Module)
  );
}

/** Options for init(). */
export interface InitOptions {
  /**
   * Use the relaxed-SIMD build when the engine validates it and one is known.
   * @defaultValue true
   */
  relaxedSimd?: boolean;
  /**
   * Threads for each call, the calling thread included, as onnxruntime-web's
   * env.wasm.numThreads: workers over one shared memory where the runtime
   * allows them (Node, Bun, Deno, cross-origin isolated pages); elsewhere
   * one thread, with the reason in backendInfo().threadsUnavailable. 1
   * keeps to the calling thread. Results are the same bits for any number.
   * @defaultValue min(4, ceil(cores / 2)), as onnxruntime-web
   */
  numThreads?: number;
}

const INIT_OPTIONS_RULE = rule.integerIn(1, MAX_THREADS);

/** The memory of a threaded build: shared, and with the maximum shared memories must declare (all of wasm32's 4 GiB). */
const SHARED_MAXIMUM_PAGES = 65536;

/**
 * Loads and instantiates the wasm core. With no argument it finds the builds
 * beside the package (a file in Node, a URL beside the bundle in browsers);
 * otherwise give a URL, bytes, a `Response`, a precompiled
 * `WebAssembly.Module` (edge workers, which forbid compiling bytes), or
 * `{ simd, relaxed }` for both builds. A second call is a no-op.
 */
export function init(source?: WasmSource | WasmBuilds, options: InitOptions = {}): Promise<void> {
  if (pending && state !== 'failed') return pending;
  state = 'loading';
  pending = load(source, options).then(
    () => {
      state = 'ready';
    },
    (e) => {
      state = 'failed';
      throw e;
    },
  );
  return pending;
}

async function load(source: WasmSource | WasmBuilds | undefined, options: InitOptions): Promise<void> {
  if (typeof WebAssembly !== 'object') {
    throw new Error('linformer-wasm: this runtime has no WebAssembly');
  }
  if (!hasSimd()) {
    throw new Error(
      'linformer-wasm: this WebAssembly engine does not support SIMD (fixed-width 128-bit SIMD is required; ' +
        'Node.js ≥ 16.4, Chrome ≥ 91, Firefox ≥ 89, Safari ≥ 16.4)',
    );
  }
  const p = platformOrThrow();
  const asked = options.numThreads !== undefined;
  const wanted = asked ? (checkArgument('init', 'numThreads', INIT_OPTIONS_RULE, options.numThreads) as number) : defaultThreads(p);
  const relaxedAvailable = hasRelaxedSimd();
  const wantRelaxed = relaxedAvailable && options.relaxedSimd !== false;
  const builds = source === undefined || isBuilds(source) ? (source ?? p.defaultBuilds()) : null;
  // Where threads cannot run, the default is one thread, but the reason is still told.
  let threadsReason = wanted > 1 ? p.threadSupport() : null;
  const numThreads = threadsReason === null ? wanted : 1;
  let chosen: { module: WebAssembly.Module; buildFallback: string | null; shared: boolean } | null = null;
  if (builds && numThreads > 1 && threadsReason === null) {
    if (builds.simdThreads === undefined) threadsReason = 'init() was given no threaded build (simdThreads, relaxedThreads); running one thread';
    else {
      try {
        chosen = { ...(await pickBuild(wantRelaxed ? builds.relaxedThreads : undefined, builds.simdThreads, relaxedAvailable)), shared: true };
      } catch (e) {
        threadsReason = `${fileName(builds.simdThreads, 'the threaded build')}: ${shortReason(e)}; running one thread`;
      }
    }
  }
  if (chosen === null && builds) {
    chosen = { ...(await pickBuild(wantRelaxed ? builds.relaxed : undefined, builds.simd, relaxedAvailable)), shared: false };
  } else if (chosen === null) {
    const module = await compile(source as WasmSource, relaxedAvailable);
    const shared = isThreadedBuild(module);
    if (!shared && numThreads > 1 && threadsReason === null) {
      threadsReason = 'init() was given a single-thread build: give it linformer-threads.wasm, or { simd, relaxed, simdThreads, relaxedThreads }, to run threads';
    }
    chosen = { module, buildFallback: null, shared };
  }
  compiled = chosen.module;
  compiledShared = chosen.shared;
  const h = instantiate(chosen.module, chosen.shared);
  const build = h.kernels.uses_relaxed_simd() ? 'relaxed-simd' : 'simd';
  const wantedTile = envValue('gemmTile');
  gemmTile = wantedTile !== 'auto' ? wantedTile : build === 'simd' ? '4x8' : h.call('init', () => measureGemmTile(h));
  h.kernels.set_gemm_tile(tileRows());
  heap = h;
  info = { build, relaxedSimdAvailable: relaxedAvailable, buildFallback: chosen.buildFallback, gemmTile };
  if (numThreads > 1 && threadsReason === null) {
    await startThreads({
      module: chosen.module,
      memory: h.memory,
      threads: numThreads,
      gemmTile: tileRows(),
      spawn: p.spawnWorker,
      timeoutMs: envValue('workerTimeout'),
      spin: numThreads <= p.cores(),
    });
  } else noThreads(threadsReason);
  const reason = threadsUnavailable();
  if (asked && wanted > 1 && reason !== null && !warnedThreads) {
    warnedThreads = true;
    console.warn(`linformer-wasm: numThreads ${wanted} asked for, running ${threadsInUse()}: ${reason}`);
  }
}

/**
 * The relaxed build where one is given and it compiles, else the plain
 * one, with the reason it was passed over (backendInfo().buildFallback).
 */
async function pickBuild(relaxed: WasmSource | undefined, simd: WasmSource, relaxedAvailable: boolean) {
  if (relaxed === undefined) return { module: await compile(simd, relaxedAvailable), buildFallback: null };
  try {
    return { module: await compile(relaxed, relaxedAvailable), buildFallback: null };
  } catch (e) {
    // The plain build computes the same numbers, a little slower: a
    // relaxed file left out of a deployment should not stop the page.
    const buildFallback = `${fileName(relaxed, 'the relaxed build')}: ${shortReason(e)}; running the plain SIMD build`;
    return { module: await compile(simd, relaxedAvailable), buildFallback };
  }
}

/** onnxruntime-web's default: half the logical cores (one per physical core, roughly), at most 4. */
function defaultThreads(p: Platform): number {
  return Math.max(1, Math.min(4, Math.ceil(p.cores() / 2)));
}

function tileRows(): number {
  return gemmTile === '6x8' ? 6 : 4;
}

/** Whether a module imports a shared memory (a threaded build): it links with one. */
function isThreadedBuild(module: WebAssembly.Module): boolean {
  if (typeof SharedArrayBuffer === 'undefined') return false;
  try {
    new WebAssembly.Instance(module, { env: { memory: new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true }) } });
    return true;
  } catch {
    return false;
  }
}

/**
 * A new instance of the core over a new one-page memory, and its heap, which
 * lets go of both once it is empty and large. The module is small, so the
 * synchronous instantiation is allowed everywhere, browsers' main threads
 * and edge workers included.
 */
function instantiate(module: WebAssembly.Module, shared: boolean): Heap {
  const memory = shared ? new WebAssembly.Memory({ initial: 1, maximum: SHARED_MAXIMUM_PAGES, shared: true }) : new WebAssembly.Memory({ initial: 1 });
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  const h = new Heap(memory, instance.exports as unknown as Kernels);
  h.kernels.set_gemm_tile(tileRows());
  // Workers keep the memory they were given: it is dropped only without them.
  h.onEmpty = () => {
    if (heap === h && !threadsHoldMemory() && h.memory.buffer.byteLength > DROP_EMPTY_MEMORY_ABOVE) heap = null;
  };
  return h;
}

async function compile(source: WasmSource, relaxedAvailable: boolean): Promise<WebAssembly.Module> {
  try {
    return await toModule(source);
  } catch (e) {
    if (!(e instanceof WebAssembly.CompileError)) throw e;
    const hint = relaxedAvailable ? '' : ' (this engine has no relaxed SIMD: give it linformer.wasm, not linformer-relaxed.wasm)';
    throw new Error(`linformer-wasm: the wasm could not be compiled${hint}: ${e.message}`, { cause: e });
  }
}

/** The file a source names (`linformer-relaxed.wasm`), or `otherwise` for bytes and modules. */
function fileName(source: WasmSource, otherwise: string): string {
  const where = typeof source === 'string' ? source : source instanceof URL ? source.pathname : isResponseLike(source) ? source.url : '';
  return where.split(/[\\/]/).filter(Boolean).pop() ?? otherwise;
}

function isResponseLike(source: WasmSource): source is ResponseLike {
  return typeof source === 'object' && source !== null && 'ok' in source && 'url' in source;
}

/**
 * An Error for a build that could not be had, carrying the few words
 * backendInfo().buildFallback quotes ("HTTP 404", "file not found").
 */
export function fetchFailure(message: string, reason: string, cause?: unknown): Error {
  return Object.assign(new Error(message, cause === undefined ? undefined : { cause }), { reason });
}

function shortReason(e: unknown): string {
  const { reason, message } = (e ?? {}) as { reason?: unknown; message?: unknown };
  if (typeof reason === 'string') return reason;
  return String(message ?? e).replace(/^linformer-wasm: /, '');
}

function platformOrThrow(): Platform {
  if (!platform) throw new Error('linformer-wasm: no default wasm location in this runtime; pass init(source)');
  return platform;
}

async function toModule(source: WasmSource): Promise<WebAssembly.Module> {
  if (source instanceof WebAssembly.Module) return source;
  if (source instanceof ArrayBuffer || ArrayBuffer.isView(source)) {
    return WebAssembly.compile(asBytes(source));
  }
  if (typeof source === 'string' || source instanceof URL) {
    return compileFetched(asBytes(await platformOrThrow().fetchBytes(source)), String(source));
  }
  const response = await source;
  if (!response.ok) {
    throw fetchFailure(`linformer-wasm: fetching the wasm failed: HTTP ${response.status} ${response.url}`, `HTTP ${response.status}`);
  }
  return compileFetched(new Uint8Array(await response.arrayBuffer()), response.url);
}

/**
 * Compiles fetched bytes. A server without the file often answers 200 with
 * a page of its own (a single-page app's index.html): say so, rather than
 * leave the compiler's "expected magic word" to be decoded.
 */
function compileFetched(bytes: Uint8Array<ArrayBuffer>, where: string): Promise<WebAssembly.Module> {
  const first = bytes.find((b) => b !== 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d && b !== 0xef && b !== 0xbb && b !== 0xbf);
  if (first === 0x3c /* '<' */) {
    throw fetchFailure(
      `linformer-wasm: ${where} is an HTML page, not wasm: the server has no wasm file there and sent a page instead; ` +
        'serve linformer.wasm and linformer-relaxed.wasm at that URL, or pass init() the URLs where they are',
      'an HTML page, not wasm',
    );
  }
  return WebAssembly.compile(bytes);
}

function asBytes(source: ArrayBuffer | ArrayBufferView): Uint8Array<ArrayBuffer> {
  if (source instanceof ArrayBuffer) return new Uint8Array(source);
  return new Uint8Array(source.buffer as ArrayBuffer, source.byteOffset, source.byteLength);
}
