package scheduler

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"
	"go.opentelemetry.io/otel"

	"github.com/geocluster/geocluster/libs/events"
)

// core is the scheduler's state machine: live jobs and the outbox of the
// batch being applied. Only the loop calls it; it does no I/O but through
// the lookup function it is given.
type core struct {
	cfg  Config
	log  zerolog.Logger
	jobs map[string]*job // by events.JobKey
	out  *outbox
	now  func() time.Time
	rnd  func() float64
	// stored reports whether a job key exists in geo_jobs (a finished job
	// that left memory); a resubmission of it is a duplicate.
	stored func(key string) (bool, error)
	// loc is where tile data is, for data locality.
	loc *locality
	// runTimes are the recent run times of each op's successes.
	runTimes map[string]*runTimes
}

func newCore(cfg Config, log zerolog.Logger, stored func(string) (bool, error)) *core {
	return &core{
		cfg: cfg, log: log, jobs: map[string]*job{}, out: newOutbox(),
		now: func() time.Time { return time.Now().UTC() }, rnd: jitterSource(), stored: stored,
		loc: newLocality(), runTimes: map[string]*runTimes{},
	}
}

// submit applies a job submission stored at JOBS sequence seq. A bad job is
// answered with a rejected event; the error returned is only for I/O
// trouble, after which the submission must be redelivered.
func (c *core) submit(tenant string, data []byte, hdr nats.Header, seq uint64) error {
	now := c.now()
	spec, err := events.DecodeJob(data)
	if err == nil {
		err = spec.Validate(tenant, c.cfg.Ops, c.cfg.Limits)
	}
	id := spec.ID
	if id == "" {
		if mid, ok := events.JobIDFromMsgID(tenant, hdr.Get(nats.MsgIdHdr)); ok {
			id = mid
		} else {
			id = events.NewID()
		}
	}
	if err != nil {
		if !events.ValidToken(id) {
			id = events.NewID()
		}
		c.reject(tenant, id, seq, err, now)
		return nil
	}
	spec.ID = id
	key := events.JobKey(tenant, id)
	if _, live := c.jobs[key]; live {
		return nil // duplicate of a live job
	}
	exists, err := c.stored(key)
	if err != nil {
		return fmt.Errorf("look up job %s: %w", key, err)
	}
	if exists {
		return nil // duplicate of a finished job
	}
	spec.Normalize(tenant)
	c.accept(spec, hdr, now)
	return nil
}

func (c *core) reject(tenant, id string, seq uint64, err error, now time.Time) {
	ev := events.JobEvent{
		V: events.Version, Tenant: tenant, JobID: id, State: events.JobRejected,
		Error: err.Error(), Field: events.FieldOf(err), SubmitSeq: seq, At: now,
	}
	c.log.Info().Str("job_id", id).Str("tenant", tenant).Str("field", ev.Field).Str("error", ev.Error).Msg("job rejected")
	// One rejection per stored submission: a redelivery is deduplicated, a
	// new submission of the same bad job is answered again.
	c.queueJSON(events.JobEventSubject(tenant, id, events.JobRejected), events.JobEventMsgID(tenant, id, events.JobRejected, seq), ev, "")
}

