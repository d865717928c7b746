// Writes AssemblyScript variants of the GEMM micro-kernel from one template
// and compiles each, in both builds, into bench/.out/gemm-variants/:
//
//   src/<name>.ts          the generated source (never committed)
//   plain/<name>.wasm      asconfig.json "options" (simd)
//   relaxed/<name>.wasm    the same plus target "relaxed" (simd, relaxed-simd)
//
// Every variant reads the one packed-B layout of pack_b_f32_x8 (8-column
// panels of 8·(K+1) floats, bias head first) and exports
// gemm(c, ldc, a, lda, packedB, m, n, k, rowBias) with the contract of
// gemm_f32_4x8_simd, so a winner can replace it without touching any other
// code. A 16-wide tile reads two adjacent panels, j at bp and j+1 at
// bp + panelBytes; an odd last panel goes through the MR×8 tile of the same
// variant. Rows left below a multiple of MR go through an r-row tile
// (r = 1 … MR-1) of the same shape. The reference module "cur" re-exports the
// repository's gemm_f32_4x8_simd (and the packer) unchanged.
//
//   node bench/gemm-variants/gen.mjs [--only name,name] [--no-compile]

import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const outDir = path.join(root, 'bench/.out/gemm-variants');
const srcDir = path.join(outDir, 'src');

/**
 * The variants. mr: rows of the tile; np: 8-wide panels per tile (1 → NR 8,
 * 2 → NR 16); bcast: 'splat' (v128.load32_splat per row and step, as the
 * current kernel) or 'shuf' (one v128.load of 4 consecutive A elements per
 * row, broadcast lane by lane with a shuffle; K stepped by 4); ku: K unroll
 * of the splat loop; order: 'a' (per row: splat, then its madds against the
 * B vectors loaded first; the current kernel) or 'b' (all the row splats
 * first, then per B vector: load it, then its madds down the rows).
 */
export const VARIANTS = [
  { name: '4x8', mr: 4, np: 1, note: 'the current tile, from the template (a control)' },
  { name: '5x8', mr: 5, np: 1 },
  { name: '6x8', mr: 6, np: 1 },
  { name: '8x8', mr: 8, np: 1 },
  { name: '2x16', mr: 2, np: 2 },
  { name: '3x16', mr: 3, np: 2 },
  { name: '4x16', mr: 4, np: 2 },
  { name: '3x16b', mr: 3, np: 2, order: 'b', note: 'B-outer: 3 splats, then one B vector at a time' },
  { name: '4x8k2', mr: 4, np: 1, ku: 2, note: 'K unrolled by 2' },
  { name: '5x8k2', mr: 5, np: 1, ku: 2, note: 'K unrolled by 2' },
  { name: '6x8k2', mr: 6, np: 1, ku: 2, note: 'K unrolled by 2: the row addresses serve two steps' },
  { name: '6x8k4', mr: 6, np: 1, ku: 4, note: 'K unrolled by 4' },
  { name: '4x8s', mr: 4, np: 1, bcast: 'shuf', note: 'v128 load of A + lane shuffle, K by 4' },
  { name: '2x16s', mr: 2, np: 2, bcast: 'shuf', note: 'v128 load of A + lane shuffle, K by 4' },
];

const DEFAULTS = { bcast: 'splat', ku: 1, order: 'a' };

function mcFor(mr) {
  // the current MC = 128 rows, rounded down to a multiple of MR so that
  // only the last block of A has leftover rows
  return Math.floor(128 / mr) * mr;
}

// ---- template ----

const rel = (from, to) => {
  let r = path.relative(path.dirname(from), to).split(path.sep).join('/');
  if (!r.startsWith('.')) r = './' + r;
  return r.replace(/\.ts$/, '');
};

/** Accumulator name: row i, vector q (q = 0 … 2·np-1, 4 columns each). */
const acc = (i, q) => `c${i}${q}`;

/** A pointer expression for row i (ap plus a loop-invariant row offset). */
const arow = (i) => (i === 0 ? 'ap' : `ap + o${i}`);

/**
 * One K step (u-th of an unrolled group) in splat mode: B vectors, then rows.
 * B of panel p, vector h, step u is at (p ? bq : bp) + 32u + 16h.
 */
