// Tables from measure.mjs's JSON records: variant × Node line, per build and
// size, GFLOP/s and the ratio to cur. Several records of one Node line and
// build (repeated runs) are combined: the median of their medians, with the
// range of the per-run ratios.
//
//   node bench/gemm-variants/report.mjs bench/.out/gemm-variants/results/*.json

import { readFileSync } from 'node:fs';

const files = process.argv.slice(2);
if (!files.length) {
  process.stderr.write('usage: node bench/gemm-variants/report.mjs <measure.mjs JSON files>\n');
  process.exit(2);
}
const records = files.map((f) => JSON.parse(readFileSync(f, 'utf8')));
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
};
const geomean = (xs) => Math.exp(xs.reduce((a, x) => a + Math.log(x), 0) / xs.length);
const line = (r) => `Node ${r.node.split('.')[0].slice(1)} (V8 ${r.v8.split('.').slice(0, 2).join('.')})`;

const lines = [...new Set(records.map(line))].sort((a, b) => Number(a.split(' ')[1]) - Number(b.split(' ')[1]));
const builds = [...new Set(records.flatMap((r) => r.results.map((x) => x.build)))];
const sizes = [...new Set(records.flatMap((r) => r.results.map((x) => x.size)))];
const variants = [...new Set(records.flatMap((r) => r.results.map((x) => x.variant)))];

function cell(build, size, variant, ln) {
  const rs = records.filter((r) => line(r) === ln).flatMap((r) => r.results.filter((x) => x.build === build && x.size === size && x.variant === variant));
  if (!rs.length) return null;
  return { gflops: median(rs.map((x) => x.gflops)), ratio: median(rs.map((x) => x.ratio)), lo: Math.min(...rs.map((x) => x.ratio)), hi: Math.max(...rs.map((x) => x.ratio)), runs: rs.length };
}

const out = [];
const runs = Object.fromEntries(lines.map((ln) => [ln, records.filter((r) => line(r) === ln).length]));
out.push(`Runs per line: ${lines.map((ln) => `${ln} ${runs[ln]}`).join(', ')}. Cells: GFLOP/s, then ×ratio to cur (median of runs; range over runs when more than one).`);
out.push('');
for (const build of builds) {
  out.push(`#### ${build} build: GFLOP/s and ratio to cur, geometric means over the ${sizes.length} sizes (median over runs, range of the runs)`);
  out.push('');
  out.push(`| variant | ${lines.join(' | ')} |`);
  out.push(`| --- | ${lines.map(() => '---').join(' | ')} |`);
  for (const v of variants) {
    const cells = lines.map((ln) => {
      // per run: geometric means over the sizes; then the median over runs
      const perRun = records.filter((r) => line(r) === ln).map((r) => {
        const xs = r.results.filter((x) => x.build === build && x.variant === v && sizes.includes(x.size));
        return xs.length === sizes.length ? { gf: geomean(xs.map((x) => x.gflops)), ratio: geomean(xs.map((x) => x.ratio)) } : null;
      }).filter(Boolean);
      if (!perRun.length) return '—';
      const gf = median(perRun.map((x) => x.gf)).toFixed(1);
      if (v === 'cur') return gf;
      const rs = perRun.map((x) => x.ratio);
      const range = rs.length > 1 ? ` (${Math.min(...rs).toFixed(2)}–${Math.max(...rs).toFixed(2)})` : '';
      return `${gf} ×${median(rs).toFixed(3)}${range}`;
    });
    out.push(`| ${v} | ${cells.join(' | ')} |`);
  }
  out.push('');
  for (const size of sizes) {
    out.push(`##### ${build}, M×N×K = ${size.replace(/x/g, '×')}`);
    out.push('');
    out.push(`| variant | ${lines.join(' | ')} |`);
    out.push(`| --- | ${lines.map(() => '---').join(' | ')} |`);
    for (const v of variants) {
      const cells = lines.map((ln) => {
        const c = cell(build, size, v, ln);
        if (!c) return '—';
        if (v === 'cur') return c.gflops.toFixed(1);
        const range = c.runs > 1 ? ` (${c.lo.toFixed(2)}–${c.hi.toFixed(2)})` : '';
        return `${c.gflops.toFixed(1)} ×${c.ratio.toFixed(3)}${range}`;
      });
      out.push(`| ${v} | ${cells.join(' | ')} |`);
    }
    out.push('');
  }
}
const peaks = lines.map((ln) => {
  const ps = records.filter((r) => line(r) === ln && r.peaks);
  return `${ln}: ${builds.map((b) => `${b} ${median(ps.map((p) => p.peaks[b]).filter((x) => x != null)).toFixed(1)}`).join(', ')}`;
});
out.push(`Ceiling (GFLOP/s, median over runs): ${peaks.join('; ')}`);
process.stdout.write(out.join('\n') + '\n');
