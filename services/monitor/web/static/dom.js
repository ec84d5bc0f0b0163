// Small DOM helpers. Text always goes in through textContent, never as HTML.

const SVG_NS = 'http://www.w3.org/2000/svg';

// el builds an HTML element: attrs are attributes (data-* included), a
// "class" key sets the class; children are nodes or strings.
export function el(tag, attrs = {}, ...children) {
  return fill(document.createElement(tag), attrs, children);
}

// svg builds an SVG element the same way.
export function svg(tag, attrs = {}, ...children) {
  return fill(document.createElementNS(SVG_NS, tag), attrs, children);
}

function fill(node, attrs, children) {
  for (const [k, v] of Object.entries(attrs)) {
    if (v !== undefined && v !== null && v !== false) node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) {
    if (c !== undefined && c !== null) node.append(c);
  }
  return node;
}

// bar is a horizontal bar: a track with one segment per {value, cls}, out
// of max.
export function bar(max, ...segments) {
  const track = el('span', { class: 'bar' });
  for (const s of segments) {
    const seg = el('span', { class: 'seg ' + (s.cls || '') });
    seg.style.width = (max > 0 ? Math.min(100, (100 * s.value) / max) : 0) + '%';
    track.append(seg);
  }
  return track;
}

// num formats a count or rate for people.
export function num(x, digits = 0) {
  if (x === undefined || x === null || Number.isNaN(x)) return '–';
  return Number(x).toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

// ago says how long before now the RFC3339 time t was.
export function ago(t) {
  if (!t) return '–';
  const s = Math.round((Date.now() - Date.parse(t)) / 1000);
  if (!Number.isFinite(s)) return '–';
  if (s < 2) return 'now';
  if (s < 90) return s + ' s ago';
  if (s < 5400) return Math.round(s / 60) + ' min ago';
  if (s < 129600) return Math.round(s / 3600) + ' h ago';
  return Math.round(s / 86400) + ' d ago';
}

// clock formats a time as HH:MM:SS, local time.
export function clock(t) {
  const d = t instanceof Date ? t : new Date(t);
  return Number.isNaN(d.getTime()) ? '–' : d.toLocaleTimeString('en-GB', { hour12: false });
}