function stepSplat(r, np, u, order, ind) {
  const L = [];
  const nq = 2 * np;
  const bAt = (q) => `${q >= 2 ? 'bq' : 'bp'}, ${32 * u + 16 * (q & 1)}`;
  const aOff = 4 * u;
  const splat = (i) => `v128.load32_splat(${arow(i)}${aOff ? `, ${aOff}` : ''})`;
  if (order === 'a') {
    for (let q = 0; q < nq; q++) L.push(`const b${q}_${u} = v128.load(${bAt(q)});`);
    for (let i = 0; i < r; i++) {
      L.push(`const v${i}_${u} = ${splat(i)};`);
      for (let q = 0; q < nq; q++) L.push(`${acc(i, q)} = madd(v${i}_${u}, b${q}_${u}, ${acc(i, q)});`);
    }
  } else {
    for (let i = 0; i < r; i++) L.push(`const v${i}_${u} = ${splat(i)};`);
    for (let q = 0; q < nq; q++) {
      L.push(`const b${q}_${u} = v128.load(${bAt(q)});`);
      for (let i = 0; i < r; i++) L.push(`${acc(i, q)} = madd(v${i}_${u}, b${q}_${u}, ${acc(i, q)});`);
    }
  }
  return L.map((s) => ind + s);
}

/** Four K steps in shuffle mode: one v128 of A per row, broadcast lane u. */
function stepsShuf(r, np, ind) {
  const L = [];
  const nq = 2 * np;
  for (let i = 0; i < r; i++) L.push(`const x${i} = v128.load(${arow(i)});`);
  for (let u = 0; u < 4; u++) {
    for (let q = 0; q < nq; q++) L.push(`const b${q}_${u} = v128.load(${q >= 2 ? 'bq' : 'bp'}, ${32 * u + 16 * (q & 1)});`);
    for (let i = 0; i < r; i++) {
      L.push(`const v${i}_${u} = v128.shuffle<f32>(x${i}, x${i}, ${u}, ${u}, ${u}, ${u});`);
      for (let q = 0; q < nq; q++) L.push(`${acc(i, q)} = madd(v${i}_${u}, b${q}_${u}, ${acc(i, q)});`);
    }
  }
  return L.map((s) => ind + s);
}

/**
 * The r×(8·np) tile. `inline`: AssemblyScript @inline (the main tile, so
 * that the constant arguments of the fast path fold into a lean copy).
 */
function tile(v, r, np, inline) {
  const w = 8 * np;
  const nq = 2 * np;
  const L = [];
  L.push(`/** One ${r}×${w} tile: C[0..${r}, 0..nr) at c (row stride ldc floats). */`);
  if (inline) L.push('// @ts-ignore: decorator', '@inline');
  L.push(`function tile_${r}x${w}(c: usize, ldc: i32, a: usize, lda: i32, panel: usize, pb: usize, k: i32, nr: i32, rowBias: usize): void {`);
  if (r > 1) L.push('  const sa = <usize>lda << 2;');
  for (let i = 1; i < r; i++) L.push(`  const o${i} = sa * ${i};`);
  L.push('  let ap = a;');
  L.push('  let bp = panel;');
  if (np === 2) L.push('  let bq = panel + pb;');
  for (let q = 0; q < nq; q++) L.push(`  let ${acc(0, q)} = v128.load(${q >= 2 ? 'bq' : 'bp'}, ${16 * (q & 1)});`);
  for (let i = 1; i < r; i++) L.push(`  let ${Array.from({ length: nq }, (_, q) => `${acc(i, q)} = ${acc(0, q)}`).join(', ')};`);
  L.push('  bp += 32;');
  if (np === 2) L.push('  bq += 32;');
  L.push('  const bEnd = bp + (<usize>k << 5);');
  const group = v.bcast === 'shuf' ? 4 : v.ku;
  const adv = (g) => [`    ap += ${4 * g};`, `    bp += ${32 * g};`, ...(np === 2 ? [`    bq += ${32 * g};`] : [])];
  if (group > 1) {
    L.push(`  const bEndG = bp + (<usize>(k & ~${group - 1}) << 5);`);
    L.push('  while (bp < bEndG) {');
    if (v.bcast === 'shuf') L.push(...stepsShuf(r, np, '    '));
    else for (let u = 0; u < group; u++) L.push(...stepSplat(r, np, u, v.order, '    '));
    L.push(...adv(group));
    L.push('  }');
  }
  L.push('  while (bp < bEnd) {');
  L.push(...stepSplat(r, np, 0, v.order, '    '));
  L.push(...adv(1));
  L.push('  }');
  L.push('  if (rowBias != 0) {');
  for (let i = 0; i < r; i++) {
    L.push(`    const r${i} = v128.load32_splat(rowBias${i ? `, ${4 * i}` : ''});`);
    L.push('    ' + Array.from({ length: nq }, (_, q) => `${acc(i, q)} = f32x4.add(${acc(i, q)}, r${i});`).join(' '));
  }
  L.push('  }');
  L.push('  const sc = <usize>ldc << 2;');
  const full = (i) => Array.from({ length: nq }, (_, q) => `v128.store(c, ${acc(i, q)}${q ? `, ${16 * q}` : ''});`).join(' ');
  const next = (i) => (i < r - 1 ? ' c += sc;' : '');
  L.push(`  if (nr == ${w}) {`);
  for (let i = 0; i < r; i++) L.push(`    ${full(i)}${next(i)}`);
  L.push('  } else {');
  for (let i = 0; i < r; i++) {
    if (np === 1) L.push(`    storeTail(c, ${acc(i, 0)}, ${acc(i, 1)}, nr);${next(i)}`);
    else L.push(`    v128.store(c, ${acc(i, 0)}); v128.store(c, ${acc(i, 1)}, 16); storeTail(c + 32, ${acc(i, 2)}, ${acc(i, 3)}, nr - 8);${next(i)}`);
  }
  L.push('  }');
  L.push('}');
  return L.join('\n');
}

