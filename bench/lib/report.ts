// The markdown tables printed at the end of a run (ready to paste into the
// README), and the chart's series.
import type { AttentionResult, Build, ColdResult, EngineResult, GemmResult, Group, PeakFigures, ProfileResult, SweepResult, Table3Result, TimingPolicy } from './protocol.js';
import { PACKAGE_1T, PROFILE_BUDGET_MS } from './protocol.js';
import { RESUME_MS, SETTLE_CAP_MS, SETTLE_IDLE_CORES, SETTLE_WINDOW_MS } from './timing.js';
import { STAGES } from './stages.js';
import { attentionFlops, type AttentionKind, type AttentionShape, type PerBuild, type Shapes } from './shapes.js';
import { ABS_TOLERANCE, REL_TOLERANCE } from './compare.js';
import type { Series } from './chart.js';

export interface RunData {
  meta: {
    date: string;
    command: string;
    cpu: string;
    cpus: number;
    node: string;
    v8: string;
    platform: string;
    quick: boolean;
    relaxedAvailable: boolean;
    /** How the relaxed-SIMD build was run (node flags), when it was. */
    relaxedExecArgv: string[] | null;
    timing: TimingPolicy;
    /** What the run measured (the flag); runs from before it are told apart by their data. */
    mode?: RunMode;
  };
  shapes: Shapes;
  peak: PeakFigures[];
  attention: AttentionResult[];
  gemm: GemmResult[];
  sweep: SweepResult[];
  cold: ColdResult[];
  table3?: Table3Result;
  profile: ProfileResult[];
  /** --lines: the attention configs on each Node.js line. */
  lines: LineRun[];
  /** --browser: the attention configs in headless Chromium. */
  browser?: BrowserRun;
  /** Parts left out, and why. */
  skipped: string[];
  /** Processes that failed as a whole. */
  failures: string[];
}

export type RunMode = 'bench' | 'lines' | 'browser' | 'table3' | 'profile';

/** One Node.js line's attention results (--lines). */
export interface LineRun {
  node: string;
  v8: string;
  relaxedExecArgv: string[] | null;
  attention: AttentionResult[];
}

/** The attention configs in headless Chromium (--browser), one page load per group. */
export interface BrowserRun {
  userAgent: string;
  attention: AttentionResult[];
}

// ---------------------------------------------------------------- formatting

export function fmtMs(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '—';
  if (ms < 1) return ms.toFixed(3);
  if (ms < 10) return ms.toFixed(2);
  if (ms < 100) return ms.toFixed(1);
  return ms.toFixed(0);
}

function fmtRatio(r: number | undefined): string {
  return r === undefined || !Number.isFinite(r) ? '—' : `${r >= 10 ? r.toFixed(1) : r.toFixed(2)}×`;
}

function fmtExp(x: number): string {
  if (x === 0) return '0';
  if (!Number.isFinite(x)) return '∞';
  return x.toExponential(1);
}

function mib(bytes: number): string {
  return bytes < 2 ** 20 ? `${Math.ceil(bytes / 1024)} KiB` : `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

/** Short reason for an engine that could not run. */
function failure(e: EngineResult): string {
  const msg = e.error ?? '';
  if (/integer overflow/i.test(msg)) return 'fails (integer overflow)';
  if (/out of memory|could not grow|allocation/i.test(msg)) return 'fails (out of memory)';
  return `fails (${msg.slice(0, 60)}${msg.length > 60 ? '…' : ''})`;
}

function cellMs(e: EngineResult | undefined): string {
  if (!e) return '—';
  if (e.error) return failure(e);
  return fmtMs(e.medianMs);
}

function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

// ---------------------------------------------------------------- lookups

function engine(results: AttentionResult[], config: string, kind: AttentionKind, group: string, id: string): EngineResult | undefined {
  return results.find((r) => r.config === config && r.kind === kind && r.group === group)?.engines.find((e) => e.id === id);
}

/** onnxruntime-web 2 threads: timed in the plain build's 2-thread process (in runs from before that, alone in its own). */
function ort2(results: AttentionResult[], config: string, kind: AttentionKind, id: string): EngineResult | undefined {
  return engine(results, config, kind, 'simd2', id) ?? engine(results, config, kind, 'ort2', id);
}

function jobOf(results: AttentionResult[], config: string, kind: AttentionKind, group: string): AttentionResult | undefined {
  return results.find((r) => r.config === config && r.kind === kind && r.group === group);
}

/** t(slow) / t(fast): how many times faster `fast` is. */
function ratio(slow: EngineResult | undefined, fast: EngineResult | undefined): number | undefined {
  if (!slow?.medianMs || !fast?.medianMs) return undefined;
  return slow.medianMs / fast.medianMs;
}

/** t(other) / t(package), both from the same process. */
function speedup(results: AttentionResult[], config: string, kind: AttentionKind, group: Group, otherId: string): number | undefined {
  return ratio(engine(results, config, kind, group, otherId), engine(results, config, kind, group, 'package'));
}

/** onnxruntime-web in `group` on its faster graph (of the two Linformer orders; standard attention has one). */
function fasterOrt(results: AttentionResult[], config: string, kind: AttentionKind, group: Group, threads: 1 | 2): EngineResult | undefined {
  const ids = kind === 'linformer' ? [`ort${threads}-spec`, `ort${threads}-project-first`] : [`ort${threads}`];
  const timed = ids.map((id) => engine(results, config, kind, group, id)).filter((e) => e?.medianMs !== undefined);
  return timed.sort((a, b) => a!.medianMs! - b!.medianMs!)[0];
}

/** The order of onnxruntime-web's graph an engine id names, for the table. */
function orderOf(e: EngineResult): string {
  return e.id.endsWith('-spec') ? " ('spec')" : e.id.endsWith('-project-first') ? " ('project-first')" : '';
}

/** Both builds' figures in one cell, simd first. */
function pair(f: (build: Build) => string): string {
  return `${f('simd')} / ${f('relaxed')}`;
}

/** "≥ 1.8×: ✓ / ✗" for the two builds' speed-ups, or '' without a target. */
function targetCell(target: PerBuild | undefined, speedups: Record<Build, number | undefined>): string {
  if (!target) return '';
  const met = (b: Build) => (speedups[b] === undefined ? '—' : speedups[b]! >= target[b] ? '✓' : '✗');
  const bar = target.simd === target.relaxed ? `≥ ${target.simd}×` : `≥ ${target.simd}× / ${target.relaxed}×`;
  return `${bar}: ${pair(met)}`;
}

/** The same target for both builds. */
function both(target: number | undefined): PerBuild | undefined {
  return target === undefined ? undefined : { simd: target, relaxed: target };
}

export function peakOf(data: RunData): { plain?: number; relaxed?: number } {
  const plain = Math.max(0, ...data.peak.map((p) => p.plain.gflops));
  const relaxed = Math.max(0, ...data.peak.map((p) => p.relaxed?.gflops ?? 0));
  return { plain: plain || undefined, relaxed: relaxed || undefined };
}

/** The machine's own scaling: the plain peak loop on every core at once, over the same process's one thread. */
function together(data: RunData): string {
  const measured = data.peak.filter((f) => f.together);
  if (measured.length === 0) return '';
  const { threads } = measured[0].together!;
  const gflops = Math.max(...measured.map((f) => f.together!.gflops));
  const alone = Math.max(...measured.map((f) => f.plain.gflops));
  return (
    ` The same f32x4.mul + f32x4.add loop on ${threads} threads at once (each trial started together, a trial's figure the sum of their rates; best trial): ` +
    `${gflops.toFixed(1)} GFLOP/s, ${(gflops / alone).toFixed(2)}× one thread: the most ${threads} threads can gain for pure arithmetic on this machine in this run.`
  );
}

