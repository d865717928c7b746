// The benchmark harness: `npm run bench [-- flags]`.
//
//   --shapes FILE   shapes file (default bench/shapes.txt)
//   --only A,B      only these entries of the shapes file (by name), or these
//                   parts: attention, gemm, sweep, cold (the ceiling always runs)
//   --quick         few runs, and skips the slowest configs: for development
//   --json FILE     raw figures (every run's time, checks, memory) as JSON
//   --md FILE       the markdown tables (default bench/.out/results.md)
//   --chart FILE    the SVG chart of time against sequence length (default bench/.out/scaling.svg)
//   --table3        only the Linformer paper's Table 3 on this machine
//   --profile       only where each attention config's time goes, stage by
//                   stage as the package's profile hook reports it, at 1 and
//                   2 threads (serial share, each thread's busy time), beside
//                   onnxruntime-web's GEMM-shaped steps
//   --browser       only the attention configs, in headless Chromium
//                   (/usr/bin/chromium or as tests/helpers/chromium.ts finds
//                   it) on a crossOriginIsolated page: the package's builds and
//                   onnxruntime-web at 1 and 2 threads, one page load per
//                   group of lib/protocol.ts (a 2-thread page loads the
//                   package twice, for 1 and 2 threads side by side)
//   --lines A,B     only the attention configs, on each of these Node.js
//                   lines (20,22,24,26 or 'all'; pinned binaries from the npm
//                   registry, scripts/runtimes.mjs), ours against
//                   onnxruntime-web: the per-line table
//   --render FILE   print the tables of an earlier run's --json file again
//                   (with --md, --chart), measuring nothing
//
// Every measurement runs in a child process (see lib/protocol.ts), or with
// --browser in a page; this process plans the jobs, shows progress on
// stderr, checks every engine's output against the package's and prints the
// tables to stdout. Attention runs at 1 thread, and in a 2-thread process
// per build: the package twice in it (two instances, at 1 and 2 threads)
// beside onnxruntime-web at 2, timed in turn round by round, so that the
// 2-thread ratios divide medians of one process (see Group).
import { fork, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import type { AttentionResult, BrowserPageJob, EngineResult, Group, Job, JobResult, ReferenceResult, TimingPolicy, WorkerMessage } from './lib/protocol.js';
import { buildOf, measuresPackage, PACKAGE_1T, PROFILE_BUDGET_MS, threadsOf } from './lib/protocol.js';
import { attentionFlops, parseShapes, type AttentionShape } from './lib/shapes.js';
import { compareOutputs } from './lib/compare.js';
import { pickRows } from './lib/spot-check.js';
import type { BrowserSession } from './browser/session.js';
import { renderMarkdown, sweepSeries, type RunData } from './lib/report.js';
import { lineChartSvg } from './lib/chart.js';
// @ts-expect-error: a plain ES module of the repo's scripts, without types
import { install, NODE_LINES, PINNED } from '../scripts/runtimes.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
/** The bundles live in bench/.out/; the repository root is two levels up. */
const root = path.resolve(here, '..', '..');
const workerPath = path.join(here, 'worker.mjs');

// ---------------------------------------------------------------- options

interface Options {
  shapesFile: string;
  only: string[] | null;
  quick: boolean;
  json?: string;
  md: string;
  chart: string;
  table3: boolean;
  profile: boolean;
  /** --lines: the Node.js majors to run the attention configs on. */
  lines: string[] | null;
  /** A --json file of an earlier run, to print again without measuring. */
  render?: string;
  browser: boolean;
}

function parseArgs(argv: string[]): Options {
  const opts: Options = {
    shapesFile: path.join(root, 'bench', 'shapes.txt'),
    only: null,
    quick: false,
    md: path.join(root, 'bench', '.out', 'results.md'),
    chart: path.join(root, 'bench', '.out', 'scaling.svg'),
    table3: false,
    profile: false,
    lines: null,
    browser: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--shapes') opts.shapesFile = path.resolve(value());
    else if (a === '--only') opts.only = [...(opts.only ?? []), ...value().split(',')];
    else if (a === '--quick') opts.quick = true;
    else if (a === '--json') opts.json = path.resolve(value());
    else if (a === '--md') opts.md = path.resolve(value());
    else if (a === '--chart') opts.chart = path.resolve(value());
    else if (a === '--table3') opts.table3 = true;
    else if (a === '--profile') opts.profile = true;
    else if (a === '--browser') opts.browser = true;
    else if (a === '--lines') {
      const v = value();
      opts.lines = v === 'all' ? (NODE_LINES as string[]).map((l) => l.slice('node'.length)) : v.split(',');
    } else if (a === '--render') opts.render = path.resolve(value());
    else throw new Error(`unknown option ${a} (see the top of bench/main.ts)`);
  }
  return opts;
}

const FULL: TimingPolicy = { budgetMs: 2000, minRuns: 3, maxRuns: 200, warmupMs: 300, prewarmMs: 150 };
const QUICK: TimingPolicy = { budgetMs: 100, minRuns: 5, maxRuns: 30, warmupMs: 0, prewarmMs: 30 };
/** Table 3: big n costs tens of seconds a run, so a long first run is the measurement. */
const TABLE3: TimingPolicy = { budgetMs: 2000, minRuns: 1, maxRuns: 9, warmupMs: 0, prewarmMs: 150, singleRunAboveMs: 2000 };
const TABLE3_QUICK: TimingPolicy = { budgetMs: 200, minRuns: 1, maxRuns: 3, warmupMs: 0, prewarmMs: 30, singleRunAboveMs: 300 };
/** --quick leaves out attention configs above this many FLOPs a pass. */
const QUICK_MAX_FLOPS = 30e9;
const QUICK_MAX_L = 2048;

// ---------------------------------------------------------------- processes

// (func (param v128) (result v128) local.get 0 (×3) f32x4.relaxed_madd): validates only with relaxed SIMD
const RELAXED_PROBE = [0, 97, 115, 109, 1, 0, 0, 0, 1, 6, 1, 96, 1, 123, 1, 123, 3, 2, 1, 0, 10, 13, 1, 11, 0, 32, 0, 32, 0, 32, 0, 253, 133, 2, 11];

/** The node flags under which relaxed SIMD validates on `node` (none on Node ≥ 21), or null where it never does. */
function relaxedExecArgv(node = process.execPath): string[] | null {
  const probe = `process.exit(WebAssembly.validate(new Uint8Array([${RELAXED_PROBE}])) ? 0 : 1)`;
  for (const flags of [[], ['--experimental-wasm-relaxed-simd']]) {
    try {
      execFileSync(node, [...flags, '-e', probe], { stdio: 'ignore' });
      return flags;
    } catch {
      // not with these flags (Node ≥ 22 rejects the flag itself)
    }
  }
  return null;
}

/** Node.js version and V8 version of a binary. */
function versionsOf(node: string): { node: string; v8: string } {
  const out = execFileSync(node, ['-p', 'JSON.stringify({ node: process.version, v8: process.versions.v8 })'], { encoding: 'utf8' });
  return JSON.parse(out);
}

class Progress {
  private readonly tty = process.stderr.isTTY;
  private readonly start = performance.now();
  private shown = 0;

  constructor(private readonly total: number) {}

  private clock(): string {
    const s = Math.round((performance.now() - this.start) / 1000);
    return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
  }

  update(index: number, title: string, detail: string): void {
    const head = `[${String(index).padStart(String(this.total).length)}/${this.total} ${this.clock()}] ${title}`;
    if (this.tty) {
      const line = `${head}${detail ? ` · ${detail}` : ''}`;
      const width = process.stderr.columns || 120;
      process.stderr.write(`\r\x1b[2K${line.slice(0, width - 1)}`);
    } else if (index !== this.shown) {
      // not a terminal: one line per job, no per-run chatter
      this.shown = index;
      process.stderr.write(`${head}\n`);
    }
  }

  done(): void {
    if (this.tty) process.stderr.write('\r\x1b[2K');
    process.stderr.write(`bench: finished in ${this.clock()}\n`);
  }
}

/** How long a job's process may take to exit after its answer before it is killed. */
const EXIT_GRACE_MS = 10_000;

function runJob(job: Job, execArgv: string[], execPath: string, onProgress: (text: string) => void): Promise<JobResult> {
  return new Promise((resolve, reject) => {
    const child = fork(workerPath, [], { execPath, execArgv, stdio: ['ignore', 'ignore', 'pipe', 'ipc'], cwd: root });
    let stderr = '';
    child.stderr!.on('data', (d) => {
      stderr = (stderr + d).slice(-4000);
    });
    let settled = false;
    let reaper: NodeJS.Timeout | undefined;
    const answered = () => {
      settled = true;
      // Its answer is in: a process that then does not exit is ended (Node's
      // exit can deadlock on a background compile: nodejs/node#54918).
      reaper = setTimeout(() => child.kill('SIGKILL'), EXIT_GRACE_MS);
    };
    child.on('message', (msg: WorkerMessage) => {
      if (msg.type === 'progress') onProgress(msg.text);
      else if (msg.type === 'result') {
        answered();
        resolve(msg.result);
      } else {
        answered();
        reject(new Error(msg.message));
      }
    });
    child.on('exit', (code, signal) => {
      clearTimeout(reaper);
      if (!settled) reject(new Error(`worker exited (${signal ?? code}) without a result${stderr ? `:\n${stderr.trim()}` : ''}`));
    });
    child.send(job);
  });
}

/** A file of raw float32s (a small file's Buffer sits inside a shared pool: copy its own bytes out). */
function readFloats(file: string): Float32Array {
  const b = readFileSync(file);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

/** Whether two outputs are the same bits (NaNs included). */
function sameBits(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  return x.every((v, i) => v === y[i]);
}

/** --browser: the package's output in the page (plain build, 1 thread) against the float64 reference, as the worker checks it in Node. */
function float64Check(ref: ReferenceResult, packageOutput: Float32Array, E: number): EngineResult {
  const want = readFloats(ref.outputFile);
  const got = ref.rows ? pickRows(packageOutput, E, ref.rows) : packageOutput;
  return { id: 'js', label: ref.rows ? `plain JS (${ref.rows.length} rows)` : 'plain JS', check: compareOutputs(want, got) };
}

// ---------------------------------------------------------------- plan

/** A job for a child process, or (--browser) a page load. */
type Planned =
  | {
      title: string;
      job: Job;
      execArgv: string[];
      /** The node binary that runs the job (--lines); this one otherwise. */
      execPath?: string;
      /** --lines: the index in data.lines the result belongs to. */
      line?: number;
    }
  | { title: string; page: BrowserPageJob };

function quickSkips(s: AttentionShape, kind: 'linformer' | 'standard'): boolean {
  return attentionFlops(kind, s.L, s.E, s.k) > QUICK_MAX_FLOPS;
}

/** Prints the tables, writes them, the chart and (with --json) the raw figures. */
function report(data: RunData, opts: Options): void {
  let chartPath: string | undefined;
  const series = sweepSeries(data);
  const sw = data.shapes.sweep;
  if (series.length && sw) {
    const svg = lineChartSvg(series, {
      title: `Attention time against sequence length, log–log (E=${sw.E}, H=${sw.H}, k=${sw.k})`,
      subtitle: `one thread, N = 1, ${data.meta.cpu}, Node ${data.meta.node}; dashed: standard attention`,
      xLabel: 'sequence length L = S',
      yLabel: 'milliseconds (median)',
    });
    mkdirSync(path.dirname(opts.chart), { recursive: true });
    writeFileSync(opts.chart, svg);
    chartPath = path.relative(root, opts.chart);
  }
  const markdown = renderMarkdown(data, chartPath);
  process.stdout.write(markdown);
  mkdirSync(path.dirname(opts.md), { recursive: true });
  writeFileSync(opts.md, markdown);
  if (opts.json && opts.json !== opts.render) {
    mkdirSync(path.dirname(opts.json), { recursive: true });
    writeFileSync(opts.json, JSON.stringify(data, null, 1) + '\n');
  }
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.render) {
    report(JSON.parse(readFileSync(opts.render, 'utf8')) as RunData, opts);
    return;
  }
  const shapes = parseShapes(readFileSync(opts.shapesFile, 'utf8'), path.relative(root, opts.shapesFile));
  const outDir = path.join(root, 'bench', '.out', `outputs-${process.pid}`);
  const relaxedArgv = relaxedExecArgv();
  const policy = opts.quick ? QUICK : FULL;
  const cpu = os.cpus()[0]?.model?.trim() ?? 'unknown CPU';
  const data: RunData = {
    meta: {
      date: new Date().toISOString().slice(0, 10),
      command: ['npm run bench', ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2).map((a) => (path.isAbsolute(a) ? path.relative(root, a) : a))] : [])].join(' '),
      cpu,
      cpus: os.cpus().length,
      node: process.version,
      v8: process.versions.v8,
      platform: `${os.type()} ${os.arch()}`,
      quick: opts.quick,
      relaxedAvailable: relaxedArgv !== null,
      relaxedExecArgv: relaxedArgv,
      timing: policy,
      mode: opts.lines ? 'lines' : opts.browser ? 'browser' : opts.table3 ? 'table3' : opts.profile ? 'profile' : 'bench',
    },
    shapes,
    peak: [],
    attention: [],
    gemm: [],
    sweep: [],
    cold: [],
    profile: [],
    lines: [],
    skipped: [],
    failures: [],
  };
  if (opts.only) {
    const known = ['attention', 'gemm', 'sweep', 'cold', ...shapes.attention.map((s) => s.name), ...shapes.gemm.map((g) => g.name), ...(shapes.sweep ? [shapes.sweep.name] : [])];
    const unknown = opts.only.filter((n) => !known.includes(n));
    if (unknown.length) throw new Error(`--only: unknown ${unknown.join(', ')} (known: ${known.join(', ')})`);
  }
  const selected = (name: string, part: string) => !opts.only || opts.only.includes(name) || opts.only.includes(part);
  const argvOf = (group: Group) => (buildOf(group) === 'relaxed' ? relaxedArgv ?? [] : []);
  // simd first: its package output is every other engine's reference
  const withRelaxed = (gs: Group[]) => gs.filter((g) => relaxedArgv || buildOf(g) !== 'relaxed');
  const gemmGroups = withRelaxed(['simd', 'relaxed', 'ort2']);
  // ORT 2T runs in the 2-thread groups (it cannot share a process with ORT 1T)
  const attentionGroups = withRelaxed(['simd', 'relaxed', 'simd2', 'relaxed2']);
  if (!relaxedArgv && !opts.browser) data.skipped.push('the relaxed-SIMD build (this Node cannot run relaxed SIMD)');

  const plan: Planned[] = [];
  // The ceiling is a best-of: other load on the machine only ever lowers it.
  // A full run measures it at the start and again at the end.
  const planCeiling = (when: string) => {
    for (const group of ['simd', 'relaxed'] as const) {
      if (group === 'relaxed' && !relaxedArgv) continue;
      const job: Job = { type: 'peak', group, msPerTrial: opts.quick ? 20 : 100, trials: opts.quick ? 3 : 12 };
      plan.push({ title: `ceiling · ${group}${when}`, job, execArgv: argvOf(group) });
    }
  };
  /** --quick leaves out the slowest configs unless --only names them; the report lists what it left out. */
  const skippedByQuick = (s: (typeof shapes.attention)[number], kind: 'linformer' | 'standard'): boolean => {
    if (!opts.quick || !quickSkips(s, kind) || opts.only?.includes(s.name)) return false;
    data.skipped.push(`${s.name} ${kind} (--quick)`);
    return true;
  };
  const measuresThroughput = !opts.table3 && !opts.profile && !opts.lines && !opts.browser;
  /** The attention configs and kinds this run covers (--quick leaves some out). */
  const attentionJobs = () =>
    shapes.attention.filter((s) => selected(s.name, 'attention')).flatMap((shape) => (['linformer', 'standard'] as const).filter((kind) => !skippedByQuick(shape, kind)).map((kind) => ({ shape, kind })));
  if (measuresThroughput) planCeiling('');

  if (opts.lines) {
    // The same attention jobs on each line, each in a process of that line's
    // node: ours (both builds) and onnxruntime-web 1 thread side by side.
    for (const major of opts.lines) {
      const name = `node${major}`;
      if (!(PINNED as Record<string, unknown>)[name]) throw new Error(`--lines: no pinned Node.js ${major} (known: ${NODE_LINES.join(', ')})`);
      const node: string = install(name);
      const argv = relaxedExecArgv(node);
      const line = data.lines.push({ ...versionsOf(node), relaxedExecArgv: argv, attention: [] }) - 1;
      for (const s of shapes.attention) {
        if (!selected(s.name, 'attention')) continue;
        for (const kind of ['linformer', 'standard'] as const) {
          if (quickSkips(s, kind) && !opts.only?.includes(s.name)) {
            if (line === 0) data.skipped.push(`${s.name} ${kind} (--lines keeps to passes under ${QUICK_MAX_FLOPS / 1e9} GFLOP)`);
            continue;
          }
          for (const group of argv ? (['simd', 'relaxed'] as const) : (['simd'] as const)) {
            const job: Job = { type: 'attention', group, shape: s, kind, timing: policy, outDir };
            plan.push({ title: `Node ${major} · ${s.name} · ${kind} · ${group}`, job, execArgv: group === 'relaxed' ? argv! : [], execPath: node, line });
          }
        }
      }
    }
  } else if (opts.profile) {
    for (const { shape, kind } of attentionJobs()) {
      for (const group of withRelaxed(['simd', 'simd2', 'relaxed', 'relaxed2'])) {
        const threads = threadsOf(group);
        const job: Job = { type: 'profile', group: buildOf(group), threads, shape, kind, runs: opts.quick ? 3 : 7, budgetMs: opts.quick ? 0 : PROFILE_BUDGET_MS, withOrt: group === 'simd' };
        plan.push({ title: `profile · ${shape.name} · ${kind} · ${buildOf(group)} ${threads}T`, job, execArgv: argvOf(group) });
      }
    }
  } else if (opts.browser) {
    // the float64 reference in Node first, then one page per group with every config
    const attention = attentionJobs();
    for (const { shape, kind } of attention) {
      plan.push({ title: `float64 reference · ${shape.name} · ${kind}`, job: { type: 'reference', shape, kind, outDir }, execArgv: [] });
    }
    for (const group of ['simd', 'relaxed', 'simd2', 'relaxed2'] as const) {
      plan.push({ title: `Chromium · ${group}`, page: { group, attention, timing: policy } });
    }
  } else if (opts.table3) {
    if (!shapes.table3) throw new Error(`${opts.shapesFile} has no table3 entry`);
    const spec = { ...shapes.table3 };
    if (opts.quick) spec.ns = spec.ns.filter((n) => n <= QUICK_MAX_L);
    const group = relaxedArgv ? 'relaxed' : 'simd';
    plan.push({ title: 'Table 3', job: { type: 'table3', group, spec, timing: opts.quick ? TABLE3_QUICK : TABLE3 }, execArgv: argvOf(group) });
  } else {
    const short = shapes.attention.find((s) => s.name === 'short') ?? shapes.attention[0];
    if (short && selected('cold', 'cold')) {
      for (const kind of ['linformer', 'standard'] as const) {
        for (const group of ['simd', 'relaxed'] as const) {
          if (group === 'relaxed' && !relaxedArgv) continue;
          plan.push({ title: `cold start · ${short.name} · ${kind} · linformer-wasm ${group}`, job: { type: 'cold', engine: 'package', group, shape: short, kind }, execArgv: argvOf(group) });
        }
        plan.push({ title: `cold start · ${short.name} · ${kind} · onnxruntime-web`, job: { type: 'cold', engine: 'ort', group: 'simd', shape: short, kind }, execArgv: [] });
      }
    }
    for (const { shape, kind } of attentionJobs()) {
      for (const group of attentionGroups) {
        plan.push({ title: `${shape.name} · ${kind} · ${group}`, job: { type: 'attention', group, shape, kind, timing: policy, outDir }, execArgv: argvOf(group) });
      }
    }
    const gemms = shapes.gemm.filter((g) => selected(g.name, 'gemm'));
    if (gemms.length) {
      for (const group of gemmGroups) {
        plan.push({ title: `SGEMM · ${group}`, job: { type: 'gemm', group, shapes: gemms, timing: policy, outDir }, execArgv: argvOf(group) });
      }
    }
    if (shapes.sweep && selected(shapes.sweep.name, 'sweep')) {
      const sweep = { ...shapes.sweep };
      if (opts.quick) sweep.Ls = sweep.Ls.filter((L) => L <= QUICK_MAX_L);
      for (const kind of ['linformer', 'standard'] as const) {
        plan.push({ title: `sweep · ${kind}`, job: { type: 'sweep', group: 'simd', sweep, kind, timing: policy }, execArgv: [] });
      }
    }
  }

  if (measuresThroughput && !opts.quick) planCeiling(' (again)');

  // ------------------------------------------------------------ run
  mkdirSync(outDir, { recursive: true });
  const progress = new Progress(plan.length);
  /** Each build's package output at 1 thread, by `${key}.${build}`: the simd one is every engine's reference, each one its 2-thread twin's. */
  const ownOutputs = new Map<string, string>();
  const checkAgainst = (key: string, engines: EngineResult[], group: Group) => {
    const pkg = engines.find((e) => e.id === 'package');
    const own = `${key}.${buildOf(group)}`;
    if (pkg?.outputFile && measuresPackage(group) && threadsOf(group) === 1) ownOutputs.set(own, pkg.outputFile);
    const refFile = ownOutputs.get(`${key}.simd`);
    const reference = refFile ? readFloats(refFile) : null;
    // the contract: the same bits at every thread count; at 2 threads the
    // 1-thread instance beside it and the build's 1-thread process
    const oneThread = threadsOf(group) > 1 ? [engines.find((e) => e.id === PACKAGE_1T)?.outputFile, ownOutputs.get(own)].filter((f) => f !== undefined).map(readFloats) : [];
    const kept = new Set(ownOutputs.values());
    for (const e of engines) {
      if (!e.outputFile) continue;
      if (e.outputFile !== refFile) {
        const out = readFloats(e.outputFile);
        if (reference) e.check = compareOutputs(out, reference);
        if (e === pkg && oneThread.length) e.identicalTo1T = oneThread.every((o) => sameBits(out, o));
      }
      if (!kept.has(e.outputFile)) rmSync(e.outputFile, { force: true });
      delete e.outputFile;
    }
  };
  /** --browser: the float64 references by `${config}.${kind}`, and the browser itself once a page needs it. */
  const references = new Map<string, ReferenceResult>();
  let browser: BrowserSession | undefined;
  const runPage = async (job: BrowserPageJob, onProgress: (text: string) => void) => {
    if (!browser) browser = await (await import('./browser/session.js')).BrowserSession.start(root, outDir);
    return browser.runPage(job, onProgress);
  };

  try {
    for (let i = 0; i < plan.length; i++) {
      const planned = plan[i];
      const { title } = planned;
      const line = 'job' in planned ? planned.line : undefined;
      progress.update(i + 1, title, '');
      const onProgress = (text: string) => progress.update(i + 1, title, text);
      let result: JobResult;
      try {
        result = 'page' in planned ? await runPage(planned.page, onProgress) : await runJob(planned.job, planned.execArgv, planned.execPath ?? process.execPath, onProgress);
      } catch (e) {
        data.failures.push(`${title}: ${e instanceof Error ? e.message.split('\n').slice(0, 6).join(' ') : String(e)}`);
        continue;
      }
      switch (result.type) {
        case 'peak':
          data.peak.push(result);
          break;
        case 'attention': {
          // Outputs are checked against the package's plain build on the same line.
          checkAgainst(`${line ?? ''}.${result.config}.${result.kind}`, result.engines, result.group);
          (line === undefined ? data.attention : data.lines[line].attention).push(result as AttentionResult);
          break;
        }
        case 'gemm':
          for (const s of result.shapes) checkAgainst(`${s.name}.gemm`, s.engines, result.group);
          data.gemm.push(result);
          break;
        case 'sweep':
          data.sweep.push(result);
          break;
        case 'cold':
          data.cold.push(result);
          break;
        case 'table3':
          data.table3 = result;
          break;
        case 'profile':
          data.profile.push(result);
          break;
        case 'reference':
          references.set(`${result.config}.${result.kind}`, result);
          break;
        case 'browser': {
          data.browser ??= { userAgent: result.userAgent, attention: [] };
          for (const r of result.attention) {
            const key = `browser.${r.config}.${r.kind}`;
            checkAgainst(key, r.engines, r.group);
            const ref = references.get(`${r.config}.${r.kind}`);
            const own = ownOutputs.get(`${key}.simd`);
            if (r.group === 'simd' && ref && own) r.engines.push(float64Check(ref, readFloats(own), shapes.attention.find((s) => s.name === r.config)!.E));
            data.browser.attention.push(r);
          }
          break;
        }
      }
    }
  } finally {
    await browser?.close();
    rmSync(outDir, { recursive: true, force: true });
  }
  progress.done();

  // ------------------------------------------------------------ report
  report(data, opts);
  if (data.failures.length) process.exitCode = 1;
}

if (!existsSync(workerPath)) {
  process.stderr.write(`bench: ${workerPath} is missing; run it through \`npm run bench\`, which builds it\n`);
  process.exit(1);
}
main().catch((e) => {
  process.stderr.write(`\nbench: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
