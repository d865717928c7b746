// Error construction for the public edge: every message names the argument,
// what was expected and what was received.

/** Formats dims as torch prints a shape: (2, 3, 4). */
export function shapeStr(dims: readonly number[]): string {
  return `(${dims.join(', ')}${dims.length === 1 ? ',' : ''})`;
}

export function shapeError(arg: string, expected: string, dims: readonly number[]): RangeError {
  return new RangeError(`${arg}: expected shape ${expected}, got ${shapeStr(dims)}`);
}

/** `${arg}: expected …, got …` as a TypeError (the wrong kind of value) or a RangeError (the right kind, out of range). */
export function valueError<C extends typeof TypeError | typeof RangeError>(cls: C, arg: string, expected: string, received: unknown): InstanceType<C> {
  return new cls(`${arg}: expected ${expected}, got ${describe(received)}`) as InstanceType<C>;
}

export function typeError(arg: string, expected: string, received: unknown): TypeError {
  return valueError(TypeError, arg, expected, received);
}

/** Lists longer than this are cut in messages, and strings longer than QUOTED. */
const LISTED = 8;
const QUOTED = 40;

/** A received value as a message shows it: its type and, where short, its value. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (value instanceof DataView) return `DataView(${value.byteLength} bytes)`;
  if (ArrayBuffer.isView(value)) return `${value.constructor.name}(${(value as unknown as ArrayLike<unknown>).length})`;
  if (Array.isArray(value)) return listStr(value);
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'object';
  if (typeof value === 'string') return `string '${value.length > QUOTED ? `${value.slice(0, QUOTED)}…` : value}'`;
  if (typeof value === 'function') return `function ${value.name || '(anonymous)'}`;
  return `${typeof value} ${String(value)}`;
}

/** Dims as received, values shown even when they are not a valid shape: [2, 1.5, 8], Int32Array [2, -1, 8]. */
export function describeDims(dims: unknown): string {
  if (ArrayBuffer.isView(dims) && !(dims instanceof DataView)) {
    return `${dims.constructor.name} ${listStr(Array.from(dims as unknown as ArrayLike<unknown>))}`;
  }
  return describe(dims);
}

/** [2, 1.5, 8]; past LISTED entries, the first ones and the count. */
function listStr(list: readonly unknown[]): string {
  const shown = list.slice(0, LISTED).map(entryStr).join(', ');
  return list.length > LISTED ? `[${shown}, …] (${list.length} entries)` : `[${shown}]`;
}

function entryStr(v: unknown): string {
  if (typeof v === 'string') return `'${v}'`;
  if (Array.isArray(v)) return `Array(${v.length})`;
  if (v !== null && typeof v === 'object') return describe(v);
  return String(v);
}