/** Rows left below a multiple of MR: one r-row tile, r = 1 … MR-1. */
function leftover(mr, np) {
  const w = 8 * np;
  const L = [];
  L.push(`/** The last r (1 … ${mr - 1}) rows of a block, ${w} columns. */`);
  L.push(`function rows_x${w}(r: i32, c: usize, ldc: i32, a: usize, lda: i32, panel: usize, pb: usize, k: i32, nr: i32, rowBias: usize): void {`);
  for (let r = 1; r < mr; r++) {
    L.push(`  ${r > 1 ? 'else ' : ''}${r < mr - 1 ? `if (r == ${r}) ` : ''}tile_${r}x${w}(c, ldc, a, lda, panel, pb, k, nr, rowBias);`);
  }
  L.push('}');
  return L.join('\n');
}

function panelLoop(mr, np) {
  const w = 8 * np;
  const step = np;
  const L = [];
  const cond = np === 2 ? 'jp + 1 < panels' : 'jp < panels';
  L.push(`    for (; ${cond}; jp += ${step}) {`);
  L.push('      const panel = packedB + <usize>jp * panelBytes;');
  L.push(`      const nr = min(${w}, n - (jp << 3));`);
  L.push('      const cj = c + (<usize>jp << 5);');
  L.push('      let i = i0;');
  L.push(`      if (nr == ${w} && rowBias == 0) {`);
  L.push(`        for (; i < iM; i += MR) tile_${mr}x${w}(cj + <usize>i * sc, ldc, a + <usize>i * sa, lda, panel, panelBytes, k, ${w}, 0);`);
  L.push('      } else {');
  L.push('        for (; i < iM; i += MR) {');
  L.push(`          tile_${mr}x${w}(cj + <usize>i * sc, ldc, a + <usize>i * sa, lda, panel, panelBytes, k, nr, rowBias != 0 ? rowBias + (<usize>i << 2) : 0);`);
  L.push('        }');
  L.push('      }');
  if (mr > 1) {
    L.push(`      if (i < i1) rows_x${w}(i1 - i, cj + <usize>i * sc, ldc, a + <usize>i * sa, lda, panel, panelBytes, k, nr, rowBias != 0 ? rowBias + (<usize>i << 2) : 0);`);
  }
  L.push('    }');
  return L.join('\n');
}

