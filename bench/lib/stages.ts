// Where the package's forward pass spends its time (--profile): the steps of
// the attention modules are methods on their prototypes; wrapping the ones
// present times each step from outside. Steps are matched by name, so a
// renamed step shows up under "other" rather than failing.
import { performance } from 'node:perf_hooks';

type Package = typeof import('linformer-wasm');

/** Method name → pipeline stage. */
const STAGE_OF: Record<string, string> = {
  writeInput: 'copy in',
  writeInputs: 'copy in',
  writeAugmented: 'copy in',
  projectQuery: 'in-projection',
  projectKeyValues: 'in-projection',
  inProject: 'in-projection',
  projectSequence: 'sequence projection',
  // Linformer projecting its inputs first: E·x and F·x, then the k and v in-projections on k rows
  projectInputsThenFeatures: 'sequence projection',
  attendHeads: 'attention (scores, softmax, weighted sum)',
  finish: 'out-projection and copy out',
};

export const STAGE_ORDER = ['copy in', 'in-projection', 'sequence projection', 'attention (scores, softmax, weighted sum)', 'out-projection and copy out', 'other'];

export class StageTimer {
  private depth = 0;
  readonly totals = new Map<string, number>();
  readonly wrapped: string[] = [];

  /** Wraps the step methods of both module classes (once per defining prototype). */
  install(lw: Package): void {
    const seen = new Set<object>();
    for (const cls of [lw.LinearMultiheadAttention, lw.MultiheadAttention]) {
      for (let proto: Record<string, unknown> = cls.prototype as unknown as Record<string, unknown>; proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
        if (seen.has(proto)) continue;
        seen.add(proto);
        for (const name of Object.getOwnPropertyNames(proto)) {
          const stage = STAGE_OF[name];
          const original = proto[name];
          if (!stage || typeof original !== 'function') continue;
          this.wrapped.push(name);
          const timer = this;
          proto[name] = function (this: unknown, ...args: unknown[]) {
            // only the outermost step counts: a step may call another
            if (timer.depth > 0) return original.apply(this, args);
            timer.depth++;
            const t0 = performance.now();
            try {
              return original.apply(this, args);
            } finally {
              timer.depth--;
              timer.totals.set(stage, (timer.totals.get(stage) ?? 0) + performance.now() - t0);
            }
          };
        }
      }
    }
  }

  reset(): void {
    this.totals.clear();
  }
}
