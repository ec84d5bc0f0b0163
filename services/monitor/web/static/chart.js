// SVG line charts of time series ([[unix_ms, value], ...]).

import { svg, clock, num } from './dom.js';

const W = 600;
const H = 170;
const PAD = { left: 46, right: 10, top: 10, bottom: 22 };

// lineChart draws lines (each {name, points, cls}) into the <svg> node,
// replacing what it held; the time axis spans every line's points.
export function lineChart(node, lines) {
  node.replaceChildren();
  node.setAttribute('viewBox', `0 0 ${W} ${H}`);
  const all = lines.flatMap((l) => l.points || []);
  if (all.length === 0) {
    node.append(svg('text', { x: W / 2, y: H / 2, class: 'chart-empty', 'text-anchor': 'middle' }, 'no data yet'));
    return;
  }
  let t0 = Infinity;
  let t1 = -Infinity;
  let vmax = 0;
  for (const [t, v] of all) {
    t0 = Math.min(t0, t);
    t1 = Math.max(t1, t);
    if (Number.isFinite(v)) vmax = Math.max(vmax, v);
  }
  if (t1 === t0) t1 = t0 + 1000;
  const ymax = niceCeil(vmax);
  const x = (t) => PAD.left + ((t - t0) / (t1 - t0)) * (W - PAD.left - PAD.right);
  const y = (v) => H - PAD.bottom - (v / ymax) * (H - PAD.top - PAD.bottom);

  // Grid and labels: 0, half and the top of the value axis; start, middle
  // and end of the time axis.
  for (const f of [0, 0.5, 1]) {
    const v = ymax * f;
    node.append(
      svg('line', { x1: PAD.left, x2: W - PAD.right, y1: y(v), y2: y(v), class: 'grid' }),
      svg('text', { x: PAD.left - 6, y: y(v) + 4, 'text-anchor': 'end', class: 'axis' }, num(v, v < 10 ? 1 : 0)),
    );
  }
  for (const [f, anchor] of [[0, 'start'], [0.5, 'middle'], [1, 'end']]) {
    const t = t0 + f * (t1 - t0);
    node.append(svg('text', { x: x(t), y: H - 6, 'text-anchor': anchor, class: 'axis' }, clock(new Date(t))));
  }

  const legend = svg('g', { class: 'chart-legend' });
  lines.forEach((line, i) => {
    const pts = (line.points || []).filter(([, v]) => Number.isFinite(v));
    if (pts.length > 0) {
      const d = pts.map(([t, v], j) => (j ? 'L' : 'M') + x(t).toFixed(1) + ' ' + y(v).toFixed(1)).join(' ');
      node.append(svg('path', { d, class: 'line ' + (line.cls || ''), 'data-series': line.name }));
      const last = pts[pts.length - 1][1];
      legend.append(svg('text', { x: W - PAD.right - 4, y: PAD.top + 12 + 14 * i, 'text-anchor': 'end', class: 'legend-text ' + (line.cls || '') },
        `${line.label || line.name} ${num(last, last < 10 ? 2 : 0)}`));
    }
  });
  node.append(legend);
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten (1 for v <= 0).
function niceCeil(v) {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) {
    if (v <= m * p) return m * p;
  }
  return 10 * p;
}
