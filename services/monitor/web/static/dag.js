// The task graph of one job: tasks in columns by dependency depth, SVG
// nodes coloured by state, edges for dependencies, updated live from task
// events. A big graph stays usable by drawing a crowded layer as one node
// per op with counts per state instead of one node per task.

import { el, svg } from './dom.js';

// STATES in the order their counts are drawn.
export const STATES = ['succeeded', 'running', 'queued', 'retrying', 'pending', 'failed', 'skipped', 'cancelled'];

// A layer with more tasks than LAYER_LIMIT, or every layer of a graph with
// more than TOTAL_LIMIT tasks, is drawn as groups (one per op).
const LAYER_LIMIT = 40;
const TOTAL_LIMIT = 400;

const TASK_W = 150;
const TASK_H = 24;
const GROUP_W = 170;
const GROUP_H = 44;
const GAP_X = 70;
const GAP_Y = 8;
const MARGIN = 12;
const FIT_MIN = 0.6;

// stateOf maps a task event's state to the stored state it leads to; null
// for events that change nothing (a backup copy, a superseded copy).
export function stateOf(event) {
  switch (event) {
    case 'started':
      return 'running';
    case 'deadlettered':
      return 'failed';
    case 'backup':
    case 'superseded':
      return null;
    default:
      return event;
  }
}

const FINAL = new Set(['succeeded', 'skipped', 'cancelled']);

export class DagView {
  // node is the <svg> to draw into, legend an element for the state legend.
  constructor(node, legend) {
    this.node = node;
    this.legend = legend;
    this.tasks = new Map(); // id -> task
    this.vnodeOf = new Map(); // task id -> visual node
    this.dirty = new Set();
    this.timer = 0;
    this.drawLegend();
  }

  // load lays out and draws tasks ([{id, op, state, deps, ...}]).
  load(tasks) {
    // Changes waiting to be painted belong to the nodes being replaced.
    clearTimeout(this.timer);
    this.timer = 0;
    this.dirty.clear();
    this.tasks = new Map(tasks.map((t) => [t.id, { ...t, deps: t.deps || [] }]));
    const layers = layering(this.tasks);
    const vlayers = this.group(layers);
    order(vlayers);
    this.draw(vlayers);
  }

  // has reports whether task id is in the graph.
  has(id) {
    return this.tasks.has(id);
  }

  // update applies one task event; it reports false for a task the graph
  // does not hold (the caller reloads).
  update(ev) {
    const t = this.tasks.get(ev.task_id);
    if (!t) return false;
    const next = stateOf(ev.state);
    if (next === null || FINAL.has(t.state)) return true;
    t.state = next;
    if (ev.worker_id) t.worker_id = ev.worker_id;
    this.dirty.add(this.vnodeOf.get(t.id));
    if (!this.timer) this.timer = setTimeout(() => this.flush(), 100);
    return true;
  }

  // counts is the number of tasks per state.
  counts() {
    const c = {};
    for (const t of this.tasks.values()) c[t.state] = (c[t.state] || 0) + 1;
    return c;
  }

  group(layers) {
    const collapseAll = this.tasks.size > TOTAL_LIMIT;
    this.vnodeOf = new Map();
    return layers.map((ids, layer) => {
      const vs = [];
      if (collapseAll || ids.length > LAYER_LIMIT) {
        const byOp = new Map();
        for (const id of ids) {
          const op = this.tasks.get(id).op;
          if (!byOp.has(op)) {
            const v = { key: `g:${layer}:${op}`, layer, op, group: true, ids: [] };
            byOp.set(op, v);
            vs.push(v);
          }
          byOp.get(op).ids.push(id);
        }
      } else {
        for (const id of ids) vs.push({ key: 't:' + id, layer, op: this.tasks.get(id).op, group: false, ids: [id] });
      }
      for (const v of vs) {
        v.parents = new Set();
        for (const id of v.ids) this.vnodeOf.set(id, v);
      }
      return vs;
    }).map((vs) => {
      for (const v of vs) {
        for (const id of v.ids) {
          for (const d of this.tasks.get(id).deps) {
            const p = this.vnodeOf.get(d);
            if (p) v.parents.add(p);
          }
        }
      }
      return vs;
    });
  }

  draw(vlayers) {
    const colX = [];
    let x = MARGIN;
    for (const vs of vlayers) {
      colX.push(x);
      x += (vs.some((v) => v.group) ? GROUP_W : TASK_W) + GAP_X;
    }
    const heights = vlayers.map((vs) => vs.reduce((h, v) => h + (v.group ? GROUP_H : TASK_H) + GAP_Y, -GAP_Y));
    const tallest = Math.max(0, ...heights);
    vlayers.forEach((vs, i) => {
      let y = MARGIN + (tallest - heights[i]) / 2;
      for (const v of vs) {
        v.x = colX[i];
        v.y = y;
        v.w = v.group ? GROUP_W : TASK_W;
        v.h = v.group ? GROUP_H : TASK_H;
        y += v.h + GAP_Y;
      }
    });
    const width = Math.max(x - GAP_X + MARGIN, 200);
    const height = tallest + 2 * MARGIN;
    this.node.replaceChildren();
    this.node.setAttribute('viewBox', `0 0 ${width} ${height}`);
    // Shrink a tall graph to fit the view, down to FIT_MIN; beyond that its
    // box scrolls.
    const fit = Math.min(1, Math.max(FIT_MIN, (0.7 * window.innerHeight - 4) / height));
    this.node.setAttribute('width', width * fit);
    this.node.setAttribute('height', height * fit);
    this.node.dataset.tasks = String(this.tasks.size);

    const edges = svg('g', { class: 'edges' });
    const nodes = svg('g', { class: 'nodes' });
    for (const vs of vlayers) {
      for (const v of vs) {
        for (const p of v.parents) {
          const x1 = p.x + p.w;
          const y1 = p.y + p.h / 2;
          const x2 = v.x;
          const y2 = v.y + v.h / 2;
          const mx = (x1 + x2) / 2;
          edges.append(svg('path', { d: `M${x1} ${y1} C${mx} ${y1} ${mx} ${y2} ${x2} ${y2}`, 'data-edge': `${p.key}>${v.key}` }));
        }
        v.g = v.group ? this.groupNode(v) : this.taskNode(v);
        nodes.append(v.g);
        this.paint(v);
      }
    }
    this.node.append(edges, nodes);
  }

