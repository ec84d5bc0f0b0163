// The dashboard: snapshots from the JSON API, then live changes from the
// event stream (/api/stream). Routes: "#/" and "#/job/<tenant>/<id>".

import { el, bar, num, ago, clock } from './dom.js';
import { api, progress, TERMINAL } from './api.js';
import { lineChart } from './chart.js';
import { DagView } from './dag.js';
import { TilePreview } from './tiles.js';

const JOB_LIMIT = 50;
const $ = (sel) => document.querySelector(sel);

const state = {
  jobs: new Map(), // "tenant/id" -> job
  workers: new Map(), // id -> worker
  alerts: new Map(), // id -> alert
  detail: null, // {tenant, id} of the open job
};

const jobKey = (tenant, id) => tenant + '/' + id;

// ---- header and queues (the overview) ----

function renderOverview(o) {
  const set = (name, text) => {
    const node = document.querySelector(`[data-stat="${name}"]`);
    if (node) node.textContent = text;
  };
  // Counters the server leaves out are zero.
  const j = o.jobs || {};
  const t = o.tasks || {};
  const w = o.workers || {};
  const l = o.latency_ms || {};
  const c = o.cache || {};
  const n = (x) => num(x || 0);
  set('jobs.running', n(j.running));
  set('jobs.succeeded', n(j.succeeded));
  set('jobs.failed', n(j.failed));
  set('tasks.done', n(t.done));
  set('tasks.retried', n(t.retried));
  set('tasks.deadlettered', n(t.deadlettered));
  set('throughput_per_s', num(o.throughput_per_s || 0, 1));
  set('latency', `${num(l.p50)} / ${num(l.p99)}`);
  set('workers', `${n(w.busy)} / ${n(w.total)}`);
  set('cache.hit_rate', (c.hits || 0) + (c.misses || 0) > 0 ? num(100 * (c.hit_rate || 0), 1) + ' %' : '–');
  set('alerts_firing', n(o.alerts_firing));
  $('[data-stat="alerts_firing"]').classList.toggle('hot', o.alerts_firing > 0);
  $('#updated').textContent = o.at ? 'at ' + clock(o.at) : '';
  renderQueues(o.queues || []);
}

const PRIORITY_ORDER = { critical: 0, high: 1, normal: 2, low: 3 };

function renderQueues(queues) {
  const box = $('#queues');
  const qs = [...queues].sort((a, b) => (PRIORITY_ORDER[a.priority] ?? 9) - (PRIORITY_ORDER[b.priority] ?? 9) ||
    String(a.pool).localeCompare(String(b.pool)));
  const max = Math.max(1, ...qs.map((q) => (q.pending || 0) + (q.ack_pending || 0)));
  box.replaceChildren(...qs.map((q) => el('div', { class: 'queue', 'data-queue': `${q.priority}/${q.pool}`,
    'data-pending': q.pending || 0, 'data-ack-pending': q.ack_pending || 0 },
  el('span', { class: 'q-name' }, q.pool && q.pool !== 'default' ? `${q.priority} · ${q.pool}` : q.priority),
  bar(max, { value: q.ack_pending || 0, cls: 'ack' }, { value: q.pending || 0, cls: 'pending' }),
  el('span', { class: 'q-num' }, `${num(q.pending)} pending · ${num(q.ack_pending)} in flight`))));
  if (qs.length === 0) box.replaceChildren(el('p', { class: 'empty' }, 'no queues'));
}

// ---- jobs ----

// upsertJob stores a job record unless a newer one is held. When the open
// job ends, its detail is reloaded (unless the record came from there): the
// last task states and the output tiles are in it.
function upsertJob(job, fromDetail = false) {
  const key = jobKey(job.tenant, job.id);
  const old = state.jobs.get(key);
  // Events can overtake a snapshot: keep the newer record.
  if (old && old.updated_at && job.updated_at && Date.parse(old.updated_at) > Date.parse(job.updated_at)) return;
  state.jobs.set(key, job);
  if (isOpen(job)) {
    renderDetailHead();
    if (!fromDetail && TERMINAL.has(job.state) && !(old && TERMINAL.has(old.state))) reloadDetailSoon();
  }
}

// refreshJobs reads the job list again; events the stream dropped for a
// slow page leave no stale progress behind for long.
async function refreshJobs() {
  try {
    for (const j of await api.jobs(JOB_LIMIT)) upsertJob(j);
    renderJobs();
  } catch (err) {
    console.warn('jobs:', err.message);
  }
}

