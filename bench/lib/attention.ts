// One group's attention measurement on one config, shared by the Node
// worker (worker.ts) and the --browser page (browser/page.ts), so that both
// time the same engines the same way. It imports nothing of Node's.
import type { StateDict } from '../graphs/attention-onnx.js';
import type { AttentionResult, EngineResult, Group, TimingPolicy } from './protocol.js';
import { buildOf, measuresPackage, ortThreadsOf, PACKAGE_1T, PACKAGE_INSTANCES, threadsOf } from './protocol.js';
import type { AttentionKind, AttentionShape } from './shapes.js';
import { measureEngines, rotatingInputs, type TimedEngine } from './timing.js';
import { INPUT_SEED, loadPackage, ortEngines, packageAttention, setupOf, type AttentionSetup } from './contenders.js';

export interface AttentionRun {
  group: Group;
  shape: AttentionShape;
  kind: AttentionKind;
  timing: TimingPolicy;
  progress: (text: string) => void;
  /** Keeps an engine's output for the first input under `name`; returns where it went (outputFile). */
  save: (name: string, output: Float32Array) => string | Promise<string>;
  /** Engines to time beside the group's own (the plain-JS reference), made from the module's weights. */
  more?: (s: AttentionSetup, stateDict: StateDict) => Promise<TimedEngine[]>;
}

export interface AttentionRunOutcome {
  result: AttentionResult;
  setup: AttentionSetup;
  stateDict: StateDict;
  /** The inputs the engines rotated through; the outputs saved are those of inputs[0]. */
  inputs: Float32Array[];
  /** The package's output for inputs[0], where the group measures it. */
  packageOutput?: Float32Array;
}

/**
 * Times a group's engines on one config (see Group): the package at the
 * group's build and threads unless the group is onnxruntime-web's alone (in
 * a 2-thread group also a second, 1-thread instance of it, id PACKAGE_1T),
 * and onnxruntime-web at the group's threads in both Linformer graph orders.
 * The weights are the package module's in every group (built from one seed;
 * the 1-thread instance loads the 2-thread module's state_dict).
 */
export async function timeAttention(run: AttentionRun): Promise<AttentionRunOutcome> {
  const { group, shape, kind } = run;
  const s = setupOf(shape, kind);
  const twoInstances = threadsOf(group) > 1;
  const result: AttentionResult = { type: 'attention', group, config: shape.name, kind, engines: [] };
  const failed: EngineResult[] = [];
  const engines: TimedEngine[] = [];
  const lw = await loadPackage(buildOf(group), threadsOf(group), twoInstances ? PACKAGE_INSTANCES.two : undefined);
  const p = packageAttention(lw, s);
  const stateDict = p.stateDict;
  if (twoInstances) {
    const one = await loadPackage(buildOf(group), 1, PACKAGE_INSTANCES.one);
    const p1 = packageAttention(one, s, { id: PACKAGE_1T });
    // the same weights in both instances (the same seed makes them too; this makes sure)
    p1.module.loadStateDict(p.module.stateDict());
    // first in each round, so that it too runs after ORT 2T's threads have settled
    engines.push(p1.engine);
  }
  if (measuresPackage(group)) {
    const info = lw.backendInfo();
    result.build = info.build;
    result.threads = info.threads;
    engines.push(p.engine);
  } else {
    p.module.dispose();
  }
  engines.push(...(await ortEngines(s, stateDict, ortThreadsOf(group), failed)));
  if (run.more) engines.push(...(await run.more(s, stateDict)));

  const inputs = rotatingInputs(shape.L * shape.E, INPUT_SEED);
  const outputs = new Map<string, string | Promise<string>>();
  let packageOutput: Float32Array | undefined;
  const measured = await measureEngines(engines, inputs, {
    policy: run.timing,
    progress: run.progress,
    onOutput: (e, out) => {
      outputs.set(e.id, run.save(`${shape.name}.${kind}.${group}.${e.id}`, out));
      if (e.id === 'package') packageOutput = out;
    },
    afterWarmup: (e) => {
      if (e.id !== 'package') return;
      const u = lw.memoryUsage();
      result.memory = { peakBytes: u.peakBytes, wasmBytes: u.wasmBytes };
    },
  });
  for (const r of measured) r.outputFile = await outputs.get(r.id);
  result.engines = [...measured, ...failed];
  for (const e of engines) await e.dispose?.();
  return { result, setup: s, stateDict, inputs, packageOutput };
}
