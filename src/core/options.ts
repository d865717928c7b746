// Where options are checked: every public entry declares its options object
// as a schema (key → rule) beside its code and reads it through readOptions,
// and checks its scalar arguments (embedDim, numHeads, softmax's dim) through
// checkArgument with the same rules. So unknown keys (torch's snake_case,
// typos), wrong types and out-of-range values take one code path, and all of
// it happens before the entry touches wasm memory.
//
// Messages: `${where}: ${key}: expected …, got …`, a TypeError for the wrong
// kind of value and a RangeError for the right kind out of range; an unknown
// key is a TypeError that names it and, when one is close, the spelling to use.

import { describe, valueError } from './errors.js';

type ErrorClass = typeof TypeError | typeof RangeError;

/** How one option or argument is checked. */
export interface Rule<T> {
  /** What the message says is expected: 'a boolean', 'a positive integer'. */
  readonly expected: string;
  /** null when `value` is good; else TypeError (the wrong kind of value) or RangeError (the right kind, out of range). */
  readonly problem: (value: unknown) => ErrorClass | null;
  /** A tensor option: only its being an object is checked here; its data and dims where its shape is known. */
  readonly tensor?: boolean;
  /** Never set: carries the type of a good value. */
  readonly _value?: T;
}

/** An options object's keys and their rules. */
export type Schema = Readonly<Record<string, Rule<unknown>>>;

/** Every key of options type O, each with a rule: a key added to O without a rule does not compile. */
export type SchemaOf<O> = { readonly [K in keyof O]-?: Rule<unknown> };

/** The checked options: the given keys with good values; absent (or undefined) keys are left out, for the default. */
export type OptionValues<S extends Schema> = { -readonly [K in keyof S]?: S[K] extends Rule<infer T> ? T : never };

const isNumber = (v: unknown): v is number => typeof v === 'number';

/** The rule kinds the schemas are written in. */
export const rule = {
  boolean: { expected: 'a boolean', problem: (v) => (typeof v === 'boolean' ? null : TypeError) } as Rule<boolean>,

  string: { expected: 'a string', problem: (v) => (typeof v === 'string' ? null : TypeError) } as Rule<string>,

  positiveInteger: {
    expected: 'a positive integer',
    problem: (v) => (!isNumber(v) ? TypeError : Number.isInteger(v) && v > 0 ? null : RangeError),
  } as Rule<number>,

  /** A dropout probability; NaN is out of range. */
  probability: {
    expected: 'a number in [0, 1]',
    problem: (v) => (!isNumber(v) ? TypeError : v >= 0 && v <= 1 ? null : RangeError),
  } as Rule<number>,

  integerIn(min: number, max: number): Rule<number> {
    return {
      expected: `an integer in [${min}, ${max}]`,
      problem: (v) => (!isNumber(v) ? TypeError : Number.isInteger(v) && v >= min && v <= max ? null : RangeError),
    };
  },

  oneOf<const T extends string>(values: readonly T[]): Rule<T> {
    return {
      expected: `one of ${values.map((s) => `'${s}'`).join(', ')}`,
      problem: (v) => (typeof v !== 'string' ? TypeError : (values as readonly string[]).includes(v) ? null : RangeError),
    };
  },

  instanceOf<T>(cls: abstract new (...args: never[]) => T, name: string): Rule<T> {
    return { expected: `a ${name}`, problem: (v) => (v instanceof cls ? null : TypeError) };
  },

  /** A tensor or mask, or null for none (torch's None). */
  tensorOrNull<T>(expected: string): Rule<T | null> {
    return { expected: `${expected} or null`, problem: (v) => (v === null || isPlainObject(v) ? null : TypeError), tensor: true };
  },

  /** `r`, or null for the default: where torch's default is None (kdim=None, vdim=None). */
  orNull<T>(r: Rule<T>): Rule<T | null> {
    return { expected: `${r.expected} or null`, problem: (v) => (v === null ? null : r.problem(v)) };
  },
};

