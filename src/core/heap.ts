import type { Kernels } from './kernels.js';

// The heap owns every byte of the wasm memory past the module's static data.
// Long-lived buffers (packed weights) come from a first-fit free list; each
// call's temporaries come from one scratch region that is reused from call to
// call and only replaced when a larger problem needs more. Only offsets cross
// into wasm; typed-array views are re-made when the memory grows.

const PAGE = 65536;
const ALIGN = 64; // a cache line; also keeps every buffer 16-byte aligned for v128
/** wasm32 addresses 4 GiB. */
export const MAX_MEMORY_BYTES = 4 * 1024 * 1024 * 1024;

interface Block {
  ptr: number;
  size: number;
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
  /** Size of the reusable scratch region. */
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

  constructor(memory: WasmMemory, kernels: Kernels) {
    this.memory = memory;
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

  /** Allocates `bytes` (aligned to 64); throws RangeError past wasm's 4 GiB. */
  alloc(bytes: number, what = 'buffer'): number {
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

  /** Throws the RangeError of a request that cannot fit in wasm's 4 GiB even beside what is allocated now; allocates nothing. */
  checkFits(bytes: number, what: string): void {
    const base = alignUp(this.kernels.heap_base());
    if (base + this.allocated + bytes > MAX_MEMORY_BYTES) {
      throw new RangeError(
        `${what}: needs ${bytes} bytes of wasm memory, past wasm's 4 GiB (${this.allocated} bytes allocated)`,
      );
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
   * The scratch region, at least `bytes` long. Its contents are undefined and
   * last until the next scratch() call: one forward call's temporaries.
   */
  scratch(bytes: number): number {
    if (bytes > this.scratchSize) {
      if (this.scratchPtr) this.release(this.scratchPtr);
      this.scratchPtr = 0;
      this.scratchSize = 0;
      this.scratchPtr = this.alloc(bytes, 'scratch');
      this.scratchSize = alignUp(bytes);
    }
    return this.scratchPtr;
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
  read(ptr: number, length: number): Float32Array {
    // ArrayBuffer.slice copies without first zero-filling a new array, which
    // makes it several times faster than Float32Array.slice or new + set.
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
      try {
        this.memory.grow(pages);
      } catch (e) {
        throw new RangeError(
          `${what}: could not grow wasm memory from ${have} to ${have + pages * PAGE} bytes (${(e as Error).message})`,
        );
      }
      this.refresh();
    }
  }
}