function renderJobs() {
  const jobs = [...state.jobs.values()].sort((a, b) =>
    Date.parse(b.created_at || 0) - Date.parse(a.created_at || 0) || String(b.id).localeCompare(String(a.id)));
  // Forget what fell off the list, except the open job.
  for (const j of jobs.slice(JOB_LIMIT)) {
    if (!isOpen(j)) state.jobs.delete(jobKey(j.tenant, j.id));
  }
  const tbody = $('#jobs tbody');
  const rows = new Map([...tbody.rows].map((r) => [r.dataset.key, r]));
  const keep = jobs.slice(0, JOB_LIMIT).map((j) => {
    const key = jobKey(j.tenant, j.id);
    const row = rows.get(key) || jobRow(j);
    rows.delete(key);
    fillJobRow(row, j);
    return row;
  });
  for (const r of rows.values()) r.remove();
  keep.forEach((row, i) => {
    if (tbody.rows[i] !== row) tbody.insertBefore(row, tbody.rows[i] || null);
  });
  $('#jobs-empty').hidden = keep.length > 0;
}

function jobRow(j) {
  const row = el('tr', { 'data-job': j.id, 'data-tenant': j.tenant, 'data-key': jobKey(j.tenant, j.id), tabindex: 0 });
  row.append(el('td', {}, j.tenant), el('td', {}, el('span', { class: 'mono' }, j.id), j.name ? el('span', { class: 'name' }, j.name) : null),
    el('td'), el('td'), el('td', { class: 'counts' }), el('td', { class: 'when' }));
  const open = () => (location.hash = `#/job/${encodeURIComponent(j.tenant)}/${encodeURIComponent(j.id)}`);
  row.addEventListener('click', open);
  row.addEventListener('keydown', (e) => e.key === 'Enter' && open());
  return row;
}

function fillJobRow(row, j) {
  const pct = progress(j);
  const c = j.counts || {};
  row.dataset.state = j.state;
  row.classList.toggle('open', isOpen(j));
  row.cells[2].replaceChildren(el('span', { class: 'state st-' + j.state, 'data-job-state': j.state }, j.state));
  row.cells[3].replaceChildren(progressCell(pct, j));
  row.cells[4].replaceChildren(countsText(c, j.total));
  row.cells[4].title = j.error || '';
  row.cells[5].textContent = ago(j.updated_at);
  row.cells[5].title = j.updated_at || '';
}

function progressCell(pct, j) {
  const c = j.counts || {};
  const total = j.total || 0;
  const failed = (c.failed || 0) + (c.cancelled || 0) + (c.skipped || 0);
  return el('span', { class: 'progress' },
    bar(total || 1, { value: total ? c.succeeded || 0 : pct / 100, cls: 'ok' }, { value: failed, cls: 'bad' }, { value: c.running || 0, cls: 'run' }),
    el('span', { class: 'pct', 'data-progress': pct.toFixed(1) }, pct.toFixed(pct < 100 && pct > 99 ? 1 : 0) + '%'));
}

function countsText(c, total) {
  const parts = [`${num((c.succeeded || 0) + (c.failed || 0) + (c.skipped || 0) + (c.cancelled || 0))}/${num(total)}`];
  if (c.running) parts.push(`${num(c.running)} running`);
  if (c.failed) parts.push(`${num(c.failed)} failed`);
  if (c.retrying) parts.push(`${num(c.retrying)} retrying`);
  return parts.join(' · ');
}

const isOpen = (j) => state.detail && state.detail.tenant === j.tenant && state.detail.id === j.id;

// ---- workers ----

const WORKER_ORDER = { registered: 0, draining: 1, lost: 2, stopped: 3 };

function renderWorkers() {
  const ws = [...state.workers.values()].sort((a, b) =>
    (WORKER_ORDER[a.state] ?? 9) - (WORKER_ORDER[b.state] ?? 9) || String(a.id).localeCompare(String(b.id)));
  $('#workers tbody').replaceChildren(...ws.map((w) => {
    const breakers = Object.entries(w.breakers || {}).filter(([, s]) => s !== 'closed').map(([op, s]) => el('span', { class: 'breaker br-' + s, 'data-breaker': op }, `${op} ${s}`));
    return el('tr', { 'data-worker': w.id, 'data-state': w.state },
      el('td', { class: 'mono', title: (w.ops || []).join(', ') }, w.id),
      el('td', {}, w.pool || ''),
      el('td', {}, w.zone || ''),
      el('td', {}, el('span', { class: 'state st-' + w.state }, w.state)),
      el('td', {}, el('span', { class: 'progress' }, bar(w.capacity || 1, { value: w.running || 0, cls: 'run' }),
        el('span', { 'data-load': w.running || 0 }, `${num(w.running)} / ${num(w.capacity)}`))),
      el('td', {}, num(w.completed)),
      el('td', {}, num(w.failed)),
      el('td', { class: 'when', title: w.heartbeat_at || '' }, ago(w.heartbeat_at)),
      el('td', {}, ...(breakers.length ? breakers : ['–'])));
  }));
  $('#workers-empty').hidden = ws.length > 0;
}