/** GFLOP/s and its share of the ceiling that applies to the engine. */
function throughput(flops: number, ms: number | undefined, peak: number | undefined): string {
  if (!ms) return '—';
  const g = flops / ms / 1e6;
  return peak ? `${g.toFixed(1)} (${Math.round((100 * g) / peak)}%)` : g.toFixed(1);
}

function shapeText(s: AttentionShape): string {
  return `L=S=${s.L}, E=${s.E}, H=${s.H}, k=${s.k}`;
}

const ORDER_NAME = { spec: "'spec' order", 'project-first': "'project-first' order" } as const;

// ---------------------------------------------------------------- sections

function header(data: RunData): string {
  const { meta } = data;
  const peak = peakOf(data);
  const t = meta.timing;
  const lines = [
    `Machine: ${meta.cpu} (${meta.cpus} logical CPUs), ${meta.platform}; Node ${meta.node} (V8 ${meta.v8}). ` +
      `Command: \`${meta.command}\`, ${meta.date}.`,
    '',
    `One thread unless a column says 2T. Self-attention, batch N = 1, fp32, needWeights false. ` +
      `Each figure is the median of at least ${t.minRuns} timed runs (${t.minRuns}–${t.maxRuns}, about ${(t.budgetMs / 1000).toFixed(1)} s per engine) after a warm-up; ` +
      `engines sharing a process are timed in turn, one run each per round, and each speed-up over ORT 1T divides two medians from the same process (for the 2-thread ratios see their table). ` +
      `The relaxed-SIMD build runs in its own process${meta.relaxedExecArgv?.length ? ` (\`node ${meta.relaxedExecArgv.join(' ')}\`)` : ''}, with its own onnxruntime-web beside it. ` +
      `Weights: the package module's own (torch initialisation, seeded, plus random in/out biases), handed to the other engines as its \`stateDict()\`; inputs N(0, 1).`,
    '',
    `**Ceiling** (wasm SIMD peak on this machine, measured in this run): ` +
      `${peak.plain ? `${peak.plain.toFixed(1)} GFLOP/s with f32x4.mul + f32x4.add` : 'not measured'}` +
      `${peak.relaxed ? `, ${peak.relaxed.toFixed(1)} GFLOP/s with f32x4.relaxed_madd` : ''}. ` +
      `Percentages below are of the plain figure for the plain SIMD build and for the other engines, and of the relaxed figure for the relaxed build.` +
      together(data),
  ];
  return lines.join('\n');
}

function attentionSection(data: RunData): string {
  const res = data.attention;
  const rows: string[][] = [];
  for (const s of data.shapes.attention) {
    if (!res.some((r) => r.config === s.name)) continue;
    let first = true;
    const configCell = () => {
      const c = first ? `**${s.name}** ${shapeText(s)}` : '';
      first = false;
      return c;
    };
    for (const order of ['spec', 'project-first'] as const) {
      const ort1 = `ort1-${order}`, ort2Id = `ort2-${order}`;
      const sp = speedup(res, s.name, 'linformer', 'simd', ort1);
      const sr = speedup(res, s.name, 'linformer', 'relaxed', ort1);
      rows.push([
        configCell(),
        `Linformer, vs ORT ${ORDER_NAME[order]}`,
        cellMs(engine(res, s.name, 'linformer', 'simd', 'package')),
        cellMs(engine(res, s.name, 'linformer', 'relaxed', 'package')),
        cellMs(engine(res, s.name, 'linformer', 'simd', ort1)),
        cellMs(ort2(res, s.name, 'linformer', ort2Id)),
        s.ref ? cellMs(engine(res, s.name, 'linformer', 'simd', 'js')) : '',
        `${fmtRatio(sp)} / ${fmtRatio(sr)}`,
        targetCell(both(s.targets.linformer), { simd: sp, relaxed: sr }),
      ]);
    }
    const sp = speedup(res, s.name, 'standard', 'simd', 'ort1');
    const sr = speedup(res, s.name, 'standard', 'relaxed', 'ort1');
    const targets: string[] = [];
    if (s.targets.standard) targets.push(targetCell(both(s.targets.standard), { simd: sp, relaxed: sr }));
    if (s.targets.standardMb) {
      const cap = s.targets.standardMb * 2 ** 20;
      const mem = ['simd', 'relaxed'].map((g) => {
        const j = jobOf(res, s.name, 'standard', g);
        const ran = j?.engines.find((e) => e.id === 'package')?.medianMs !== undefined;
        return j?.memory && ran ? (j.memory.peakBytes < cap ? '✓' : '✗') : '—';
      });
      targets.push(`runs in < ${s.targets.standardMb} MB: ${mem.join(' / ')}`);
    }
    rows.push([
      configCell(),
      'standard',
      cellMs(engine(res, s.name, 'standard', 'simd', 'package')),
      cellMs(engine(res, s.name, 'standard', 'relaxed', 'package')),
      cellMs(engine(res, s.name, 'standard', 'simd', 'ort1')),
      cellMs(ort2(res, s.name, 'standard', 'ort2')),
      s.ref ? cellMs(engine(res, s.name, 'standard', 'simd', 'js')) : '',
      `${fmtRatio(sp)} / ${fmtRatio(sr)}`,
      targets.join('; '),
    ]);
  }
  if (rows.length === 0) return '';
  return [
    '### Attention forward pass, milliseconds',
    '',
    table(
      ['config', 'attention', 'linformer-wasm simd', 'linformer-wasm relaxed', 'ORT 1T', 'ORT 2T', 'plain JS', 'speed-up over ORT 1T (simd / relaxed)', 'target (simd / relaxed)'],
      rows,
    ),
    '',
    "ORT = onnxruntime-web 1.30, wasm backend, graph built from the same weights (bench/graphs/attention-onnx.ts). Its Linformer graph comes in two orders: " +
      "'spec' projects keys and values along the sequence after the in-projection, as the paper writes it (docs/semantics.md); 'project-first' projects the input first " +
      '(algebraically equal, fewer FLOPs when k < L). Each Linformer row compares the same package time against one of them. ' +
      'The ORT 1T column is the figure from the plain-SIMD process; the relaxed speed-up uses the ORT 1T timed beside the relaxed build. ' +
      "The ORT 2T column is from the plain build's 2-thread process (see the two-thread table).",
  ].join('\n');
}