/** Throws unless `value` passes `r`; the message names `where` and `name`. */
export function checkArgument<T>(where: string, name: string, r: Rule<T>, value: unknown): T {
  const cls = r.problem(value);
  if (cls !== null) throw valueError(cls, `${where}: ${name}`, r.expected, value);
  return value as T;
}

/**
 * Checks an options object against its schema and returns the good values
 * of the keys it gives. `null` and `undefined` mean every default (torch's
 * None); anything but an options object is a TypeError, and so is a key the
 * schema does not have, unless its value is undefined. Each key is read once.
 */
export function readOptions<S extends Schema>(where: string, schema: S, options: unknown): OptionValues<S> {
  if (options === undefined || options === null) return {};
  const known = Object.keys(schema);
  if (!isPlainObject(options) || looksLikeTensor(options, schema)) throw notOptions(where, schema, options);
  for (const key of Object.keys(options)) {
    // A key spelled out as undefined asks for nothing (JavaScript's usual
    // `{ ...base, shareWith: maybe }`); one with a value must be known.
    if (!Object.hasOwn(schema, key) && (options as Record<string, unknown>)[key] !== undefined) throw unknownOption(where, key, known);
  }
  const values: Record<string, unknown> = {};
  for (const key of known) {
    const value = (options as Record<string, unknown>)[key];
    if (value !== undefined) values[key] = checkArgument(where, key, schema[key], value);
  }
  return values as OptionValues<S>;
}

/** An object with keys, not an array, typed array, buffer or collection. */
function isPlainObject(v: unknown): v is object {
  return (
    typeof v === 'object' &&
    v !== null &&
    !Array.isArray(v) &&
    !ArrayBuffer.isView(v) &&
    !(v instanceof ArrayBuffer) &&
    !(v instanceof Map) &&
    !(v instanceof Set)
  );
}

/** A tensor or mask passed where the options go, as torch's positional forward(q, k, v, key_padding_mask). */
function looksLikeTensor(v: object, schema: Schema): boolean {
  return 'data' in v && 'dims' in v && !Object.hasOwn(schema, 'data');
}

function notOptions(where: string, schema: Schema, value: unknown): TypeError {
  const known = Object.keys(schema);
  const tensor = isPlainObject(value) && looksLikeTensor(value, schema);
  const got = tensor ? 'a tensor { data, dims }' : describe(value);
  // The keys whose rule would take this value: it was probably meant as one of them.
  const takers = known.filter((key) => (tensor ? schema[key].tensor === true : schema[key].problem(value) === null && !schema[key].tensor));
  const shown = tensor ? '…' : typeof value === 'string' ? `'${value}'` : String(value);
  const hint = takers.length > 0 ? `; pass it by name: ${takers.map((key) => `{ ${key}: ${shown} }`).join(' or ')}` : '';
  return new TypeError(`${where}: options: expected an options object { ${known.join(', ')} }, null or undefined, got ${got}${hint}`);
}

function unknownOption(where: string, key: string, known: readonly string[]): TypeError {
  const near = closest(key, known);
  const hint = near !== undefined ? `did you mean '${near}'?` : `the options are ${known.map((k) => `'${k}'`).join(', ')}`;
  return new TypeError(`${where}: unknown option '${key}'; ${hint}`);
}

/** torch's spelling (batch_first), another case (batchfirst) or a typo of a known key (batchFrist). */
function closest(key: string, known: readonly string[]): string | undefined {
  const bare = (s: string) => s.replace(/[_-]/g, '').toLowerCase();
  const k = bare(key);
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const c = bare(candidate);
    const d = editDistance(k, c);
    // Longer names take more typos before a suggestion would be a guess.
    const allowed = c.length <= 4 ? 1 : c.length <= 8 ? 2 : 3;
    if (d <= allowed && d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

/** Edits (insert, delete, substitute, swap two neighbours) from a to b. */
function editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 0; j <= b.length; j++) rows[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, rows[i - 2][j - 2] + 1);
      rows[i][j] = d;
    }
  }
  return rows[a.length][b.length];
}