export function variantSource(v0, file) {
  const v = { ...DEFAULTS, ...v0 };
  const { mr, np } = v;
  const simd = rel(file, path.join(root, 'assembly/inline/simd.ts'));
  const L = [];
  L.push(`// Generated by bench/gemm-variants/gen.mjs: variant ${v.name} (${mr}×${8 * np}, bcast ${v.bcast}, K unroll ${v.bcast === 'shuf' ? 4 : v.ku}, order ${v.order}).`);
  L.push('// Same contract and packed-B layout as assembly/gemm/gemm_f32_4x8_simd.ts.');
  L.push(`import { madd, storeLanes } from '${simd}';`);
  L.push('');
  L.push(`const MR: i32 = ${mr};`);
  L.push(`const MC: i32 = ${mcFor(mr)};`);
  L.push('');
  L.push('// @ts-ignore: decorator');
  L.push('@inline function storeTail(c: usize, lo: v128, hi: v128, nr: i32): void {');
  L.push('  storeLanes(c, lo, min(nr, 4));');
  L.push('  if (nr > 4) storeLanes(c + 16, hi, nr - 4);');
  L.push('}');
  L.push('');
  const widths = np === 2 ? [2, 1] : [1];
  for (const p of widths) {
    L.push(tile(v, mr, p, true), '');
    for (let r = 1; r < mr; r++) L.push(tile(v, r, p, true), '');
    if (mr > 1) L.push(leftover(mr, p), '');
  }
  L.push('/** C = A·B + bias (+ rowBias); the contract of gemm_f32_4x8_simd. */');
  L.push('export function gemm(c: usize, ldc: i32, a: usize, lda: i32, packedB: usize, m: i32, n: i32, k: i32, rowBias: usize): usize {');
  L.push('  const panelBytes = (<usize>(k + 1)) << 5;');
  L.push('  const panels = (n + 7) >> 3;');
  L.push('  const sa = <usize>lda << 2;');
  L.push('  const sc = <usize>ldc << 2;');
  L.push('  for (let i0 = 0; i0 < m; i0 += MC) {');
  L.push('    const i1 = min(m, i0 + MC);');
  L.push((mr & (mr - 1)) === 0 ? '    const iM = i0 + ((i1 - i0) & ~(MR - 1));' : '    const iM = i1 - (i1 - i0) % MR;');
  L.push('    let jp = 0;');
  for (const p of widths) L.push(panelLoop(mr, p));
  L.push('  }');
  L.push('  return c;');
  L.push('}');
  return L.join('\n') + '\n';
}

function curSource(file) {
  const g = rel(file, path.join(root, 'assembly/gemm/gemm_f32_4x8_simd.ts'));
  const p = rel(file, path.join(root, 'assembly/packw/pack_b_f32_x8.ts'));
  return [
    '// Generated by bench/gemm-variants/gen.mjs: the repository kernel, unchanged, plus the packer.',
    `export { gemm_f32_4x8_simd as gemm } from '${g}';`,
    `export { pack_b_f32_x8, packed_b_size } from '${p}';`,
    '',
  ].join('\n');
}

// ---- compile with asconfig.json's options ----

/** asc command-line flags for asconfig.json's "options", plus a target's overrides. */
export function ascFlags(target) {
  const cfg = JSON.parse(readFileSync(path.join(root, 'asconfig.json'), 'utf8'));
  const opts = { ...cfg.options, ...(target ? cfg.targets[target] : {}) };
  const flags = [];
  for (const [key, value] of Object.entries(opts)) {
    if (key === 'outFile' || key === 'textFile' || key === 'binaryFile') continue;
    if (value === true) flags.push(`--${key}`);
    else if (value === false) continue;
    else if (Array.isArray(value)) flags.push(`--${key}`, value.join(','));
    else flags.push(`--${key}`, String(value));
  }
  return flags;
}

export const BUILDS = { plain: 'simd', relaxed: 'relaxed' };

async function main() {
  const args = process.argv.slice(2);
  const onlyAt = args.indexOf('--only');
  const only = onlyAt >= 0 ? new Set(args[onlyAt + 1].split(',')) : null;
  const compile = !args.includes('--no-compile');
  mkdirSync(srcDir, { recursive: true });
  const names = [];
  const curFile = path.join(srcDir, 'cur.ts');
  if (!only || only.has('cur')) {
    writeFileSync(curFile, curSource(curFile));
    names.push('cur');
  }
  for (const v of VARIANTS) {
    if (only && !only.has(v.name)) continue;
    const file = path.join(srcDir, `${v.name}.ts`);
    writeFileSync(file, variantSource(v, file));
    names.push(v.name);
  }
  if (!only) writeFileSync(path.join(outDir, 'variants.json'), JSON.stringify(['cur', ...VARIANTS.map((v) => v.name)], null, 1));
  if (!compile) return;
  const asc = (await import(path.join(root, 'node_modules/assemblyscript/dist/asc.js'))).default;
  for (const [build, target] of Object.entries(BUILDS)) {
    const dir = path.join(outDir, build);
    mkdirSync(dir, { recursive: true });
    for (const name of names) {
      const out = path.join(dir, `${name}.wasm`);
      rmSync(out, { force: true });
      const argv = [path.join(srcDir, `${name}.ts`), '--outFile', out, ...ascFlags(target)];
      const t0 = performance.now();
      const { error, stderr } = await asc.main(argv, { stdout: process.stdout, stderr: process.stderr });
      if (error) {
        process.stderr.write(`${build}/${name}: ${error.message}\n${stderr?.toString?.() ?? ''}`);
        process.exitCode = 1;
        continue;
      }
      process.stderr.write(`${build}/${name}.wasm  ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
    }
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