const KIND_NAME = { linformer: 'Linformer', standard: 'standard' } as const;

/** The waits after a threaded engine's timed runs, over every config, in the 2-thread groups' results. */
function settleText(res: AttentionResult[], which: (e: EngineResult) => boolean, what: string): string {
  const waits = res
    .filter((r) => r.group === 'simd2' || r.group === 'relaxed2')
    .flatMap((r) => r.engines.filter((e) => e.settle && which(e)).map((e) => e.settle!));
  if (!waits.length) return '';
  const runs = waits.reduce((n, w) => n + w.runs, 0);
  const capped = waits.reduce((n, w) => n + w.capped, 0);
  const medians = waits.map((w) => w.medianMs).sort((a, b) => a - b);
  const typical = medians[medians.length >> 1];
  const max = Math.max(...waits.map((w) => w.maxMs));
  const fixed = waits.every((w) => w.how === 'fixed');
  return fixed
    ? `after ${what} a sleep of ${fmtMs(typical)} ms (median, as setTimeout gave it)`
    : `after ${what} ${fmtMs(typical)} ms (median of the engines' medians; at most ${fmtMs(max)} ms; ${runs} waits${capped ? `, ${capped} cut off at ${SETTLE_CAP_MS} ms` : ''})`;
}

/**
 * The package at 2 threads over itself at 1 thread, and over onnxruntime-web
 * 2 threads on its faster graph, each build: every figure of a build from its
 * 2-thread process (page), where the package runs as two instances (1 and 2
 * threads) beside onnxruntime-web 2 threads, timed in turn round by round.
 */
function threadsSection(res: AttentionResult[], shapes: AttentionShape[], title: string): string {
  const rows: string[][] = [];
  for (const s of shapes) {
    let first = true;
    for (const kind of ['linformer', 'standard'] as const) {
      if (!jobOf(res, s.name, kind, 'simd2') && !jobOf(res, s.name, kind, 'relaxed2')) continue;
      const group = (b: Build) => `${b}2` as Group;
      const one = (b: Build) => engine(res, s.name, kind, group(b), PACKAGE_1T);
      const two = (b: Build) => engine(res, s.name, kind, group(b), 'package');
      const ort = (b: Build) => fasterOrt(res, s.name, kind, group(b), 2);
      const scaling = { simd: ratio(one('simd'), two('simd')), relaxed: ratio(one('relaxed'), two('relaxed')) };
      const overOrt = { simd: ratio(ort('simd'), two('simd')), relaxed: ratio(ort('relaxed'), two('relaxed')) };
      const ortCell = (b: Build) => {
        const o = ort(b);
        return o ? `${fmtMs(o.medianMs)}${orderOf(o)}` : cellMs(engine(res, s.name, kind, group(b), kind === 'linformer' ? 'ort2-spec' : 'ort2'));
      };
      rows.push([
        first ? `**${s.name}** ${shapeText(s)}` : '',
        KIND_NAME[kind],
        pair((b) => cellMs(one(b))),
        pair((b) => cellMs(two(b))),
        pair((b) => fmtRatio(scaling[b])),
        targetCell(both(s.targets.threads), scaling),
        pair(ortCell),
        pair((b) => fmtRatio(overOrt[b])),
        targetCell(kind === 'linformer' ? s.targets.linformer2T : s.targets.standard2T, overOrt),
      ]);
      first = false;
    }
  }
  if (rows.length === 0) return '';
  const settledBy = (how: string) => res.some((r) => r.engines.some((e) => e.settle?.how === how));
  const idle = `under ${SETTLE_IDLE_CORES} of a core busy over a ${SETTLE_WINDOW_MS} ms window, at least one window`;
  const how = settledBy('cpu')
    ? `until it is idle (process.cpuUsage(), all its threads, ${idle})`
    : settledBy('renderer')
      ? `until the page's renderer process is idle (the CPU time of all its threads, which the harness reads from /proc, ${idle})`
      : 'for a fixed time (the CPU time of the page could not be read; the Node figures show how long onnxruntime-web spins)';
  const waits = [settleText(res, (e) => e.id.startsWith('ort2'), 'onnxruntime-web 2T'), settleText(res, (e) => e.id === 'package', 'linformer-wasm 2T')].filter(Boolean);
  return [
    title,
    '',
    table(
      ['config', 'attention', 'linformer-wasm 1T (simd / relaxed)', 'linformer-wasm 2T', '2T over 1T', 'target', 'ORT 2T, faster graph', '2T over ORT 2T', 'target'],
      rows,
    ),
    '',
    'Medians, milliseconds, and ratios of medians. Each build has a 2-thread process (with --browser: a page) of its own, and every figure and ratio of the build in a row comes from that one process: ' +
      'the package loaded twice in it (its self-contained ES module build dist/index.node.module.js, in a page dist/index.browser.js, imported from two URLs: two instances with loader states of their own), ' +
      'one init()ed at 1 thread and one at 2, with the same weights, beside onnxruntime-web 2 threads in both Linformer graph orders, all timed in turn, one run each per round. ' +
      "2T over 1T: the 1T instance's median over the 2T instance's; 2T over ORT 2T: onnxruntime-web's median on the faster of its two graphs (named) over the 2T instance's. " +
      '(The 1-thread figures of the attention table come from other processes and enter no ratio here; onnxruntime-web cannot run 1 and 2 threads in one process.) ' +
      `After each run of a threaded engine, before the next run of any engine, the process waits ${how}: ${waits.length ? waits.join('; ') : 'no waits recorded'}. ` +
      `These waits are outside every timed interval. Each timed run of every engine here directly follows untimed runs of the same engine for ${RESUME_MS} ms (at least one run), as in a loop of calls: onnxruntime-web's threads are then still spinning from them, the package's workers, which stay awake 2 ms after a call before they sleep, are awake too, every engine finds its weights in cache, and the machine is back at speed after the idle wait. ` +
      'Each ratio cell: plain SIMD build / relaxed-SIMD build; the target cell gives the bar (one number: both builds).' +
      tilesText(res, shapes),
  ].join('\n');
}

