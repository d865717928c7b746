// Flags that tune the package, in one place. Change them before a call;
// each is read, and checked, when it is needed (envValue).
import { checkArgument, rule, type Rule } from './core/options.js';

export const env = {
  /**
   * How many attention scores one head holds at a time: the query rows of a
   * block times the keys (P). About L2-sized; more costs cache, less costs
   * calls. Weights, when asked for, are written block by block as they pass.
   * @defaultValue 32768
   */
  scoreBlockFloats: 32768,

  /**
   * Linformer's order of projections, which are equal up to rounding:
   * 'keys' in-projects every key and value, then projects them along the
   * sequence (the paper's order); 'inputs' projects the raw inputs along the
   * sequence, then in-projects only the k projected rows. 'auto' takes
   * whichever costs fewer multiply-adds for the call's sizes.
   * @defaultValue 'auto'
   */
  sequenceProjection: 'auto' as 'auto' | 'inputs' | 'keys',

  /**
   * The GEMM register tile, chosen by init(): 'auto' times 4×8 against 6×8
   * (about 40 ms, relaxed-SIMD build only) and keeps the faster; '4x8' or
   * '6x8' skips the timing. Both give the same bits. Set it before init();
   * backendInfo().gemmTile says which one runs.
   * @defaultValue 'auto'
   */
  gemmTile: 'auto' as 'auto' | '4x8' | '6x8',

  /**
   * Milliseconds a worker thread may stay silent (not start, or not finish
   * a task of a call) before it is taken for dead: the call then throws,
   * nothing is returned, and the workers are restarted. A task is at most
   * tens of milliseconds of work.
   * @defaultValue 10000
   */
  workerTimeout: 10000,
};

/** What each flag may be. */
const ENV_RULES = {
  scoreBlockFloats: rule.positiveInteger,
  sequenceProjection: rule.oneOf(['auto', 'inputs', 'keys'] as const),
  gemmTile: rule.oneOf(['auto', '4x8', '6x8'] as const),
  workerTimeout: rule.positiveInteger,
};

/** A flag's value, checked: a bad one is a TypeError or RangeError naming env.<key>, before any work is done. */
export function envValue<K extends keyof typeof env>(key: K): (typeof env)[K] {
  return checkArgument('linformer-wasm: env', key, ENV_RULES[key] as Rule<unknown>, env[key]) as (typeof env)[K];
}
