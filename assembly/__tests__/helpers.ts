// Shared helpers for the kernel specs (not a spec itself: as-pect only runs
// *.spec.ts). The kernels take raw byte offsets into linear memory, so every
// buffer here comes from `heap.alloc` (unmanaged, 16-byte aligned) and is
// framed by guard words that must still hold CANARY after a kernel ran:
// a kernel that writes one float past its output, or before it, fails.

/** f32 unit roundoff, 2^-24. */
export const U: f64 = 5.960464477539063e-8;
/** Smallest normal f32, 2^-126: the absolute slack for flushed exponentials. */
export const TINY: f64 = 1.1754943508222875e-38;
/** Bit pattern of the guard words (a NaN that no kernel computes). */
export const CANARY: u32 = 0x7fa5_beef;
/** Guard words before and after each buffer. */
const GUARD: i32 = 8;

let bases = new Array<usize>();
let ptrs = new Array<usize>();
let sizes = new Array<i32>();

/**
 * A buffer of `n` floats at byte offset `misalign` (0, 4, 8 or 12) past a
 * 16-byte boundary, filled with CANARY and framed by guard words.
 */
export function buf(n: i32, misalign: i32 = 0): usize {
  const bytes = <usize>(n + 2 * GUARD) * 4 + 16;
  const base = heap.alloc(bytes);
  const p = ((base + 15) & ~<usize>15) + <usize>(GUARD * 4 + misalign);
  for (let i = -GUARD; i < n + GUARD; i++) store<u32>(p + <usize>(i * 4), CANARY);
  bases.push(base);
  ptrs.push(p);
  sizes.push(n);
  return p;
}

/** Whether every guard word of every live buffer still holds CANARY. */
export function guardsIntact(): bool {
  for (let b = 0; b < ptrs.length; b++) {
    const p = ptrs[b];
    const n = sizes[b];
    for (let i = 1; i <= GUARD; i++) {
      if (load<u32>(p - <usize>(i * 4)) != CANARY) return false;
      if (load<u32>(p + <usize>((n + i - 1) * 4)) != CANARY) return false;
    }
  }
  return true;
}

/** Frees every buffer made by `buf`. */
export function freeAll(): void {
  for (let b = 0; b < bases.length; b++) heap.free(bases[b]);
  bases = new Array<usize>();
  ptrs = new Array<usize>();
  sizes = new Array<i32>();
}

// ---- deterministic random numbers (xorshift32) ----

let state: u32 = 0x9e37_79b9;

export function seed(s: u32): void {
  state = s != 0 ? s : 1;
}

/** Uniform in [-1, 1). */
export function rnd(): f32 {
  let x = state;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  state = x;
  return <f32>(<f64>(x >> 8) * (1.0 / 8388608.0) - 1.0);
}

/** Fills `n` floats at `p` with rnd() · scale. */
export function fillRandom(p: usize, n: i32, scale: f32 = 1): void {
  for (let i = 0; i < n; i++) store<f32>(p + <usize>(i << 2), rnd() * scale);
}

export function fillValue(p: usize, n: i32, v: f32): void {
  for (let i = 0; i < n; i++) store<f32>(p + <usize>(i << 2), v);
}

/** A copy of `n` floats at `p`, in a new guarded buffer. */
export function snapshot(p: usize, n: i32): usize {
  const s = buf(n);
  memory.copy(s, p, <usize>n << 2);
  return s;
}

/** Whether `n` floats at `p` are bit for bit those at `copy`. */
export function unchanged(p: usize, copy: usize, n: i32): bool {
  for (let i = 0; i < n; i++) {
    if (load<u32>(p + <usize>(i << 2)) != load<u32>(copy + <usize>(i << 2))) return false;
  }
  return true;
}

// @ts-ignore: decorator
@inline export function ld(p: usize, i: i32): f32 {
  return load<f32>(p + (<usize>i << 2));
}

// @ts-ignore: decorator
@inline export function st(p: usize, i: i32, v: f32): void {
  store<f32>(p + (<usize>i << 2), v);
}

// @ts-ignore: decorator
@inline export function bits(x: f32): u32 {
  return reinterpret<u32>(x);
}

// ---- collecting mismatches: one expect per case, naming the first ----

let fails: i32 = 0;
let firstFail: string = "";
let current: string = "";

export function beginCheck(): void {
  fails = 0;
  firstFail = "";
  current = "";
}

/** Names the part of a case that follows, in the first failure's message. */
export function subcase(name: string): void {
  current = name;
}

function where(): string {
  return current.length > 0 ? "(" + current + ") " : "";
}

/** Records a failure described by `what` unless `ok`. */
export function check(ok: bool, what: string): void {
  if (!ok) {
    if (fails == 0) firstFail = where() + what;
    fails++;
  }
}

/** Records a failure unless |got - want| ≤ tol; NaN only where `want` is NaN; infinities equal. */
export function near(got: f64, want: f64, tol: f64, label: string, i: i32, j: i32): void {
  let ok: bool;
  if (isNaN(want)) {
    ok = isNaN(got);
  } else if (!isFinite(want)) {
    ok = got == want;
  } else {
    const err = Math.abs(got - want);
    ok = err <= tol; // false for NaN got
  }
  if (!ok && fails == 0) {
    firstFail = where() + label + "[" + i.toString() + "," + j.toString() + "]: got " + got.toString() +
      ", want " + want.toString() + " ± " + tol.toString();
  }
  if (!ok) fails++;
}

/**
 * Checks the guards, frees every buffer, then expects no failure since
 * beginCheck; `ctx` names the case in the failure message.
 */
export function endCheck(ctx: string): void {
  check(guardsIntact(), "a guard word was overwritten (write out of bounds)");
  freeAll();
  expect<string>(fails == 0 ? "" : ctx + ": " + fails.toString() + " failure(s), first: " + firstFail).toBe("", ctx);
}