// accept builds the in-memory DAG of a valid job and releases its roots.
func (c *core) accept(spec events.JobSpec, hdr nats.Header, now time.Time) {
	ctx := events.ExtractTrace(context.Background(), hdr)
	ctx, span := otel.Tracer("geocluster/scheduler").Start(ctx, "job "+spec.ID)
	defer span.End()
	th := nats.Header{}
	events.InjectTrace(ctx, th)

	j := &job{
		rec: events.JobRecord{
			V: events.Version, ID: spec.ID, Tenant: spec.Tenant, Name: spec.Name,
			State: events.JobRunning, Priority: spec.Priority, OnFailure: spec.OnFailure,
			Labels: spec.Labels, Total: len(spec.Tasks), SubmittedAt: now, UpdatedAt: now,
			TraceParent: th.Get(events.TraceParentHeader), Retry: spec.Retry,
		},
		retry:  spec.Retry.WithDefaults(),
		tasks:  make(map[string]*task, len(spec.Tasks)),
		order:  make([]*task, 0, len(spec.Tasks)),
		newJob: true,
	}
	for _, ts := range spec.Tasks {
		t := &task{job: j, waiting: len(ts.Deps), rec: events.TaskRecord{
			V: events.Version, Spec: ts, State: events.TaskPending, UpdatedAt: now,
		}}
		j.tasks[ts.ID] = t
		j.order = append(j.order, t)
		c.out.tasks[t] = struct{}{}
	}
	j.rec.Counts.Pending = len(spec.Tasks)
	for _, t := range j.order {
		for _, d := range t.rec.Spec.Deps {
			p := j.tasks[d]
			p.children = append(p.children, t)
		}
	}
	c.jobs[events.JobKey(j.rec.Tenant, j.rec.ID)] = j
	c.touchJob(j, now)
	c.log.Info().Str("job_id", j.rec.ID).Str("tenant", j.rec.Tenant).Str("trace_id", events.TraceIDOf(j.rec.TraceParent)).Int("tasks", j.rec.Total).Msg("job accepted")
	ev := events.JobEvent{V: events.Version, Tenant: j.rec.Tenant, JobID: j.rec.ID, State: events.JobAccepted, Counts: j.rec.Counts, At: now}
	c.queueJSON(events.JobEventSubject(j.rec.Tenant, j.rec.ID, events.JobAccepted), events.JobEventMsgID(j.rec.Tenant, j.rec.ID, events.JobAccepted, 0), ev, j.rec.TraceParent)
	for _, t := range j.order {
		if t.waiting == 0 {
			c.release(t, now)
		}
	}
}

// release publishes the next attempt of t: offered to the worker holding
// most of its inputs first when data locality is on (locality.go), to the
// pool's shared subject otherwise.
func (c *core) release(t *task, now time.Time) {
	t.rec.Attempt++
	t.rec.RetryAt = nil
	t.rec.WorkerID = ""
	t.startedAt, t.backup, t.copies = time.Time{}, "", 0
	c.endOffer(t)
	c.setTask(t, events.TaskQueued, now)
	s := t.rec.Spec
	if c.cfg.LocalityWait > 0 && len(s.Inputs) > 0 {
		if w := c.loc.best(s.Pool, s.Inputs); w != "" {
			c.offer(t, c.taskMessage(t, now), w, now)
			return
		}
	}
	c.publishRelease(t)
}

// taskMessage is the message of t's current attempt.
func (c *core) taskMessage(t *task, now time.Time) events.TaskMessage {
	s := t.rec.Spec
	return events.TaskMessage{
		V: events.Version, Tenant: t.job.rec.Tenant, JobID: t.job.rec.ID, TaskID: s.ID,
		Op: s.Op, Params: s.Params, Inputs: s.Inputs, Priority: s.Priority, Pool: s.Pool,
		Resources: s.Resources, Attempt: t.rec.Attempt, MaxAttempts: s.MaxAttempts,
		TimeoutMS: s.TimeoutMS, ReleasedAt: now,
	}
}

// publishRelease publishes t's current attempt on the pool's shared subject.
func (c *core) publishRelease(t *task) {
	m := c.taskMessage(t, c.now())
	s := t.rec.Spec
	c.queueJSON(events.TaskSubject(s.Priority, s.Pool), events.ReleaseMsgID(m.Tenant, m.JobID, m.TaskID, m.Attempt), m, t.job.rec.TraceParent)
	c.out.signals[s.Pool] = struct{}{}
}

// knows reports whether a job is in memory (live, or finished in this
// batch).
func (c *core) knows(tenant, jobID string) bool {
	_, ok := c.jobs[events.JobKey(tenant, jobID)]
	return ok
}

// lookup finds the live task an event or timer is about.
func (c *core) lookup(tenant, jobID, taskID string) *task {
	j := c.jobs[events.JobKey(tenant, jobID)]
	if j == nil || j.rec.State.Terminal() {
		return nil
	}
	return j.tasks[taskID]
}

