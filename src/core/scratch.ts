// A call's temporaries are laid out first, then placed in the heap's one
// scratch region: sizes are summed in plain numbers before anything is
// allocated, so a problem too large for wasm fails with a RangeError and
// leaves the module as it was.

import type { Heap } from './heap.js';

const ALIGN = 64;

/** One buffer in a layout; `ptr` is its byte offset once placed. */
export interface Slot {
  ptr: number;
}

export class ScratchLayout {
  private bytes = 0;
  private readonly slots: { slot: Slot; offset: number }[] = [];

  /** Reserves `floats` floats, 64-byte aligned. */
  floats(floats: number): Slot {
    const slot = { ptr: -1 };
    this.slots.push({ slot, offset: this.bytes });
    this.bytes += Math.ceil((floats * 4) / ALIGN) * ALIGN;
    return slot;
  }

  get totalBytes(): number {
    return this.bytes;
  }

  /**
   * Places the layout in the heap's scratch region and fills in every slot's
   * ptr. `context` describes the call (its arguments and shapes) for the
   * RangeError of a layout too large for wasm.
   */
  place(heap: Heap, context?: () => string): void {
    let base: number;
    try {
      base = heap.scratch(this.bytes);
    } catch (e) {
      if (context && e instanceof RangeError) throw new RangeError(`${context()}: ${e.message}`);
      throw e;
    }
    for (const { slot, offset } of this.slots) slot.ptr = base + offset;
  }
}
