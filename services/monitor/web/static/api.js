// The monitor's JSON API, same origin.

// getJSON fetches path and decodes it; it rejects with the server's
// {"error"} message on a non-2xx answer.
export async function getJSON(path) {
  const res = await fetch(path, { headers: { Accept: 'application/json' } });
  let body = null;
  try {
    body = await res.json();
  } catch {
    // a non-JSON answer: reported below by status
  }
  if (!res.ok) {
    const msg = body && body.error ? body.error : res.status + ' ' + res.statusText;
    const err = new Error(msg);
    err.status = res.status;
    throw err;
  }
  return body;
}

const seg = encodeURIComponent;

export const api = {
  overview: () => getJSON('/api/overview'),
  jobs: (limit = 50) => getJSON('/api/jobs?limit=' + limit),
  job: (tenant, id) => getJSON('/api/jobs/' + seg(tenant) + '/' + seg(id)),
  workers: () => getJSON('/api/workers'),
  alerts: () => getJSON('/api/alerts'),
  series: (name, window = '15m') => getJSON('/api/series?name=' + seg(name) + '&window=' + seg(window)),
};

// tileURL is where the tile z/x/y of a pyramid under prefix is served.
export function tileURL(prefix, z, x, y) {
  const parts = String(prefix).split('/').filter(Boolean).map(seg);
  return '/tiles/' + [...parts, z, x, y + '.png'].join('/');
}

// terminal job states: nothing more happens to such a job.
export const TERMINAL = new Set(['succeeded', 'failed', 'cancelled', 'rejected']);

// progress is the share of a job's tasks that reached an end state
// (succeeded, failed, skipped, cancelled), in percent. A job without tasks
// is at 0 until it ends, then at 100.
export function progress(job) {
  const c = job.counts || {};
  const done = (c.succeeded || 0) + (c.failed || 0) + (c.skipped || 0) + (c.cancelled || 0);
  if (!(job.total > 0)) return TERMINAL.has(job.state) ? 100 : 0;
  return Math.min(100, (100 * done) / job.total);
}
