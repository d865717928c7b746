// Reads the shapes file (bench/shapes.txt): see its header for the format.

export type AttentionKind = 'linformer' | 'standard';

export interface AttentionShape {
  name: string;
  L: number;
  E: number;
  H: number;
  k: number;
  /** Also run the plain-JS reference. */
  ref: boolean;
  targets: {
    /** Linformer speed-up over onnxruntime-web, one thread. */
    linformer?: number;
    /** Standard attention speed-up over onnxruntime-web, one thread. */
    standard?: number;
    /** Standard attention must run within this much wasm memory (MiB). */
    standardMb?: number;
    /** The package at 2 threads over itself at 1 thread, either build. */
    threads?: number;
    /** Linformer at 2 threads over onnxruntime-web 2 threads on its faster graph, per build. */
    linformer2T?: PerBuild;
    /** Standard attention at 2 threads over onnxruntime-web 2 threads, per build. */
    standard2T?: PerBuild;
  };
}

/** A target for each of the package's builds. */
export interface PerBuild {
  simd: number;
  relaxed: number;
}

export interface GemmShape {
  name: string;
  M: number;
  K: number;
  N: number;
  ref: boolean;
}

export interface SweepSpec {
  name: string;
  E: number;
  H: number;
  k: number;
  Ls: number[];
  standardMax: number;
}

export interface Table3Spec {
  E: number;
  H: number;
  ns: number[];
  ks: number[];
  sharing: 'none' | 'layerwise' | 'kv' | 'per-head';
}

export interface Shapes {
  attention: AttentionShape[];
  gemm: GemmShape[];
  sweep: SweepSpec | null;
  table3: Table3Spec | null;
}

class Fields {
  private readonly values = new Map<string, string>();
  readonly flags = new Set<string>();

  constructor(
    tokens: string[],
    private readonly where: string,
  ) {
    for (const t of tokens) {
      const eq = t.indexOf('=');
      if (eq < 0) this.flags.add(t);
      else this.values.set(t.slice(0, eq), t.slice(eq + 1));
    }
  }

  private raw(key: string): string {
    const v = this.values.get(key);
    if (v === undefined) throw new Error(`${this.where}: missing ${key}=`);
    return v;
  }

  int(key: string): number {
    const v = Number(this.raw(key));
    if (!Number.isInteger(v) || v <= 0) throw new Error(`${this.where}: ${key} must be a positive integer`);
    return v;
  }

  optionalNumber(key: string): number | undefined {
    if (!this.values.has(key)) return undefined;
    const v = Number(this.values.get(key));
    if (!(v > 0)) throw new Error(`${this.where}: ${key} must be a positive number`);
    return v;
  }

  /** `simd/relaxed`, or one number for both builds. */
  optionalPerBuild(key: string): PerBuild | undefined {
    if (!this.values.has(key)) return undefined;
    const parts = this.values.get(key)!.split('/').map(Number);
    if (parts.length > 2 || !parts.every((v) => v > 0)) throw new Error(`${this.where}: ${key} must be a positive number or two (simd/relaxed)`);
    return { simd: parts[0], relaxed: parts[parts.length - 1] };
  }

  ints(key: string): number[] {
    return this.raw(key)
      .split(',')
      .map((s) => {
        const v = Number(s);
        if (!Number.isInteger(v) || v <= 0) throw new Error(`${this.where}: ${key} must be positive integers`);
        return v;
      });
  }

  text(key: string, fallback: string): string {
    return this.values.get(key) ?? fallback;
  }
}

export function parseShapes(text: string, file: string): Shapes {
  const shapes: Shapes = { attention: [], gemm: [], sweep: null, table3: null };
  const names = new Set<string>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].replace(/#.*/, '').trim();
    if (!line) continue;
    const where = `${file}:${i + 1}`;
    const [kind, ...rest] = line.split(/\s+/);
    const named = (): [string, Fields] => {
      const [name, ...tokens] = rest;
      if (!name || name.includes('=')) throw new Error(`${where}: ${kind} needs a name`);
      if (names.has(name)) throw new Error(`${where}: '${name}' is defined twice`);
      names.add(name);
      return [name, new Fields(tokens, where)];
    };
    if (kind === 'attention') {
      const [name, f] = named();
      const shape: AttentionShape = {
        name,
        L: f.int('L'),
        E: f.int('E'),
        H: f.int('H'),
        k: f.int('k'),
        ref: f.flags.has('ref'),
        targets: {
          linformer: f.optionalNumber('target-linformer'),
          standard: f.optionalNumber('target-standard'),
          standardMb: f.optionalNumber('target-standard-mb'),
          threads: f.optionalNumber('target-threads'),
          linformer2T: f.optionalPerBuild('target-linformer-2t'),
          standard2T: f.optionalPerBuild('target-standard-2t'),
        },
      };
      if (shape.E % shape.H !== 0) throw new Error(`${where}: E must be divisible by H`);
      shapes.attention.push(shape);
    } else if (kind === 'gemm') {
      const [name, f] = named();
      shapes.gemm.push({ name, M: f.int('M'), K: f.int('K'), N: f.int('N'), ref: f.flags.has('ref') });
    } else if (kind === 'sweep') {
      const [name, f] = named();
      const Ls = f.ints('L');
      shapes.sweep = { name, E: f.int('E'), H: f.int('H'), k: f.int('k'), Ls, standardMax: f.optionalNumber('standard-max') ?? Math.max(...Ls) };
    } else if (kind === 'table3') {
      const f = new Fields(rest, where);
      const sharing = f.text('sharing', 'layerwise');
      if (!['none', 'layerwise', 'kv', 'per-head'].includes(sharing)) throw new Error(`${where}: unknown sharing '${sharing}'`);
      shapes.table3 = { E: f.int('E'), H: f.int('H'), ns: f.ints('n'), ks: f.ints('k'), sharing: sharing as Table3Spec['sharing'] };
    } else {
      throw new Error(`${where}: unknown entry '${kind}' (attention, gemm, sweep or table3)`);
    }
  }
  return shapes;
}

/**
 * FLOPs of one forward pass (a multiply-add counts two; softmax left out).
 * Linformer's keys and values can be projected along the sequence before or
 * after their in-projection (equal results): this counts the cheaper order,
 * the work the pass needs, whichever order an engine takes.
 */
export function attentionFlops(kind: AttentionKind, L: number, E: number, k: number): number {
  const attention = (P: number) => 4 * L * P * E; // scores and weighted sum over P positions
  if (kind === 'standard') return 8 * L * E * E + attention(L);
  const sequence = 4 * k * L * E; // E·(·) and F·(·) over L positions
  const afterInProjection = 8 * L * E * E + sequence;
  const beforeInProjection = 4 * L * E * E + 4 * k * E * E + sequence; // q and out on L rows, k and v on k rows
  return Math.min(afterInProjection, beforeInProjection) + attention(k);
}