  taskNode(v) {
    const t = this.tasks.get(v.ids[0]);
    v.title = svg('title');
    v.rect = svg('rect', { x: v.x, y: v.y, width: v.w, height: v.h, rx: 4 });
    return svg('g', { class: 'task', 'data-task': t.id }, v.title, v.rect,
      svg('text', { x: v.x + 8, y: v.y + v.h / 2 + 4 }, clip(t.id, 20)));
  }

  groupNode(v) {
    v.title = svg('title');
    v.label = svg('text', { x: v.x + 8, y: v.y + 16 });
    v.segs = svg('g', { class: 'segs' });
    return svg('g', { class: 'group', 'data-group': v.key, 'data-op': v.op, 'data-layer': v.layer }, v.title,
      svg('rect', { x: v.x, y: v.y, width: v.w, height: v.h, rx: 4, class: 'frame' }), v.label, v.segs);
  }

  // paint brings a visual node up to date with its tasks' states.
  paint(v) {
    if (!v.group) {
      const t = this.tasks.get(v.ids[0]);
      v.g.setAttribute('data-state', t.state);
      v.rect.setAttribute('class', 'st-' + t.state);
      v.title.textContent = `${t.id}\nop ${t.op}\nstate ${t.state}` +
        (t.attempt ? `\nattempt ${t.attempt}` : '') + (t.worker_id ? `\nworker ${t.worker_id}` : '');
      return;
    }
    const c = {};
    for (const id of v.ids) {
      const s = this.tasks.get(id).state;
      c[s] = (c[s] || 0) + 1;
    }
    const n = v.ids.length;
    const done = (c.succeeded || 0) + (c.failed || 0) + (c.skipped || 0) + (c.cancelled || 0);
    v.label.textContent = `${clip(v.op, 12)} ×${n}  ${done}/${n}`;
    v.title.textContent = `${v.op}: ${n} tasks at depth ${v.layer}\n` +
      STATES.filter((s) => c[s]).map((s) => `${s} ${c[s]}`).join('\n');
    v.g.setAttribute('data-counts', JSON.stringify(c));
    v.segs.replaceChildren();
    let x = v.x + 8;
    const w = v.w - 16;
    for (const s of STATES) {
      if (!c[s]) continue;
      const sw = (w * c[s]) / n;
      v.segs.append(svg('rect', { x, y: v.y + 26, width: sw, height: 10, class: 'st-' + s }));
      x += sw;
    }
  }

  flush() {
    this.timer = 0;
    for (const v of this.dirty) if (v) this.paint(v);
    this.dirty.clear();
  }

  drawLegend() {
    this.legend.replaceChildren(...STATES.map((s) => el('span', { class: 'key' }, el('i', { class: 'st-' + s }), s)));
  }
}

// layering puts each task at its dependency depth (1 + the deepest of its
// deps; 0 without deps) and returns the ids per depth. Deps outside the
// job are ignored; tasks on a cycle (which the scheduler rejects) go last.
export function layering(tasks) {
  const depth = new Map();
  const indeg = new Map();
  const children = new Map();
  for (const t of tasks.values()) {
    const deps = t.deps.filter((d) => tasks.has(d));
    indeg.set(t.id, deps.length);
    for (const d of deps) {
      if (!children.has(d)) children.set(d, []);
      children.get(d).push(t.id);
    }
  }
  const queue = [];
  for (const [id, n] of indeg) {
    if (n === 0) {
      depth.set(id, 0);
      queue.push(id);
    }
  }
  for (let i = 0; i < queue.length; i++) {
    const id = queue[i];
    for (const c of children.get(id) || []) {
      depth.set(c, Math.max(depth.get(c) || 0, depth.get(id) + 1));
      indeg.set(c, indeg.get(c) - 1);
      if (indeg.get(c) === 0) queue.push(c);
    }
  }
  let max = Math.max(-1, ...depth.values());
  const stuck = [...tasks.keys()].filter((id) => indeg.get(id) > 0);
  if (stuck.length) max++;
  for (const id of stuck) depth.set(id, max);
  const layers = Array.from({ length: max + 1 }, () => []);
  for (const [id, d] of depth) layers[d].push(id);
  return layers;
}

// order sorts each layer by the mean position of its nodes' parents (the
// barycenter heuristic, one sweep), which keeps most edges short.
function order(vlayers) {
  vlayers.forEach((vs, i) => {
    const pos = (v) => {
      if (i === 0 || v.parents.size === 0) return 0;
      let s = 0;
      for (const p of v.parents) s += p.index;
      return s / v.parents.size;
    };
    for (const v of vs) v.bary = pos(v);
    vs.sort((a, b) => a.bary - b.bary || a.op.localeCompare(b.op) || a.key.localeCompare(b.key, 'en', { numeric: true }));
    vs.forEach((v, j) => (v.index = j));
  });
}

function clip(s, n) {
  return s.length > n ? s.slice(0, n - 1) + '…' : s;
}