/**
 * Which GEMM register tile the relaxed build's 1T and 2T instances chose:
 * each times both tiles at init() (the plain build always takes 4x8), so
 * that a 2T over 1T ratio of two instances that chose differently shows.
 */
function tilesText(res: AttentionResult[], shapes: AttentionShape[]): string {
  const chosen = new Set<string>();
  const differ: string[] = [];
  for (const s of shapes) {
    for (const kind of ['linformer', 'standard'] as const) {
      const one = engine(res, s.name, kind, 'relaxed2', PACKAGE_1T)?.gemmTile;
      const two = engine(res, s.name, kind, 'relaxed2', 'package')?.gemmTile;
      if (!one || !two) continue;
      chosen.add(one).add(two);
      if (one !== two) differ.push(`${s.name} ${KIND_NAME[kind]} (1T ${one}, 2T ${two})`);
    }
  }
  if (chosen.size === 0) return '';
  const lead = " The relaxed build times its GEMM register tile at init(), in each instance of its own:";
  return differ.length === 0
    ? `${lead} here its 1T and 2T instances chose the same tile, ${[...chosen].join(' or ')}, in every config.`
    : `${lead} its 1T and 2T instances chose different tiles in ${differ.join(', ')}, whose 2T over 1T ratios therefore compare two tiles.`;
}

function throughputSection(data: RunData): string {
  const res = data.attention;
  const peak = peakOf(data);
  const rows: string[][] = [];
  for (const s of data.shapes.attention) {
    for (const kind of ['linformer', 'standard'] as const) {
      if (!jobOf(res, s.name, kind, 'simd') && !jobOf(res, s.name, kind, 'relaxed')) continue;
      const flops = attentionFlops(kind, s.L, s.E, s.k);
      const ortId = kind === 'linformer' ? 'ort1-spec' : 'ort1';
      const ort2Id = kind === 'linformer' ? 'ort2-spec' : 'ort2';
      rows.push([
        `${s.name}`,
        kind === 'linformer' ? 'Linformer' : 'standard',
        (flops / 1e9).toFixed(2),
        throughput(flops, engine(res, s.name, kind, 'simd', 'package')?.medianMs, peak.plain),
        throughput(flops, engine(res, s.name, kind, 'relaxed', 'package')?.medianMs, peak.relaxed),
        throughput(flops, engine(res, s.name, kind, 'simd', ortId)?.medianMs, peak.plain),
        throughput(flops, ort2(res, s.name, kind, ort2Id)?.medianMs, peak.plain),
      ]);
    }
  }
  if (rows.length === 0) return '';
  return [
    '### Attention throughput, GFLOP/s (% of the ceiling)',
    '',
    table(['config', 'attention', 'GFLOP per pass', 'linformer-wasm simd', 'linformer-wasm relaxed', "ORT 1T ('spec')", "ORT 2T ('spec')"], rows),
    '',
    'FLOPs of the work a pass needs, the same count for every engine: standard 8·L·E² + 4·L²·E; Linformer in the cheaper of its two orders, ' +
      '4·L·E² + 4·k·E² + 4·k·L·E (sequence projections) + 4·L·k·E (softmax not counted). ORT\'s \'spec\' graph does more work than that, so its rate here is what a user gets, not what its kernels reach.',
  ].join('\n');
}

/** A column of a per-config table: which engine of which group, per kind (null: none). */
interface EngineColumn {
  title: string;
  group: Group;
  id: (kind: AttentionKind) => string | null;
}

const ortChecks = (group: Group, threads: 1 | 2): EngineColumn[] => [
  { title: `ORT ${threads}T ('spec' / standard)`, group, id: (k) => (k === 'linformer' ? `ort${threads}-spec` : `ort${threads}`) },
  { title: `ORT ${threads}T 'project-first'`, group, id: (k) => (k === 'linformer' ? `ort${threads}-project-first` : null) },
];

/** The package's builds at 1 and 2 threads, but the plain build at 1 (the reference). */
const PACKAGE_CHECKS: EngineColumn[] = [
  { title: 'linformer-wasm relaxed', group: 'relaxed', id: () => 'package' },
  { title: 'linformer-wasm simd 2T', group: 'simd2', id: () => 'package' },
  { title: 'linformer-wasm relaxed 2T', group: 'relaxed2', id: () => 'package' },
];

/** The checks table's columns, in Node and in the browser alike. */
const CHECKS: EngineColumn[] = [
  ...PACKAGE_CHECKS,
  ...ortChecks('simd', 1),
  ...ortChecks('simd2', 2),
  { title: 'plain JS (float64)', group: 'simd', id: () => 'js' },
];

