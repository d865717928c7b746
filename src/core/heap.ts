import type { Kernels } from './kernels.js';

// The heap owns every byte of the wasm memory past the module's static data.
// Long-lived buffers (packed weights) come from a first-fit free list; a
// call's temporaries come from one scratch region that lives for that call
// only and goes back to the free list when it ends, so a large call leaves
// its memory for the weights made after it. Only offsets cross into wasm;
// typed-array views are re-made when the memory grows.
//
// Every public call runs inside call(): one at a time, since all of them
// share this memory (a getter of an argument that calls the package again
// gets an Error instead of a corrupted result), and all-or-nothing, since
// allocations either succeed or leave the heap as it was.

const PAGE = 65536;
const ALIGN = 64; // a cache line; also keeps every buffer 16-byte aligned for v128
/** wasm32 addresses 4 GiB. */
export const MAX_MEMORY_BYTES = 4 * 1024 * 1024 * 1024;

interface Block {
  ptr: number;
  size: number;
}

/**
 * Fault injection for the tests: a global switch, read on every allocation
 * and memory grow (and result array: residentFloats), that makes the n-th
 * of them fail as a full memory would.
 * `globalThis[Symbol.for('linformer-wasm.failAllocation')] = { at: n }`
 * arms it; `seen` counts the allocations and grows since it was armed.
 */
const FAULTS = Symbol.for('linformer-wasm.failAllocation');
const INJECTED = 'injected allocation failure';

function injectFault(what: string): void {
  const f = (globalThis as { [FAULTS]?: { at: number; seen?: number } })[FAULTS];
  if (f === undefined) return;
  f.seen = (f.seen ?? 0) + 1;
  if (f.seen === f.at) throw new RangeError(`${what}: ${INJECTED} (${f.at})`);
}

function isInjected(e: unknown): boolean {
  return e instanceof RangeError && e.message.includes(INJECTED);
}

function alignUp(n: number): number {
  return Math.ceil(n / ALIGN) * ALIGN;
}

/** Memory use, in bytes. */
export interface MemoryUsage {
  /** Size of the wasm linear memory. */
  wasmBytes: number;
  /** Bytes held by live buffers (weights and scratch). */
  allocatedBytes: number;
  /** Size of the scratch region: 0 between calls, since a call's temporaries are given back when it ends. */
  scratchBytes: number;
  /** Highest address ever used: the memory a run needed. */
  peakBytes: number;
}

/**
 * What the heap uses of its WebAssembly.Memory. Named structurally, so that
 * these declarations need no WebAssembly types in a consumer's program.
 */
export interface WasmMemory {
  readonly buffer: ArrayBufferLike;
  grow(delta: number): number;
}

/** The wasm memory's allocator: long-lived buffers, the scratch region, copies in and out. */
export class Heap {
  readonly memory: WasmMemory;
  readonly kernels: Kernels;
  private buffer!: ArrayBuffer;
  /** Float view of the whole memory; re-made after growth, never cache it. */
  f32!: Float32Array;
  u8!: Uint8Array;
  private top: number;
  private free: Block[] = [];
  private sizes = new Map<number, number>();
  private scratchPtr = 0;
  private scratchSize = 0;
  private allocated = 0;
  private peak: number;
  /** The public call under way (its name), or null. */
  private running: string | null = null;
  /** The smallest memory size a grow has failed to reach: larger requests fail without trying. */
  private growLimit = MAX_MEMORY_BYTES + 1;
  /** Called after a call ends with nothing allocated: the loader may drop this heap and its memory. */
  onEmpty: (() => void) | null = null;

  /** A threaded build's memory, shared with the workers. */
  readonly shared: boolean;

  constructor(memory: WasmMemory, kernels: Kernels) {
    this.memory = memory;
    this.shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
    this.kernels = kernels;
    this.top = alignUp(kernels.heap_base());
    this.peak = this.top;
    this.refresh();
  }

