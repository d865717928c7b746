// Where the package's forward pass spends its time (--profile), as the
// package itself reports it: with a function at
// globalThis[Symbol.for('linformer-wasm.profile')], every public call that
// ran a forward plan hands it its steps, each with its stage, its time and
// each thread's busy time in it.
import { median } from './timing.js';

const HOOK = Symbol.for('linformer-wasm.profile');

/** What the package passes to the hook after a call. */
export interface ProfileReport {
  call: string;
  totalMs: number;
  threads: number;
  steps: { stage: string; ms: number; busyMs: number[] }[];
}

/** The package's stages, in pipeline order. */
export const STAGES = ['copy in', 'in-projection', 'sequence projection', 'attention', 'out-projection', 'copy out'];

/** Stages that run on the calling thread alone by design. */
const CALLER_ONLY = new Set(['copy in', 'copy out']);

type Step = ProfileReport['steps'][number];

/**
 * A step that ran in parallel: on two threads or more. On one thread, the
 * steps the pool would split (all but the caller-only stages), so that the
 * one-thread serial fraction is the share that more threads cannot shorten.
 */
function isParallel(step: Step, threads: number): boolean {
  if (threads === 1) return !CALLER_ONLY.has(step.stage);
  return step.busyMs.filter((ms) => ms > 0).length > 1;
}

/** One pass (all the reports of one forward call), by stage. */
export interface PassProfile {
  threads: number;
  totalMs: number;
  /** Milliseconds per stage; 'other' is the pass minus all its steps. */
  stagesMs: Record<string, number>;
  /** The pass minus its parallel steps. */
  serialMs: number;
  /** Busy time of each thread over the pass; index 0 is the caller. */
  busyMs: number[];
}

function summarise(reports: ProfileReport[]): PassProfile {
  const threads = Math.max(...reports.map((r) => r.threads));
  const steps = reports.flatMap((r) => r.steps.map((step) => ({ step, threads: r.threads })));
  const totalMs = reports.reduce((sum, r) => sum + r.totalMs, 0);
  const stagesMs: Record<string, number> = {};
  let stepsMs = 0;
  let parallelMs = 0;
  const busyMs = new Array<number>(threads).fill(0);
  for (const { step, threads: t } of steps) {
    stagesMs[step.stage] = (stagesMs[step.stage] ?? 0) + step.ms;
    stepsMs += step.ms;
    if (isParallel(step, t)) parallelMs += step.ms;
    step.busyMs.forEach((ms, i) => (busyMs[i] += ms));
  }
  stagesMs.other = totalMs - stepsMs;
  return { threads, totalMs, stagesMs, serialMs: totalMs - parallelMs, busyMs };
}

/** Collects the package's profile reports, pass by pass. */
export class ProfileHook {
  private reports: ProfileReport[] = [];

  install(): void {
    (globalThis as Record<symbol, unknown>)[HOOK] = (report: ProfileReport) => this.reports.push(report);
  }

  /** The pass since the last call (its reports added up); throws when the package reported none. */
  take(): PassProfile {
    const reports = this.reports;
    this.reports = [];
    if (reports.length === 0) {
      throw new Error("linformer-wasm called no profile hook (globalThis[Symbol.for('linformer-wasm.profile')]): this build of the package predates it");
    }
    return summarise(reports);
  }
}

/** Medians over passes: of the total, of each stage, of the serial time and of each thread's busy time. */
export function medianPass(passes: PassProfile[]): Omit<PassProfile, 'threads'> {
  const stages = [...new Set(passes.flatMap((p) => Object.keys(p.stagesMs)))];
  const threads = Math.max(...passes.map((p) => p.busyMs.length));
  return {
    totalMs: median(passes.map((p) => p.totalMs)),
    stagesMs: Object.fromEntries(stages.map((s) => [s, median(passes.map((p) => p.stagesMs[s] ?? 0))])),
    serialMs: median(passes.map((p) => p.serialMs)),
    busyMs: Array.from({ length: threads }, (_, i) => median(passes.map((p) => p.busyMs[i] ?? 0))),
  };
}