function checkCell(e: EngineResult | undefined): string {
  if (!e) return '';
  if (e.error) return failure(e);
  if (!e.check) return '—';
  const rows = /\((\d+ rows)\)/.exec(e.label)?.[1];
  const bits = e.identicalTo1T === undefined ? '' : e.identicalTo1T ? ', same bits as 1T' : ', **not the bits of 1T** ✗';
  return `${fmtExp(e.check.maxAbsDiff)} / ${fmtExp(e.check.relativeError)} ${e.check.agrees ? '✓' : '✗'}${rows ? ` (${rows})` : ''}${bits}`;
}

/** One row per config and kind that ran in a column's process (or page), one cell per column. */
function engineRows(res: AttentionResult[], shapes: AttentionShape[], columns: EngineColumn[], cell: (e: EngineResult | undefined) => string): string[][] {
  const rows: string[][] = [];
  for (const s of shapes) {
    for (const kind of ['linformer', 'standard'] as const) {
      if (!columns.some((c) => jobOf(res, s.name, kind, c.group))) continue;
      rows.push([s.name, KIND_NAME[kind], ...columns.map((c) => {
        const id = c.id(kind);
        return id ? cell(engine(res, s.name, kind, c.group, id)) : '';
      })]);
    }
  }
  return rows;
}

function checksSection(res: AttentionResult[], shapes: AttentionShape[], columns: EngineColumn[], title: string): string {
  const rows = engineRows(res, shapes, columns, checkCell);
  if (rows.length === 0) return '';
  // every engine that was checked counts, shown in a column or not (ORT 1T beside the relaxed build)
  const checked = res.flatMap((r) => r.engines.map((e) => ({ r, e })));
  const disagree = checked.filter(({ e }) => e.check && !e.check.agrees).map(({ r, e }) => `${r.config} ${r.kind} ${e.label} (${r.group})`);
  const notSameBits = checked.filter(({ e }) => e.identicalTo1T === false).map(({ r, e }) => `${r.config} ${r.kind} ${e.label}`);
  return [
    title,
    '',
    table(['config', 'attention', ...columns.map((c) => c.title)], rows),
    '',
    `Each cell: max |difference| / relative error ‖y − y_pkg‖₂ / ‖y_pkg‖₂ on the first input; ✓ when every element is within ` +
      `${ABS_TOLERANCE} + ${REL_TOLERANCE}·|y_pkg|. Where the plain-JS reference is too slow for the whole output it computes a few evenly spread rows. ` +
      'The package at 2 threads is also compared bit for bit with the same build at 1 thread (its 1-thread instance in the same process and the build\'s 1-thread process). ' +
      `${disagree.length ? `**Some outputs disagree:** ${disagree.join('; ')}.` : 'All outputs agree.'}` +
      `${notSameBits.length ? ` **Not bit-identical to 1 thread:** ${notSameBits.join('; ')}.` : ''}`,
  ].join('\n');
}

function memorySection(data: RunData): string {
  const rows: string[][] = [];
  for (const s of data.shapes.attention) {
    for (const kind of ['linformer', 'standard'] as const) {
      const simd = jobOf(data.attention, s.name, kind, 'simd');
      const relaxed = jobOf(data.attention, s.name, kind, 'relaxed');
      if (!simd?.memory && !relaxed?.memory) continue;
      const cell = (j: AttentionResult | undefined) => (j?.memory ? `${mib(j.memory.peakBytes)} (memory ${mib(j.memory.wasmBytes)})` : '—');
      rows.push([s.name, kind === 'linformer' ? `Linformer (k=${s.k})` : 'standard', cell(simd), cell(relaxed)]);
    }
  }
  if (rows.length === 0) return '';
  return [
    '### Peak wasm memory of the package',
    '',
    table(['config', 'attention', 'simd build', 'relaxed build'], rows),
    '',
    'memoryUsage().peakBytes after a forward pass, in a fresh process per config and kind: weights, scratch and inputs, everything the package placed in its wasm memory (and the size the memory grew to).',
  ].join('\n');
}

function coldSection(data: RunData): string {
  if (data.cold.length === 0) return '';
  const short = data.shapes.attention.find((s) => s.name === 'short') ?? data.shapes.attention[0];
  const rows = data.cold.map((c) => [
    c.engine === 'package' ? `linformer-wasm ${c.build}` : 'onnxruntime-web 1T',
    c.kind === 'linformer' ? 'Linformer' : 'standard',
    fmtMs(c.importMs),
    fmtMs(c.initMs),
    c.engine === 'package' ? fmtMs(c.createMs) : '—',
    fmtMs(c.firstForwardMs),
    `**${fmtMs(c.totalMs)}**`,
  ]);
  return [
    `### Cold start, ${short ? `${short.name} config (${shapeText(short)})` : ''}, milliseconds`,
    '',
    table(['engine', 'attention', 'import', 'init() / session create', 'module with weights', 'first forward', 'total'], rows),
    '',
    'Each in a fresh Node process: from the import of the library to the first output. For onnxruntime-web the session is created from model bytes made beforehand (its wasm is compiled then).',
  ].join('\n');
}

