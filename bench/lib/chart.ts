// A log–log line chart as a standalone SVG: time against sequence length,
// one line per engine, with slope-1 and slope-2 guides so linear and
// quadratic growth can be read off directly.

export interface Series {
  label: string;
  color: string;
  dashed?: boolean;
  points: { x: number; y: number }[];
}

export interface ChartOptions {
  title: string;
  subtitle?: string;
  xLabel: string;
  yLabel: string;
}

const W = 800, H = 500;
const PAD = { left: 70, right: 250, top: 64, bottom: 56 };

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function fmtTick(v: number): string {
  return String(Number(v.toPrecision(3)));
}

export function lineChartSvg(series: Series[], opts: ChartOptions): string {
  const all = series.flatMap((s) => s.points).filter((p) => p.x > 0 && p.y > 0);
  if (all.length === 0) return '';
  const lx = (v: number) => Math.log10(v);
  let x0 = Math.min(...all.map((p) => lx(p.x))), x1 = Math.max(...all.map((p) => lx(p.x)));
  let y0 = Math.floor(Math.min(...all.map((p) => lx(p.y)))), y1 = Math.ceil(Math.max(...all.map((p) => lx(p.y))));
  if (x1 === x0) (x0 -= 0.5), (x1 += 0.5);
  if (y1 === y0) y1 += 1;
  const pw = W - PAD.left - PAD.right, ph = H - PAD.top - PAD.bottom;
  const X = (v: number) => PAD.left + ((lx(v) - x0) / (x1 - x0)) * pw;
  const Y = (v: number) => PAD.top + ph - ((lx(v) - y0) / (y1 - y0)) * ph;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, -apple-system, Segoe UI, sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="#fff"/>`);
  out.push(`<text x="${PAD.left}" y="24" font-size="15" font-weight="600">${esc(opts.title)}</text>`);
  if (opts.subtitle) out.push(`<text x="${PAD.left}" y="44" fill="#555">${esc(opts.subtitle)}</text>`);

  // grid: x at the data's sequence lengths, y at 1, 2, 5 × 10^n
  const xs = [...new Set(all.map((p) => p.x))].sort((a, b) => a - b);
  for (const v of xs) {
    out.push(`<line x1="${X(v)}" y1="${PAD.top}" x2="${X(v)}" y2="${PAD.top + ph}" stroke="#eee"/>`);
    out.push(`<text x="${X(v)}" y="${PAD.top + ph + 18}" text-anchor="middle" fill="#333">${v}</text>`);
  }
  for (let e = y0; e <= y1; e++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** e;
      if (lx(v) > y1 + 1e-9) break;
      const major = m === 1;
      out.push(`<line x1="${PAD.left}" y1="${Y(v)}" x2="${PAD.left + pw}" y2="${Y(v)}" stroke="${major ? '#ddd' : '#f2f2f2'}"/>`);
      out.push(`<text x="${PAD.left - 8}" y="${Y(v) + 4}" text-anchor="end" fill="${major ? '#333' : '#999'}">${fmtTick(v)}</text>`);
    }
  }
  out.push(`<rect x="${PAD.left}" y="${PAD.top}" width="${pw}" height="${ph}" fill="none" stroke="#999"/>`);
  out.push(`<text x="${PAD.left + pw / 2}" y="${H - 14}" text-anchor="middle">${esc(opts.xLabel)}</text>`);
  out.push(`<text transform="translate(18 ${PAD.top + ph / 2}) rotate(-90)" text-anchor="middle">${esc(opts.yLabel)}</text>`);

  // guides from just below the lowest first point: time ∝ L and ∝ L²
  const firsts = series.map((s) => s.points.filter((p) => p.x > 0 && p.y > 0).sort((a, b) => a.x - b.x)[0]).filter(Boolean);
  const gx0 = 10 ** x0;
  const gy0 = Math.max(10 ** y0, Math.min(...firsts.map((p) => p.y)) / 2);
  out.push(`<clipPath id="plot"><rect x="${PAD.left}" y="${PAD.top}" width="${pw}" height="${ph}"/></clipPath>`);
  for (const [slope, name] of [[1, '∝ L'], [2, '∝ L²']] as const) {
    const gx1 = 10 ** x1;
    const gy1 = gy0 * (gx1 / gx0) ** slope;
    out.push(`<line clip-path="url(#plot)" x1="${X(gx0)}" y1="${Y(gy0)}" x2="${X(gx1)}" y2="${Y(gy1)}" stroke="#bbb" stroke-dasharray="2 4"/>`);
    const labelX = Math.min(gx1, gx0 * (10 ** y1 / gy0) ** (1 / slope));
    const labelY = gy0 * (labelX / gx0) ** slope;
    out.push(`<text x="${X(labelX) - 4}" y="${Y(labelY) + (slope === 1 ? -6 : 14)}" text-anchor="end" fill="#999">${name}</text>`);
  }

  series.forEach((s, i) => {
    const pts = s.points.filter((p) => p.x > 0 && p.y > 0).sort((a, b) => a.x - b.x);
    if (pts.length === 0) return;
    const d = pts.map((p, j) => `${j ? 'L' : 'M'}${X(p.x).toFixed(1)},${Y(p.y).toFixed(1)}`).join(' ');
    out.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="7 4"' : ''}/>`);
    for (const p of pts) out.push(`<circle cx="${X(p.x).toFixed(1)}" cy="${Y(p.y).toFixed(1)}" r="3" fill="${s.color}"/>`);
    const ly = PAD.top + 10 + i * 22;
    const lxp = PAD.left + pw + 16;
    out.push(`<line x1="${lxp}" y1="${ly}" x2="${lxp + 26}" y2="${ly}" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="7 4"' : ''}/>`);
    out.push(`<text x="${lxp + 32}" y="${ly + 4}">${esc(s.label)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