// taskEvent applies a worker's task event.
func (c *core) taskEvent(ev events.TaskEvent) {
	t := c.lookup(ev.Tenant, ev.JobID, ev.TaskID)
	if t == nil || t.rec.State.Terminal() {
		return // finished job or task: a duplicate or a late attempt
	}
	now := c.now()
	if t.rec.State == events.TaskPending && ev.Attempt >= 1 {
		// A previous leader released this attempt and died before its
		// records were stored; the inputs that led to the release come
		// back later than the task's own events may. Adopt the attempt
		// rather than drop its outcome: it would never come again.
		t.rec.Attempt = ev.Attempt
		c.setTask(t, events.TaskQueued, now)
	}
	switch ev.State {
	case events.TaskStarted:
		if ev.Attempt == t.rec.Attempt && t.rec.State == events.TaskQueued {
			if ev.WorkerID != t.rec.DirectedTo {
				c.endOffer(t) // the shared copy started elsewhere
			}
			t.rec.WorkerID = ev.WorkerID
			t.startedAt = now
			c.setTask(t, events.TaskRunning, now)
		}
	case events.TaskSucceeded:
		if len(ev.Result) > c.cfg.MaxResultBytes {
			ev.State, ev.Permanent, ev.Result = events.TaskFailed, true, nil
			ev.Error = fmt.Sprintf("result of %d bytes is over the %d-byte limit: write large outputs to the object store", len(ev.Result), c.cfg.MaxResultBytes)
			c.failed(t, ev, now)
			return
		}
		c.succeeded(t, ev, now)
	case events.TaskFailed:
		c.failed(t, ev, now)
	}
}

// succeeded: the first completion of a released task wins, whichever
// attempt it is.
func (c *core) succeeded(t *task, ev events.TaskEvent, now time.Time) {
	if t.rec.Attempt == 0 {
		return
	}
	c.endOffer(t)
	c.supersede(t, ev.WorkerID, now)
	if ev.DurationMS > 0 && ev.Attempt == t.rec.Attempt {
		r := c.runTimes[t.rec.Spec.Op]
		if r == nil {
			r = &runTimes{}
			c.runTimes[t.rec.Spec.Op] = r
		}
		r.add(ev.DurationMS)
	}
	t.rec.Result = ev.Result
	t.rec.WorkerID = ev.WorkerID
	t.rec.RetryAt = nil
	if ev.Attempt > 0 {
		t.rec.Attempt = max(t.rec.Attempt, ev.Attempt)
	}
	c.setTask(t, events.TaskSucceeded, now)
	for _, ch := range t.children {
		ch.waiting--
		if ch.waiting == 0 && ch.rec.State == events.TaskPending {
			c.release(ch, now)
		}
	}
	c.checkDone(t.job, now)
}

// failed records a failed attempt: retry after a backoff, or dead-letter.
func (c *core) failed(t *task, ev events.TaskEvent, now time.Time) {
	if ev.Attempt != t.rec.Attempt || (t.rec.State != events.TaskQueued && t.rec.State != events.TaskRunning) {
		return // a stale attempt, or one already counted
	}
	if c.copyFailed(t, ev, now) {
		return
	}
	c.endOffer(t)
	t.rec.Errors = append(t.rec.Errors, events.AttemptError{Attempt: ev.Attempt, WorkerID: ev.WorkerID, Error: ev.Error, At: now})
	if ev.Permanent || t.rec.Attempt >= t.rec.Spec.MaxAttempts {
		c.deadLetter(t, now)
		return
	}
	at := now.Add(backoff(t.job.retry, t.rec.Attempt+1, c.rnd))
	t.rec.RetryAt = &at
	c.setTask(t, events.TaskRetrying, now)
	c.publishTaskEvent(t, events.TaskRetrying, ev.Error, now)
	c.out.timers = append(c.out.timers, retryTimer{tenant: t.job.rec.Tenant, jobID: t.job.rec.ID, taskID: t.rec.Spec.ID, attempt: t.rec.Attempt, at: at})
}

// retryDue releases the next attempt of a task whose backoff elapsed.
func (c *core) retryDue(r retryTimer) {
	if r.local {
		c.localDue(r)
		return
	}
	t := c.lookup(r.tenant, r.jobID, r.taskID)
	if t == nil || t.rec.State != events.TaskRetrying || t.rec.Attempt != r.attempt {
		return
	}
	c.release(t, c.now())
}