function gemmSection(data: RunData): string {
  const peak = peakOf(data);
  const find = (group: string, name: string, id: string) =>
    data.gemm.find((g) => g.group === group)?.shapes.find((s) => s.name === name)?.engines.find((e) => e.id === id);
  const rows: string[][] = [];
  let allAgree = true;
  for (const g of data.shapes.gemm) {
    if (!data.gemm.some((r) => r.shapes.some((s) => s.name === g.name))) continue;
    const flops = 2 * g.M * g.K * g.N;
    const cell = (group: string, id: string, p: number | undefined) => {
      const e = find(group, g.name, id);
      if (!e) return '—';
      if (e.error) return failure(e);
      return throughput(flops, e.medianMs, p);
    };
    // The package's other ways and builds, as one worst case; then each engine.
    const checks: string[] = [];
    const ways = ['package', 'package-out', 'package-prepacked', 'package-prepacked-out'];
    const own = (['simd', 'relaxed'] as const).flatMap((group) => ways.map((id) => find(group, g.name, id)?.check)).filter((c) => c !== undefined);
    if (own.length > 0) {
      const agrees = own.every((c) => c.agrees);
      if (!agrees) allAgree = false;
      const worst = (key: 'maxAbsDiff' | 'relativeError') => Math.max(...own.map((c) => c[key]));
      checks.push(`its other ways and relaxed ≤ ${fmtExp(worst('maxAbsDiff'))} / ${fmtExp(worst('relativeError'))} ${agrees ? '✓' : '✗'}`);
    }
    for (const [group, id, name] of [['simd', 'tfjs', 'TF.js'], ['simd', 'ort1', 'ORT 1T'], ['ort2', 'ort2', 'ORT 2T'], ['simd', 'js', 'JS']] as const) {
      const c = find(group, g.name, id)?.check;
      if (!c) continue;
      if (!c.agrees) allAgree = false;
      checks.push(`${name} ${fmtExp(c.maxAbsDiff)} / ${fmtExp(c.relativeError)} ${c.agrees ? '✓' : '✗'}`);
    }
    for (const [group, p] of [['simd', peak.plain], ['relaxed', peak.relaxed]] as const) {
      const first = group === 'simd';
      rows.push([
        first ? `${g.M}×${g.K}×${g.N}` : '',
        group,
        cell(group, 'package', p),
        cell(group, 'package-out', p),
        cell(group, 'package-prepacked', p),
        cell(group, 'package-prepacked-out', p),
        first ? cell('simd', 'tfjs', peak.plain) : '',
        first ? cell('simd', 'ort1', peak.plain) : '',
        first ? cell('ort2', 'ort2', peak.plain) : '',
        first ? checks.join(', ') : '',
      ]);
    }
  }
  if (rows.length === 0) return '';
  return [
    '### SGEMM, GFLOP/s (% of the ceiling)',
    '',
    table(['M×K×N', 'build', 'ops.matmul', 'ops.matmul, out', 'ops.matmul, B prepacked', 'ops.matmul, B prepacked, out', 'TF.js wasm (XNNPACK)', 'ORT 1T', 'ORT 2T', 'vs ops.matmul simd: max abs diff / relative error'], rows),
    '',
    'C = A·B, A rotated through buffers larger than the cache; times include copying A in and C out. ops.matmul takes B as an argument and packs it on every call; ' +
      'with ops.prepack, as TF.js and ORT hold B (a constant they pack once), it is packed once. Without `out` every call returns a new array, as TF.js\'s dataSync() and ORT\'s run() do; ' +
      'with `out` (torch.matmul\'s out=) the product is copied into one array the caller keeps, which saves the new array\'s page faults. ' +
      `Percentages are of the ceiling of the build's row (TF.js and ORT: of the plain SIMD ceiling). TF.js runs one thread (Node has no wasm threads for it). ${allAgree ? 'All outputs agree.' : '**Some outputs disagree.**'}`,
  ].join('\n');
}

export function sweepSeries(data: RunData): Series[] {
  const series: Series[] = [];
  const colors = { package: '#d62728', 'ort1-spec': '#1f77b4', 'ort1-project-first': '#17becf', ort1: '#1f77b4' } as Record<string, string>;
  for (const sw of data.sweep) {
    const ids = [...new Set(sw.points.flatMap((p) => p.engines.map((e) => e.id)))];
    for (const id of ids) {
      const points = sw.points.flatMap((p) => {
        const e = p.engines.find((x) => x.id === id);
        return e?.medianMs ? [{ x: p.L, y: e.medianMs }] : [];
      });
      const names: Record<string, string> = {
        package: `linformer-wasm ${sw.build ?? ''}`.trim(),
        'ort1-spec': "ORT 1T, 'spec'",
        'ort1-project-first': "ORT 1T, 'project-first'",
        ort1: 'ORT 1T',
      };
      const what = sw.kind === 'linformer' ? 'Linformer' : 'standard';
      series.push({ label: `${what}: ${names[id] ?? id}`, color: colors[id] ?? '#7f7f7f', dashed: sw.kind === 'standard', points });
    }
  }
  return series;
}

function sweepSection(data: RunData, chartPath: string | undefined): string {
  const sw = data.shapes.sweep;
  if (!sw || data.sweep.length === 0) return '';
  const rows: string[][] = [];
  const Ls = [...new Set(data.sweep.flatMap((s) => s.points.map((p) => p.L)))].sort((a, b) => a - b);
  const columns: { kind: AttentionKind; id: string; title: string }[] = [];
  for (const s of data.sweep) {
    const ids = [...new Set(s.points.flatMap((p) => p.engines.map((e) => e.id)))];
    for (const id of ids) {
      const label = s.points.flatMap((p) => p.engines).find((e) => e.id === id)!.label;
      columns.push({ kind: s.kind, id, title: `${s.kind === 'linformer' ? 'Linformer' : 'standard'}: ${label}` });
    }
  }
  for (const L of Ls) {
    rows.push([
      String(L),
      ...columns.map((c) => {
        const e = data.sweep.find((s) => s.kind === c.kind)?.points.find((p) => p.L === L)?.engines.find((x) => x.id === c.id);
        return e ? cellMs(e) : '';
      }),
    ]);
  }
  return [
    `### Time against sequence length (E=${sw.E}, H=${sw.H}, k=${sw.k}), milliseconds`,
    '',
    table(['L = S', ...columns.map((c) => c.title)], rows),
    '',
    chartPath ? `Chart (log–log): \`${chartPath}\` — Linformer's lines follow the slope-1 guide, standard attention's the slope-2 guide.` : '',
  ].join('\n');
}

/** Table 3 of the Linformer paper (Wang et al. 2020): time saved on a 16 GB V100, by sequence length n and k. */
export const PAPER_TABLE3: Record<number, Record<number, number>> = {
  512: { 128: 1.5, 256: 1.3 },
  1024: { 128: 1.7, 256: 1.6, 512: 1.3 },
  2048: { 128: 2.6, 256: 2.4, 512: 2.1, 1024: 1.3 },
  4096: { 128: 3.4, 256: 3.2, 512: 2.8, 1024: 2.2, 2048: 1.3 },
  8192: { 128: 5.5, 256: 5.0, 512: 4.4, 1024: 3.5, 2048: 2.1 },
  16384: { 128: 8.6, 256: 7.8, 512: 7.0, 1024: 5.6, 2048: 3.3 },
  32768: { 128: 13, 256: 12, 512: 11, 1024: 8.8, 2048: 5.0 },
  65536: { 128: 20, 256: 18, 512: 16, 1024: 14, 2048: 7.9 },
};

