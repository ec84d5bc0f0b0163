package scheduler

import (
	"encoding/json"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/geocluster/geocluster/libs/events"
)

// job is the in-memory state of a live job, owned by the loop.
type job struct {
	rec   events.JobRecord
	retry events.RetryPolicy
	tasks map[string]*task
	order []*task // submission order, for deterministic releases
	// newJob marks a job accepted in the current batch: its task records
	// are flushed before its job record, so a stored job record always has
	// all its tasks.
	newJob bool
}

// task is the in-memory state of one task of a live job.
type task struct {
	job      *job
	rec      events.TaskRecord
	children []*task
	// waiting counts deps that have not succeeded yet.
	waiting int
	// startedAt is when the current attempt started; backup the worker of
	// its backup copy (speculate.go) and copies how many of its copies may
	// still finish (2 with a backup).
	startedAt time.Time
	backup    string
	copies    int
}

func (t *task) key() string { return events.TaskKey(t.job.rec.Tenant, t.job.rec.ID, t.rec.Spec.ID) }

// outMsg is one JetStream publish a batch produces.
type outMsg struct {
	subject string
	msgID   string
	data    []byte
	header  nats.Header
}

// outbox collects everything a batch of inputs produced, to be flushed at
// once. Records are coalesced: a task changed three times in a batch is
// written once.
type outbox struct {
	tasks   map[*task]struct{}
	jobs    map[*job]struct{}
	msgs    []outMsg
	signals map[string]struct{}
	// directed are the workers offered a task in this batch, to wake.
	directed map[directedSignal]struct{}
	// timers are retry releases to schedule once the batch is flushed.
	timers []retryTimer
	// done lists jobs that reached a terminal state in this batch; they
	// leave memory after the flush.
	done []*job
}

// retryTimer is a timed release: the next attempt after a backoff, or
// (local) the shared copy of an attempt offered to one worker.
type retryTimer struct {
	tenant, jobID, taskID string
	attempt               int
	at                    time.Time
	local                 bool
}

type directedSignal struct{ pool, worker string }

func newOutbox() *outbox {
	return &outbox{tasks: map[*task]struct{}{}, jobs: map[*job]struct{}{}, signals: map[string]struct{}{}, directed: map[directedSignal]struct{}{}}
}

func (o *outbox) empty() bool {
	return len(o.tasks) == 0 && len(o.jobs) == 0 && len(o.msgs) == 0
}

// setTask moves t to state s, keeping its job's counts right.
func (c *core) setTask(t *task, s events.TaskState, now time.Time) {
	if t.rec.State == s {
		return
	}
	t.job.rec.Counts.Add(t.rec.State, -1)
	t.job.rec.Counts.Add(s, 1)
	t.rec.State = s
	t.rec.UpdatedAt = now
	c.out.tasks[t] = struct{}{}
	c.touchJob(t.job, now)
}

func (c *core) touchJob(j *job, now time.Time) {
	j.rec.UpdatedAt = now
	c.out.jobs[j] = struct{}{}
}

// publishTaskEvent queues a scheduler-side task event.
func (c *core) publishTaskEvent(t *task, s events.TaskState, errText string, now time.Time) {
	c.queueTaskEvent(t, events.TaskEvent{
		V: events.Version, Tenant: t.job.rec.Tenant, JobID: t.job.rec.ID, TaskID: t.rec.Spec.ID,
		Op: t.rec.Spec.Op, State: s, Priority: t.rec.Spec.Priority, Pool: t.rec.Spec.Pool,
		Attempt: t.rec.Attempt, Error: errText, RetryAt: t.rec.RetryAt, At: now,
	})
}

// queueTaskEvent queues ev, a task event of t, with its message id.
func (c *core) queueTaskEvent(t *task, ev events.TaskEvent) {
	s := ev.State
	c.queueJSON(events.TaskEventSubject(ev.Tenant, ev.JobID, s), events.TaskEventMsgID(ev.Tenant, ev.JobID, ev.TaskID, ev.Attempt, s), ev, t.job.rec.TraceParent)
}

// publishJobEvent queues a job event.
func (c *core) publishJobEvent(j *job, now time.Time) {
	ev := events.JobEvent{
		V: events.Version, Tenant: j.rec.Tenant, JobID: j.rec.ID, State: j.rec.State,
		Error: j.rec.Error, Counts: j.rec.Counts, At: now,
	}
	if !j.rec.SubmittedAt.IsZero() {
		at := j.rec.SubmittedAt
		ev.SubmittedAt = &at
	}
	c.queueJSON(events.JobEventSubject(ev.Tenant, ev.JobID, ev.State), events.JobEventMsgID(ev.Tenant, ev.JobID, ev.State, 0), ev, j.rec.TraceParent)
}

func (c *core) queueJSON(subject, msgID string, v any, traceParent string) {
	data, err := json.Marshal(v)
	if err != nil {
		// Every value queued here is a plain struct of this package's
		// making; a marshal error is a programming error worth surfacing.
		c.log.Error().Err(err).Str("subject", subject).Msg("encode message")
		return
	}
	var h nats.Header
	if traceParent != "" {
		h = nats.Header{events.TraceParentHeader: []string{traceParent}}
	}
	c.out.msgs = append(c.out.msgs, outMsg{subject: subject, msgID: msgID, data: data, header: h})
}