// ---- alerts ----

const SEVERITY_ORDER = { critical: 0, warning: 1, info: 2 };

function renderAlerts() {
  const as = [...state.alerts.values()].sort((a, b) =>
    (a.state === 'firing' ? 0 : 1) - (b.state === 'firing' ? 0 : 1) ||
    (SEVERITY_ORDER[a.severity] ?? 9) - (SEVERITY_ORDER[b.severity] ?? 9) || String(a.id).localeCompare(String(b.id)));
  $('#alerts').replaceChildren(...as.map((a) => el('li', { class: `alert sev-${a.severity} as-${a.state}`, 'data-alert': a.id, 'data-state': a.state },
    el('span', { class: 'sev' }, a.severity),
    el('strong', {}, a.rule),
    a.state === 'pending' ? el('em', {}, ' pending') : null,
    el('span', { class: 'summary' }, a.summary || ''),
    el('span', { class: 'when', title: a.since || a.at || '' }, `value ${num(a.value, 2)} · since ${ago(a.since || a.at)}`))));
  $('#alerts-empty').hidden = as.length > 0;
}

function onAlert(a) {
  if (a.state === 'resolved') state.alerts.delete(a.id);
  else state.alerts.set(a.id, { ...state.alerts.get(a.id), ...a, since: (state.alerts.get(a.id) || {}).since || a.at });
  renderAlerts();
}

// ---- charts ----

const SERIES_WINDOW_MS = 15 * 60 * 1000;
const series = { throughput: [], latency_p50: [], latency_p99: [] };

function drawCharts() {
  lineChart($('#chart-throughput'), [{ name: 'throughput', label: 'tasks/s', points: series.throughput, cls: 'c1' }]);
  lineChart($('#chart-latency'), [
    { name: 'latency_p99', label: 'p99', points: series.latency_p99, cls: 'c2' },
    { name: 'latency_p50', label: 'p50', points: series.latency_p50, cls: 'c1' },
  ]);
}

// refreshCharts replaces the series with the server's.
async function refreshCharts() {
  const names = Object.keys(series);
  const results = await Promise.allSettled(names.map((name) => api.series(name)));
  results.forEach((r, i) => {
    if (r.status === 'fulfilled') series[names[i]] = r.value.points || [];
    else console.warn('series:', r.reason.message);
  });
  drawCharts();
}

// appendOverview extends the series by one overview between refreshes.
function appendOverview(o) {
  const t = Date.parse(o.at);
  if (!Number.isFinite(t)) return;
  const l = o.latency_ms || {};
  const add = (name, v) => {
    const pts = series[name];
    if (typeof v !== 'number' || (pts.length && pts[pts.length - 1][0] >= t)) return;
    pts.push([t, v]);
    while (pts.length && pts[0][0] < t - SERIES_WINDOW_MS) pts.shift();
  };
  add('throughput', o.throughput_per_s);
  add('latency_p50', l.p50);
  add('latency_p99', l.p99);
  drawCharts();
}

// ---- job detail ----

const dag = new DagView($('#dag'), $('#dag-legend'));
const tiles = new TilePreview({ panel: $('#tiles-panel'), grid: $('#tiles'), setSelect: $('#tile-set'), zoomSelect: $('#tile-zoom'), note: $('#tile-note') });
let detailSeq = 0;
let reloadTimer = 0;

async function loadDetail() {
  const d = state.detail;
  if (!d) return;
  const seq = ++detailSeq;
  try {
    const res = await api.job(d.tenant, d.id);
    if (seq !== detailSeq) return; // the route changed meanwhile
    upsertJob(res.job, true);
    renderJobs();
    dag.load(res.tasks || []);
    tiles.load(res.tiles);
    renderDetailHead();
    $('#detail-error').hidden = true;
  } catch (err) {
    if (seq !== detailSeq) return;
    $('#detail-error').textContent = err.status === 404 ? `no job ${d.tenant}/${d.id}` : `cannot load the job: ${err.message}`;
    $('#detail-error').hidden = false;
  }
}