export function table3Section(data: RunData): string {
  const t = data.table3;
  if (!t) return '';
  const ns = [...new Set(t.standard.map((s) => s.n))];
  const ks = [...new Set(t.linformer.map((l) => l.k))].sort((a, b) => a - b);
  const rows = ns.map((n) => {
    const std = t.standard.find((s) => s.n === n)!;
    return [
      String(n),
      fmtMs(std.medianMs),
      ...ks.map((k) => {
        const lin = t.linformer.find((l) => l.n === n && l.k === k);
        const paper = PAPER_TABLE3[n]?.[k];
        if (!lin) return k < n ? '—' : '';
        return `${fmtRatio(std.medianMs / lin.medianMs)} (${paper === undefined ? '—' : `${paper < 10 ? paper.toFixed(1) : paper}×`})`;
      }),
    ];
  });
  return [
    `### Linformer over standard attention, speed-up: this machine (paper, V100)`,
    '',
    table(['n', 'standard, ms', ...ks.map((k) => `k = ${k}`)], rows),
    '',
    `One attention layer, E=${t.E}, H=${t.H}, Linformer with ${t.sharing} sharing, linformer-wasm ${t.build}, one thread, batch 1: ` +
      `median time of standard attention over Linformer's at the same n. In brackets, Table 3 of the Linformer paper (Wang et al. 2020, "time saved"): ` +
      'whole models on a 16 GB V100, batch as large as fits, width not stated there; E and H here are those of the paper\'s RoBERTa-base-sized models. ' +
      'The paper times the whole network (feed-forward layers too), which dilutes its ratios; one attention layer on one CPU core shows the attention cost alone.',
  ].join('\n');
}

/** The fewest and most passes the profile's medians are of, e.g. "7–500". */
function passRange(profile: ProfileResult[]): string {
  const counts = profile.map((p) => p.passes).filter((n) => n !== undefined);
  if (counts.length === 0) return 'several';
  const lo = Math.min(...counts);
  const hi = Math.max(...counts);
  return lo === hi ? `${lo}` : `${lo}–${hi}`;
}

/** The profile columns: each build at 1 and 2 threads. */
const PROFILE_COLUMNS = [
  { build: 'simd', threads: 1 },
  { build: 'simd', threads: 2 },
  { build: 'relaxed-simd', threads: 1 },
  { build: 'relaxed-simd', threads: 2 },
] as const;

function profileSection(data: RunData): string {
  if (data.profile.length === 0) return '';
  const rows: string[][] = [];
  const share = (ms: number | undefined, p: ProfileResult | undefined) => (ms === undefined || !p ? '' : `${fmtMs(ms)} (${Math.round((100 * ms) / p.totalMs)}%)`);
  for (const s of data.shapes.attention) {
    for (const kind of ['linformer', 'standard'] as const) {
      const runs = PROFILE_COLUMNS.map((c) => data.profile.find((p) => p.config === s.name && p.kind === kind && p.build === c.build && (p.threads ?? 1) === c.threads));
      if (!runs.some(Boolean)) continue;
      const ort = runs.find((p) => p?.ort)?.ort;
      const ortOf: Record<string, number | undefined> = {
        'in-projection': ort?.inProjectionMs,
        'sequence projection': kind === 'linformer' ? ort?.sequenceProjectionMs : undefined,
        attention: ort?.restMs,
        'out-projection': ort?.outProjectionMs,
      };
      // the package's stages in pipeline order, any this harness does not know of, then 'other'
      const found = runs.flatMap((p) => Object.keys(p?.stagesMs ?? {}));
      const stages = [...new Set([...STAGES, ...found.filter((st) => st !== 'other'), 'other'])].filter((st) => found.includes(st));
      const head = [`**${s.name}** ${shapeText(s)}`, KIND_NAME[kind]];
      const row = (what: string, cell: (p: ProfileResult | undefined, i: number) => string, ortCell = '') => {
        const cells = [...runs.map(cell), ortCell];
        if (cells.every((c) => c === '')) return;
        rows.push([...head, what, ...cells]);
        head.fill('');
      };
      for (const stage of stages) row(stage, (p) => share(p?.stagesMs[stage], p), fmtMs(ortOf[stage]).replace('—', ''));
      row('serial (pass − parallel steps)', (p) => share(p?.serialMs, p));
      row('busy per thread', (p) => (p?.busyMs ? p.busyMs.map(fmtMs).join(' / ') : ''));
      row('**total**', (p) => fmtMs(p?.totalMs), ort ? fmtMs(ort.totalMs) : '');
    }
  }
  return [
    '### Where the time goes, milliseconds (share of the pass)',
    '',
    table(['config', 'attention', 'stage', 'linformer-wasm simd 1T', 'simd 2T', 'relaxed 1T', 'relaxed 2T', 'ORT 1T (estimate)'], rows),
    '',
    "Package stages: the steps its forward pass reports to the profile hook (globalThis[Symbol.for('linformer-wasm.profile')]), summed by stage, " +
      `medians of the passes of one process per column (${passRange(data.profile)} passes${data.meta.quick ? ', --quick' : `: at least 7, or 3 where a pass takes seconds, and more until they fill about ${PROFILE_BUDGET_MS / 1000} s`}); ` +
      "each column comes from a process of its own, run one after the other, so no speed-up is taken between them (on a shared machine, two processes seconds apart can differ in speed by tens of percent): the two-thread table of the main run times its 1T and 2T instances in turn in one process; " +
      "'other' is the pass minus all its steps. Where its Linformer projects the inputs along the sequence first, that step also holds the k and v in-projections (on k rows). " +
      'Serial: the pass minus the steps that ran on two threads or more (at 1 thread: minus the steps the pool would split, all but copy in and copy out), as a share of the pass. ' +
      'Busy per thread: the time each thread computed in the steps, the caller first. ' +
      "ORT: its whole graph ('spec' order for Linformer) and single-node MatMul graphs of the same shapes as its projections (constant weights, as in the graph), 1 thread; " +
      'its attention row is the whole graph minus those, so it also holds the transposes and reshapes.',
  ].join('\n');
}