  /** Re-makes the views if the memory grew (its buffer is then a new object). */
  refresh(): void {
    if (this.buffer !== this.memory.buffer) {
      this.buffer = this.memory.buffer as ArrayBuffer;
      this.f32 = new Float32Array(this.buffer);
      this.u8 = new Uint8Array(this.buffer);
    }
  }

  /**
   * Runs one public call, `where` naming it. Calls cannot nest: every call
   * uses the one scratch region, so a call made while another runs (from a
   * getter or Proxy of its arguments) is an Error. When the call ends, its
   * scratch goes back to the free list.
   */
  call<T>(where: string, body: () => T): T {
    this.begin(where);
    try {
      return body();
    } finally {
      this.end();
    }
  }

  /** call()'s two halves, for a constructor, whose super() cannot move into a closure. */
  begin(where: string): void {
    if (this.running !== null) {
      throw new Error(
        `linformer-wasm: ${where} was called while ${this.running} is running (from a getter, Proxy or callback of its arguments); calls into the package cannot nest`,
      );
    }
    this.running = where;
  }

  /** The public call under way, for messages of the work it does; null between calls. */
  get callName(): string | null {
    return this.running;
  }

  end(): void {
    this.running = null;
    this.releaseScratch();
    if (this.allocated === 0) this.onEmpty?.();
  }

  /** Allocates `bytes` (aligned to 64); throws RangeError past what the memory can grow to. */
  alloc(bytes: number, what = 'buffer'): number {
    injectFault(what);
    const size = alignUp(Math.max(bytes, 1));
    for (let i = 0; i < this.free.length; i++) {
      const b = this.free[i];
      if (b.size >= size) {
        const ptr = b.ptr;
        if (b.size === size) this.free.splice(i, 1);
        else {
          b.ptr += size;
          b.size -= size;
        }
        return this.track(ptr, size);
      }
    }
    const ptr = this.top;
    this.ensure(ptr + size, what);
    this.top = ptr + size;
    this.peak = Math.max(this.peak, this.top);
    return this.track(ptr, size);
  }

  /** Allocates every size or none: if one fails, those already made are released before the error is rethrown. */
  allocAll(sizes: readonly number[], what: readonly string[]): number[] {
    const ptrs: number[] = [];
    try {
      sizes.forEach((bytes, i) => ptrs.push(this.alloc(bytes, what[i])));
    } catch (e) {
      for (const p of ptrs) this.release(p);
      throw e;
    }
    return ptrs;
  }

  /**
   * Throws the RangeError of a request that cannot fit beside what is
   * allocated now: past wasm's 4 GiB, or past a size the memory has already
   * failed to grow to. Allocates nothing.
   */
  checkFits(bytes: number, what: string): void {
    const base = alignUp(this.kernels.heap_base());
    const limit = Math.min(MAX_MEMORY_BYTES, this.growLimit - 1);
    if (base + this.allocated + bytes > limit) {
      const which = limit === MAX_MEMORY_BYTES ? "wasm's 4 GiB" : `the ${limit + 1} bytes this engine refused to grow the memory to`;
      throw new RangeError(`${what}: needs ${bytes} bytes of wasm memory, past ${which} (${this.allocated} bytes allocated)`);
    }
  }

  /** Returns a buffer from alloc() to the free list. */
  release(ptr: number): void {
    const size = this.sizes.get(ptr);
    if (size === undefined) return;
    this.sizes.delete(ptr);
    this.allocated -= size;
    if (ptr + size === this.top) {
      this.top = ptr;
      // Fold a free block that now ends at the top back into it.
      const last = this.free[this.free.length - 1];
      if (last && last.ptr + last.size === this.top) {
        this.top = last.ptr;
        this.free.pop();
      }
      return;
    }
    let i = 0;
    while (i < this.free.length && this.free[i].ptr < ptr) i++;
    this.free.splice(i, 0, { ptr, size });
    // Coalesce with the neighbours.
    const next = this.free[i + 1];
    if (next && ptr + size === next.ptr) {
      this.free[i].size += next.size;
      this.free.splice(i + 1, 1);
    }
    const prev = this.free[i - 1];
    if (prev && prev.ptr + prev.size === ptr) {
      prev.size += this.free[i].size;
      this.free.splice(i, 1);
    }
  }

