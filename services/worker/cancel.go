package worker

import (
	"context"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/geocluster/geocluster/libs/events"
)

// Bounds of the set of cancelled jobs a worker remembers. A task of a
// cancelled job that arrives later than cancelledTTL after the cancellation
// runs (the scheduler ignores its result); that cannot happen in practice as
// the scheduler stops releasing a job's tasks when it cancels the job.
const (
	cancelledTTL = time.Hour
	cancelledMax = 10000
)

// held is a task the worker holds, from decode to ack.
type held struct {
	job    string // events.JobKey
	task   string
	msg    jetstream.Msg
	cancel context.CancelCauseFunc
}

// tracker knows the tasks a worker holds and the jobs cancelled lately. One
// mutex covers both, so a task is either registered before its job's
// cancellation (and cancelled by it) or sees the job in the set.
type tracker struct {
	mu        sync.Mutex
	byJob     map[string]map[*held]struct{}
	cancelled map[string]time.Time
	order     []cancelledJob // oldest first, for expiry and the size cap
	// stopped, once set by cancelAll, cancels every task added later.
	stopped error
}

type cancelledJob struct {
	job string
	at  time.Time
}

func newTracker() *tracker {
	return &tracker{byJob: map[string]map[*held]struct{}{}, cancelled: map[string]time.Time{}}
}

// add registers the task of msg and returns its context, derived from base.
// ok is false when its job is cancelled: the task must be skipped.
func (t *tracker) add(base context.Context, m events.TaskMessage, msg jetstream.Msg, now time.Time) (h *held, ctx context.Context, ok bool) {
	job := events.JobKey(m.Tenant, m.JobID)
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.isCancelled(job, now) {
		return nil, nil, false
	}
	ctx, cancel := context.WithCancelCause(base)
	if t.stopped != nil {
		cancel(t.stopped)
	}
	h = &held{job: job, task: m.TaskID, msg: msg, cancel: cancel}
	set := t.byJob[job]
	if set == nil {
		set = map[*held]struct{}{}
		t.byJob[job] = set
	}
	set[h] = struct{}{}
	return h, ctx, true
}

// remove forgets h and releases its context.
func (t *tracker) remove(h *held) {
	t.mu.Lock()
	set := t.byJob[h.job]
	delete(set, h)
	if len(set) == 0 {
		delete(t.byJob, h.job)
	}
	t.mu.Unlock()
	h.cancel(nil)
}

// cancelJob remembers job as cancelled and cancels its held tasks with
// ErrJobCancelled. It returns how many were held.
func (t *tracker) cancelJob(job string, now time.Time) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.expire(now)
	if _, seen := t.cancelled[job]; !seen {
		t.cancelled[job] = now
		t.order = append(t.order, cancelledJob{job: job, at: now})
		for len(t.order) > cancelledMax {
			delete(t.cancelled, t.order[0].job)
			t.order = t.order[1:]
		}
	}
	for h := range t.byJob[job] {
		h.cancel(ErrJobCancelled)
	}
	return len(t.byJob[job])
}

// cancelTask cancels the held copies of one task of job with cause and
// returns how many there were.
func (t *tracker) cancelTask(job, task string, cause error) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for h := range t.byJob[job] {
		if h.task == task {
			h.cancel(cause)
			n++
		}
	}
	return n
}

// cancelAll cancels every held task, and every task added later, with cause.
func (t *tracker) cancelAll(cause error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.stopped = cause
	for _, set := range t.byJob {
		for h := range set {
			h.cancel(cause)
		}
	}
}

// msgs returns the messages of the held tasks.
func (t *tracker) msgs() []jetstream.Msg {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []jetstream.Msg
	for _, set := range t.byJob {
		for h := range set {
			out = append(out, h.msg)
		}
	}
	return out
}

// isCancelled reports whether job was cancelled within cancelledTTL.
// Callers hold t.mu.
func (t *tracker) isCancelled(job string, now time.Time) bool {
	at, ok := t.cancelled[job]
	return ok && now.Sub(at) < cancelledTTL
}

// expire drops cancellations older than cancelledTTL. Callers hold t.mu.
func (t *tracker) expire(now time.Time) {
	for len(t.order) > 0 && now.Sub(t.order[0].at) >= cancelledTTL {
		delete(t.cancelled, t.order[0].job)
		t.order = t.order[1:]
	}
}

// onJobCancelled handles a job's cancelled or failed event (core
// subscriptions on events.StoppedJobEvents): running tasks of the job are
// cancelled and queued ones will be skipped as they arrive.
func (w *worker) onJobCancelled(msg *nats.Msg) {
	e, err := events.DecodeJobEvent(msg.Data)
	if err != nil || !events.ValidToken(e.Tenant) || !events.ValidToken(e.JobID) {
		w.log.Warn().Err(err).Str("subject", msg.Subject).Msg("cancel event ignored: no valid tenant and job_id")
		return
	}
	n := w.tracker.cancelJob(events.JobKey(e.Tenant, e.JobID), time.Now())
	w.log.Info().Str("job_id", e.JobID).Str("tenant", e.Tenant).Int("running", n).Msg("job cancelled")
}

// onSuperseded handles a task's superseded event (core subscription on
// events.SupersededTaskEvents): when it names this worker, the copy it runs
// lost to another copy of the attempt and is stopped.
func (w *worker) onSuperseded(msg *nats.Msg) {
	e, err := events.DecodeTaskEvent(msg.Data)
	if err != nil || e.WorkerID != w.cfg.ID {
		return
	}
	if n := w.tracker.cancelTask(events.JobKey(e.Tenant, e.JobID), e.TaskID, ErrSuperseded); n > 0 {
		w.log.Info().Str("job_id", e.JobID).Str("task_id", e.TaskID).Msg("copy superseded")
	}
}