// reloadDetailSoon reloads the open job once, shortly: for a task the
// graph does not hold, and to pick up output tiles when the job ends.
function reloadDetailSoon(delay = 500) {
  if (!reloadTimer) {
    reloadTimer = setTimeout(() => {
      reloadTimer = 0;
      loadDetail();
    }, delay);
  }
}

function renderDetailHead() {
  const d = state.detail;
  const j = d && state.jobs.get(jobKey(d.tenant, d.id));
  if (!j) return;
  const pct = progress(j);
  $('#detail-state').textContent = j.state;
  $('#detail-state').className = 'state st-' + j.state;
  $('#detail-progress').textContent = `${pct.toFixed(0)}% of ${num(j.total)} tasks` + (j.error ? ` · ${j.error}` : '');
  $('#detail').dataset.state = j.state;
}

function route() {
  const m = location.hash.match(/^#\/job\/([^/]+)\/([^/]+)$/);
  if (!m) {
    state.detail = null;
    $('#detail').hidden = true;
    renderJobs();
    return;
  }
  const tenant = decodeURIComponent(m[1]);
  const id = decodeURIComponent(m[2]);
  state.detail = { tenant, id };
  $('#detail').hidden = false;
  $('#detail').dataset.job = id;
  $('#detail-title').textContent = `${tenant}/${id}`;
  $('#detail-state').textContent = '';
  $('#detail-progress').textContent = '';
  dag.load([]);
  tiles.load([]);
  renderJobs();
  loadDetail();
  $('#detail').scrollIntoView({ block: 'start' });
}

// ---- the event stream ----

let source = null;

function connect() {
  const conn = $('#conn');
  source = new EventSource('/api/stream');
  source.addEventListener('open', () => {
    conn.dataset.conn = 'open';
    conn.textContent = 'live';
    // Whatever happened while disconnected is in the snapshots.
    loadSnapshots();
  });
  source.addEventListener('error', () => {
    conn.dataset.conn = 'closed';
    conn.textContent = 'reconnecting';
    // EventSource retries by itself unless the server refused the stream.
    if (source.readyState === EventSource.CLOSED) {
      source.close();
      setTimeout(connect, 3000);
    }
  });
  const on = (name, fn) => source.addEventListener(name, (e) => {
    try {
      fn(JSON.parse(e.data));
    } catch (err) {
      console.warn(`event ${name}:`, err);
    }
  });
  on('overview', (o) => {
    renderOverview(o);
    appendOverview(o);
  });
  on('job', (j) => {
    upsertJob(j);
    scheduleJobs();
  });
  on('task', (ev) => {
    const d = state.detail;
    if (d && ev.tenant === d.tenant && ev.job_id === d.id && !dag.update(ev)) reloadDetailSoon();
  });
  on('alert', onAlert);
  on('worker', (w) => {
    state.workers.set(w.id, w);
    scheduleWorkers();
  });
}

// Job and worker events can come by the hundred per second: draw at most
// every 250 ms.
let jobsTimer = 0;
let workersTimer = 0;
function scheduleJobs() {
  if (!jobsTimer) jobsTimer = setTimeout(() => ((jobsTimer = 0), renderJobs()), 250);
}
function scheduleWorkers() {
  if (!workersTimer) workersTimer = setTimeout(() => ((workersTimer = 0), renderWorkers()), 250);
}

async function loadSnapshots() {
  const results = await Promise.allSettled([api.overview(), api.jobs(JOB_LIMIT), api.workers(), api.alerts()]);
  const [o, jobs, workers, alerts] = results.map((r) => (r.status === 'fulfilled' ? r.value : null));
  results.filter((r) => r.status === 'rejected').forEach((r) => console.warn('snapshot:', r.reason.message));
  if (o) renderOverview(o);
  if (jobs) {
    for (const j of jobs) upsertJob(j);
    renderJobs();
  }
  if (workers) {
    state.workers = new Map(workers.map((w) => [w.id, w]));
    renderWorkers();
  }
  if (alerts) {
    state.alerts = new Map(alerts.map((a) => [a.id, a]));
    renderAlerts();
  }
  if (state.detail) loadDetail();
}

window.addEventListener('hashchange', route);
route();
loadSnapshots();
connect();
refreshCharts();
setInterval(refreshCharts, 30000);
// Relative times ("12 s ago") age, and running jobs are read again; every
// 30 s, all the snapshots mend what a dropped event left stale.
setInterval(() => {
  renderWorkers();
  renderAlerts();
  if ([...state.jobs.values()].some((j) => !TERMINAL.has(j.state))) refreshJobs();
  else renderJobs();
}, 5000);
setInterval(loadSnapshots, 30000);