  /**
   * The scratch region, at least `bytes` long. Its contents are undefined;
   * it lasts until the call ends (or a larger scratch() replaces it). If it
   * cannot be had, the region the call had is kept.
   */
  scratch(bytes: number): number {
    if (bytes > this.scratchSize) {
      const ptr = this.alloc(bytes, 'scratch');
      this.releaseScratch();
      this.scratchPtr = ptr;
      this.scratchSize = alignUp(bytes);
    }
    return this.scratchPtr;
  }

  private releaseScratch(): void {
    if (this.scratchPtr) this.release(this.scratchPtr);
    this.scratchPtr = 0;
    this.scratchSize = 0;
  }

  usage(): MemoryUsage {
    return {
      wasmBytes: this.memory.buffer.byteLength,
      allocatedBytes: this.allocated,
      scratchBytes: this.scratchSize,
      peakBytes: this.peak,
    };
  }

  /** Copies `src` into the memory at byte offset `ptr`. */
  write(ptr: number, src: Float32Array): void {
    this.f32.set(src, ptr >>> 2);
  }

  /** A copy of `length` floats at byte offset `ptr`. */
  read(ptr: number, length: number): Float32Array<ArrayBuffer> {
    // ArrayBuffer.slice copies without first zero-filling a new array, which
    // makes it several times faster than Float32Array.slice or new + set.
    // A shared memory's slice would be shared too, and outputs are plain
    // arrays: bytes are sliced, which V8 copies several times faster than
    // the floats of a shared view.
    if (this.shared) return new Float32Array(new Uint8Array(this.memory.buffer, ptr, length * 4).slice().buffer);
    return new Float32Array(this.memory.buffer.slice(ptr, ptr + length * 4) as ArrayBuffer);
  }

  /** Copies `dst.length` floats at byte offset `ptr` into `dst`. */
  readInto(ptr: number, dst: Float32Array): void {
    dst.set(this.f32.subarray(ptr >>> 2, (ptr >>> 2) + dst.length));
  }

  private track(ptr: number, size: number): number {
    this.sizes.set(ptr, size);
    this.allocated += size;
    return ptr;
  }

  private ensure(end: number, what: string): void {
    if (end > MAX_MEMORY_BYTES) {
      throw new RangeError(
        `${what}: needs ${end - this.top} more bytes of wasm memory, past wasm's 4 GiB (${this.top} bytes in use)`,
      );
    }
    const have = this.memory.buffer.byteLength;
    if (end > have) {
      const pages = Math.ceil((end - have) / PAGE);
      const want = have + pages * PAGE;
      if (want >= this.growLimit) {
        throw new RangeError(`${what}: could not grow wasm memory from ${have} to ${want} bytes (this engine refused ${this.growLimit} before)`);
      }
      try {
        injectFault(`${what} (memory grow)`);
        this.memory.grow(pages);
      } catch (e) {
        // An engine's cap (a flag, a browser's limit) is only learnt by
        // hitting it; remember it so later requests fail before trying.
        if (!isInjected(e)) this.growLimit = Math.min(this.growLimit, want);
        throw new RangeError(`${what}: could not grow wasm memory from ${have} to ${want} bytes (${(e as Error).message})`);
      }
      this.refresh();
    }
  }
}

/** Floats in a 4 KiB page. */
const PAGE_FLOATS = 1024;

/**
 * A new zeroed Float32Array whose pages are mapped already. A large new
 * array's memory comes from the OS untouched, and the first write to each
 * page faults; writing one zero per page here takes those faults now, so
 * that a later copy into it is a copy.
 */
export function residentFloats(length: number): Float32Array<ArrayBuffer> {
  injectFault('a result array');
  const a = new Float32Array(length);
  for (let i = 0; i < length; i += PAGE_FLOATS) a[i] = 0;
  return a;
}