func (c *core) deadLetter(t *task, now time.Time) {
	last := t.rec.Errors[len(t.rec.Errors)-1].Error
	c.setTask(t, events.TaskFailed, now)
	s := t.rec.Spec
	dl := events.DeadLetter{
		V: events.Version,
		Task: events.TaskMessage{
			V: events.Version, Tenant: t.job.rec.Tenant, JobID: t.job.rec.ID, TaskID: s.ID,
			Op: s.Op, Params: s.Params, Inputs: s.Inputs, Priority: s.Priority, Pool: s.Pool,
			Resources: s.Resources, Attempt: t.rec.Attempt, MaxAttempts: s.MaxAttempts, TimeoutMS: s.TimeoutMS,
		},
		Attempts: t.rec.Attempt, LastError: last, Errors: t.rec.Errors, At: now,
	}
	c.queueJSON(events.DLQSubject(t.job.rec.Tenant, s.Priority), events.ReleaseMsgID(t.job.rec.Tenant, t.job.rec.ID, s.ID, t.rec.Attempt), dl, t.job.rec.TraceParent)
	c.publishTaskEvent(t, events.TaskDeadLettered, last, now)
	c.log.Warn().Str("job_id", t.job.rec.ID).Str("task_id", s.ID).Str("trace_id", events.TraceIDOf(t.job.rec.TraceParent)).Int("attempts", t.rec.Attempt).Str("error", last).Msg("task dead-lettered")
	j := t.job
	if j.rec.OnFailure == events.ContinueJob {
		c.skipDescendants(t, now)
		c.checkDone(j, now)
		return
	}
	for _, o := range j.order {
		if !o.rec.State.Terminal() {
			c.setTask(o, events.TaskCancelled, now)
		}
	}
	c.finish(j, events.JobFailed, fmt.Sprintf("task %s dead-lettered after %d attempts: %s", s.ID, t.rec.Attempt, last), now)
}

func (c *core) skipDescendants(t *task, now time.Time) {
	stack := append([]*task(nil), t.children...)
	for len(stack) > 0 {
		d := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if d.rec.State.Terminal() {
			continue
		}
		c.setTask(d, events.TaskSkipped, now)
		c.publishTaskEvent(d, events.TaskSkipped, "dependency "+t.rec.Spec.ID+" failed", now)
		stack = append(stack, d.children...)
	}
}

func (c *core) checkDone(j *job, now time.Time) {
	if j.rec.Counts.Done() < j.rec.Total {
		return
	}
	if j.rec.Counts.Succeeded == j.rec.Total {
		c.finish(j, events.JobSucceeded, "", now)
		return
	}
	c.finish(j, events.JobFailed, fmt.Sprintf("%d of %d tasks failed, %d skipped", j.rec.Counts.Failed, j.rec.Total, j.rec.Counts.Skipped), now)
}

func (c *core) finish(j *job, s events.JobState, errText string, now time.Time) {
	j.rec.State = s
	j.rec.Error = errText
	j.rec.FinishedAt = &now
	c.touchJob(j, now)
	c.publishJobEvent(j, now)
	c.out.done = append(c.out.done, j)
	c.log.Info().Str("job_id", j.rec.ID).Str("trace_id", events.TraceIDOf(j.rec.TraceParent)).Str("state", string(s)).Str("error", errText).Msg("job finished")
}

// cancel stops a live job: nothing more is released, every unfinished task
// is cancelled, and the cancelled job event tells workers to stop its
// running tasks.
func (c *core) cancel(tenant string, req events.CancelRequest) {
	j := c.jobs[events.JobKey(tenant, req.JobID)]
	if j == nil || j.rec.State.Terminal() {
		return
	}
	now := c.now()
	for _, t := range j.order {
		if !t.rec.State.Terminal() {
			c.setTask(t, events.TaskCancelled, now)
		}
	}
	reason := req.Reason
	if reason == "" {
		reason = "cancelled by request"
	}
	c.finish(j, events.JobCancelled, reason, now)
}

// endBatch hands over the outbox and forgets finished jobs.
func (c *core) endBatch() *outbox {
	out := c.out
	c.out = newOutbox()
	return out
}

func (c *core) forget(done []*job) {
	for _, j := range done {
		delete(c.jobs, events.JobKey(j.rec.Tenant, j.rec.ID))
	}
}

func marshalRecord(v any) []byte {
	b, _ := json.Marshal(v) // records are plain structs; cannot fail
	return b
}