/**
 * --lines: for each line, ours over onnxruntime-web 1 thread on its faster
 * graph ('project-first' for Linformer), plain / relaxed build, each ratio
 * from one process.
 */
export function linesSection(data: RunData): string {
  const runs = data.lines ?? [];
  if (!runs.length) return '';
  const rows: string[][] = [];
  for (const s of data.shapes.attention) {
    for (const kind of ['linformer', 'standard'] as const) {
      if (!runs.some((r) => r.attention.some((a) => a.config === s.name && a.kind === kind))) continue;
      const ortId = kind === 'linformer' ? 'ort1-project-first' : 'ort1';
      const cells = runs.map((r) => {
        const ratio = (group: 'simd' | 'relaxed') => fmtRatio(speedup(r.attention, s.name, kind, group, ortId));
        const ms = engine(r.attention, s.name, kind, 'relaxed', 'package') ?? engine(r.attention, s.name, kind, 'simd', 'package');
        return `${ratio('simd')} / ${ratio('relaxed')} (${cellMs(ms)} ms)`;
      });
      rows.push([`**${s.name}** ${shapeText(s)}`, kind === 'linformer' ? 'Linformer' : 'standard', ...cells]);
    }
  }
  const checks = runs.flatMap((r) => r.attention.flatMap((a) => a.engines.filter((e) => e.check && !e.check.agrees).map((e) => `Node ${r.node} ${a.config} ${a.kind} ${e.label}`)));
  return [
    '### Speed-up over onnxruntime-web 1 thread on each Node.js line',
    '',
    table(['config', 'attention', ...runs.map((r) => `Node ${r.node} (V8 ${r.v8.split('-')[0]})`)], rows),
    '',
    "Each cell: plain SIMD / relaxed SIMD build over onnxruntime-web 1.30 with 1 thread on its faster graph ('project-first' for Linformer), " +
      'both medians from one process of that line, and the milliseconds of our faster build. ' +
      (checks.length ? `Outputs that disagree: ${checks.join('; ')}.` : 'All outputs agree with the plain build on the same line.'),
  ].join('\n');
}

/** Every engine of --browser, medians. */
const BROWSER_MEDIANS: EngineColumn[] = [
  { title: 'linformer-wasm simd 1T', group: 'simd', id: () => 'package' },
  { title: 'relaxed 1T', group: 'relaxed', id: () => 'package' },
  { title: 'simd 2T', group: 'simd2', id: () => 'package' },
  { title: 'relaxed 2T', group: 'relaxed2', id: () => 'package' },
  ...ortChecks('simd', 1),
  ...ortChecks('simd2', 2),
];

/** --browser: the attention configs in headless Chromium. */
function browserSections(data: RunData): string[] {
  const b = data.browser;
  if (!b || b.attention.length === 0) return [];
  const shapes = data.shapes.attention;
  const medians = engineRows(b.attention, shapes, BROWSER_MEDIANS, cellMs);
  return [
    `${b.userAgent}, headless, on a page served with COOP/COEP (crossOriginIsolated). One page load per group, as the Node processes are: ` +
      'each build at 1 thread with onnxruntime-web 1 thread beside it, and each build\'s 2-thread page: the package loaded twice, at 1 and at 2 threads, with onnxruntime-web 2 threads beside it. ' +
      'The package is dist/index.browser.js with its wasm and worker beside it; onnxruntime-web is its dist/ort.wasm.min.mjs.',
    '### In Chromium: attention forward pass, milliseconds (medians)',
    table(['config', 'attention', ...BROWSER_MEDIANS.map((c) => c.title)], medians),
    "ORT columns: onnxruntime-web 1.30; its 1-thread figures are from the plain build's page, its 2-thread ones from the plain build's 2-thread page.",
    threadsSection(b.attention, shapes, '### In Chromium: two threads, milliseconds and speed-ups'),
    checksSection(b.attention, shapes, CHECKS, '### In Chromium: outputs checked against linformer-wasm (plain SIMD build, 1 thread)'),
  ];
}

/** What was left out, and what failed. */
function closing(data: RunData): string[] {
  return [
    data.skipped.length ? `Left out: ${data.skipped.join('; ')}.` : '',
    data.failures.length ? `**Failed:**\n${data.failures.map((f) => `- ${f}`).join('\n')}` : '',
  ];
}

function modeOf(data: RunData): RunMode {
  if (data.meta.mode) return data.meta.mode;
  return data.lines?.length ? 'lines' : data.table3 ? 'table3' : data.profile.length ? 'profile' : 'bench';
}

export function renderMarkdown(data: RunData, chartPath?: string): string {
  const join = (parts: string[]) => parts.filter(Boolean).join('\n\n') + '\n';
  const mode = modeOf(data);
  if (mode === 'lines') {
    const head = `## linformer-wasm on each Node.js line\n\nMachine: ${data.meta.cpu} (${data.meta.cpus} logical CPUs). Command: \`${data.meta.command}\`, ${data.meta.date}.`;
    return join([head, linesSection(data), ...closing(data)]);
  }
  if (mode === 'browser') {
    const head = `## linformer-wasm in the browser\n\nMachine: ${data.meta.cpu} (${data.meta.cpus} logical CPUs). Command: \`${data.meta.command}\`, ${data.meta.date}.`;
    return join([head, ...browserSections(data), ...closing(data)]);
  }
  if (mode === 'table3' || mode === 'profile') {
    const what = mode === 'table3' ? "the Linformer paper's Table 3 on this machine" : 'where the time goes';
    const head = `## linformer-wasm: ${what}\n\nMachine: ${data.meta.cpu}, Node ${data.meta.node}. Command: \`${data.meta.command}\`, ${data.meta.date}.`;
    return join([head, table3Section(data), profileSection(data), ...closing(data)]);
  }
  return join([
    '## linformer-wasm benchmark',
    header(data),
    attentionSection(data),
    threadsSection(data.attention, data.shapes.attention, '### Two threads: milliseconds and speed-ups'),
    throughputSection(data),
    checksSection(data.attention, data.shapes.attention, CHECKS, '### Outputs checked against linformer-wasm (plain SIMD build)'),
    memorySection(data),
    coldSection(data),
    gemmSection(data),
    sweepSection(data, chartPath),
    table3Section(data),
    ...closing(data),
  ]);
}
