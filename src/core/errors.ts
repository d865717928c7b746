// Error construction for the public edge: every message names the argument,
// what was expected and what was received.

/** Formats dims as torch prints a shape: (2, 3, 4). */
export function shapeStr(dims: readonly number[]): string {
  return `(${dims.join(', ')}${dims.length === 1 ? ',' : ''})`;
}

export function shapeError(arg: string, expected: string, dims: readonly number[]): RangeError {
  return new RangeError(`${arg}: expected shape ${expected}, got ${shapeStr(dims)}`);
}

export function typeError(arg: string, expected: string, received: unknown): TypeError {
  return new TypeError(`${arg}: expected ${expected}, got ${describe(received)}`);
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (ArrayBuffer.isView(value)) return `${value.constructor.name}(${(value as unknown as ArrayLike<unknown>).length})`;
  if (Array.isArray(value)) return `Array(${value.length})`;
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'object';
  return `${typeof value} ${String(value)}`;
}
