package scheduler

import (
	"slices"
	"sort"
	"time"

	"github.com/geocluster/geocluster/libs/events"
)

// locality is what the scheduler knows of where tile data is: which live
// worker's near-cache holds which object, from the workers' holdings
// announcements and the geo_workers registrations. It is soft state: after
// a restart it fills again from new announcements and registrations.
type locality struct {
	live    map[string]events.WorkerInfo   // registered workers by id
	holders map[string]map[string]struct{} // object -> worker ids
	held    map[string]map[string]struct{} // worker id -> objects
	offers  map[string]int                 // worker id -> directed offers not yet started
}

func newLocality() *locality {
	return &locality{
		live: map[string]events.WorkerInfo{}, holders: map[string]map[string]struct{}{},
		held: map[string]map[string]struct{}{}, offers: map[string]int{},
	}
}

// holdings applies a worker's announcement.
func (l *locality) holdings(h events.WorkerHoldings) {
	if h.Reset {
		l.forgetHoldings(h.WorkerID)
	}
	objs := l.held[h.WorkerID]
	if objs == nil {
		objs = map[string]struct{}{}
		l.held[h.WorkerID] = objs
	}
	for _, o := range h.Added {
		objs[o] = struct{}{}
		hs := l.holders[o]
		if hs == nil {
			hs = map[string]struct{}{}
			l.holders[o] = hs
		}
		hs[h.WorkerID] = struct{}{}
	}
	for _, o := range h.Removed {
		delete(objs, o)
		l.dropHolder(o, h.WorkerID)
	}
}

func (l *locality) dropHolder(object, worker string) {
	if hs := l.holders[object]; hs != nil {
		delete(hs, worker)
		if len(hs) == 0 {
			delete(l.holders, object)
		}
	}
}

func (l *locality) forgetHoldings(worker string) {
	for o := range l.held[worker] {
		l.dropHolder(o, worker)
	}
	delete(l.held, worker)
}

// worker applies a registration (info != nil) or its removal.
func (l *locality) worker(id string, info *events.WorkerInfo) {
	if info != nil && info.State != events.WorkerDraining && info.State != events.WorkerStopped {
		l.live[id] = *info
		return
	}
	delete(l.live, id)
	delete(l.offers, id)
	l.forgetHoldings(id)
}

// best returns the live worker of pool that holds the most of inputs (ties:
// fewer offers outstanding, then the smaller id), or "" when none holds any.
func (l *locality) best(pool string, inputs []string) string {
	count := map[string]int{}
	for _, in := range inputs {
		for w := range l.holders[in] {
			if info, ok := l.live[w]; ok && info.Pool == pool {
				count[w]++
			}
		}
	}
	if len(count) == 0 {
		return ""
	}
	ids := make([]string, 0, len(count))
	for w := range count {
		ids = append(ids, w)
	}
	sort.Slice(ids, func(i, j int) bool {
		a, b := ids[i], ids[j]
		if count[a] != count[b] {
			return count[a] > count[b]
		}
		if l.offers[a] != l.offers[b] {
			return l.offers[a] < l.offers[b]
		}
		return a < b
	})
	return ids[0]
}

// spare returns the live worker of pool, other than not, that runs op and
// has the most free capacity (none free: "").
func (l *locality) spare(pool, op, not string) string {
	best, bestFree := "", 0
	for id, info := range l.live {
		if id == not || info.Pool != pool || !slices.Contains(info.Ops, op) {
			continue
		}
		if free := info.Capacity - info.Running; free > bestFree || (free == bestFree && free > 0 && id < best) {
			best, bestFree = id, free
		}
	}
	return best
}

// offer releases the current attempt of t to worker alone, until
// now + LocalityWait, when the shared copy follows (localDue).
func (c *core) offer(t *task, m events.TaskMessage, worker string, now time.Time) {
	until := now.Add(c.cfg.LocalityWait)
	t.rec.DirectedTo, t.rec.LocalUntil = worker, &until
	c.loc.offers[worker]++
	m.DirectedTo, m.LocalUntil = worker, &until
	s := t.rec.Spec
	c.queueJSON(events.DirectedTaskSubject(s.Priority, s.Pool, worker), events.DirectedMsgID(m.Tenant, m.JobID, m.TaskID, m.Attempt), m, t.job.rec.TraceParent)
	c.out.directed[directedSignal{pool: s.Pool, worker: worker}] = struct{}{}
	c.out.timers = append(c.out.timers, retryTimer{tenant: m.Tenant, jobID: m.JobID, taskID: m.TaskID, attempt: m.Attempt, at: until, local: true})
}

// localDue releases the shared copy of an offered attempt that no worker
// started within the locality wait.
func (c *core) localDue(r retryTimer) {
	t := c.lookup(r.tenant, r.jobID, r.taskID)
	if t == nil || t.rec.Attempt != r.attempt || t.rec.DirectedTo == "" {
		return
	}
	c.endOffer(t)
	if t.rec.State != events.TaskQueued {
		return
	}
	c.setTask(t, events.TaskQueued, c.now())
	c.publishRelease(t)
}

// endOffer forgets the offer of t's current attempt (it started, or lapsed).
func (c *core) endOffer(t *task) {
	if w := t.rec.DirectedTo; w != "" {
		if c.loc.offers[w] > 0 {
			c.loc.offers[w]--
		}
		t.rec.DirectedTo, t.rec.LocalUntil = "", nil
	}
}

// workerLost: a worker's registration is gone. An attempt offered to it
// and not started is released to everyone now; one it started on its
// directed consumer has no other copy that JetStream would redeliver, so it
// counts as a failed attempt (retried under the task's policy). When the
// registration expired (expired: the worker missed its heartbeats for the
// worker TTL), every attempt it was running counts as failed at once,
// without waiting for the ack wait to redeliver it, and a lost event says
// so.
func (c *core) workerLost(id string, expired bool) {
	now := c.now()
	reason := "worker " + id + " was lost while running an attempt offered to it"
	if expired {
		reason = "worker " + id + " was lost (missed its heartbeats)"
	}
	lostTasks := 0
	for _, j := range c.jobs {
		for _, t := range j.order {
			if t.rec.State.Terminal() {
				continue
			}
			switch {
			case t.rec.State == events.TaskQueued && t.rec.DirectedTo == id:
				c.endOffer(t)
				c.setTask(t, events.TaskQueued, now)
				c.publishRelease(t)
			case t.rec.State == events.TaskRunning && t.rec.WorkerID == id && (expired || t.rec.DirectedTo == id):
				lostTasks++
				c.failed(t, events.TaskEvent{Attempt: t.rec.Attempt, WorkerID: id, Error: reason}, now)
			}
		}
	}
	c.loc.worker(id, nil)
	if expired {
		c.log.Warn().Str("worker_id", id).Int("tasks", lostTasks).Msg("worker lost")
		c.queueJSON(events.WorkerEventSubject(id, events.WorkerLost), "", events.WorkerEvent{V: events.Version, WorkerID: id, State: events.WorkerLost, At: now}, "")
	}
}
