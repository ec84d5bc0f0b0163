package scheduler

import (
	"fmt"
	"slices"
	"time"

	"github.com/geocluster/geocluster/libs/events"
)

// Speculative execution: the scheduler keeps the run times of each op's
// recent successes. A task running longer than Factor times the
// Percentile of its op's run times (and at least MinRunning) is a
// straggler: the same attempt gets a backup copy on another live worker of
// its pool that runs the op (the least loaded), directed to it alone. The
// first copy to succeed wins (as any completion does); the other is
// superseded: an event naming its worker tells that worker to stop it. A
// copy that fails while the other still runs is only recorded; the attempt
// fails when both have.

// SpeculationConfig tunes speculative execution.
type SpeculationConfig struct {
	// Off turns speculative execution off (false).
	Off bool
	// Factor over the percentile that makes a straggler (3).
	Factor float64
	// Percentile of the op's recent run times, 0–1 (0.9).
	Percentile float64
	// MinSamples is how many successes of an op are needed first (10).
	MinSamples int
	// MinRunning: nothing running for less is a straggler (10s).
	MinRunning time.Duration
	// CheckEvery is how often running tasks are checked (1s).
	CheckEvery time.Duration
}

// DefaultSpeculation returns the defaults.
func DefaultSpeculation() SpeculationConfig {
	return SpeculationConfig{Factor: 3, Percentile: 0.9, MinSamples: 10, MinRunning: 10 * time.Second, CheckEvery: time.Second}
}

func (s SpeculationConfig) validate() error {
	switch {
	case s.Factor < 1:
		return fmt.Errorf("speculation.factor: at least 1, got %g", s.Factor)
	case s.Percentile <= 0 || s.Percentile > 1:
		return fmt.Errorf("speculation.percentile: in (0, 1], got %g", s.Percentile)
	case s.MinSamples < 1:
		return fmt.Errorf("speculation.min_samples: at least 1, got %d", s.MinSamples)
	case s.CheckEvery <= 0:
		return fmt.Errorf("speculation.check_every: must be positive, got %s", s.CheckEvery)
	}
	return nil
}

// runTimes keeps the last few run times of one op.
type runTimes struct {
	ms   []float64
	next int
}

const runTimesKept = 200

func (r *runTimes) add(ms float64) {
	if len(r.ms) < runTimesKept {
		r.ms = append(r.ms, ms)
		return
	}
	r.ms[r.next] = ms
	r.next = (r.next + 1) % runTimesKept
}

// percentile of the kept run times (nearest rank).
func (r *runTimes) percentile(p float64) time.Duration {
	s := slices.Clone(r.ms)
	slices.Sort(s)
	i := min(len(s)-1, max(0, int(p*float64(len(s))+0.5)-1))
	return time.Duration(s[i] * float64(time.Millisecond))
}

// straggling reports whether a task of op running for d is a straggler,
// and the threshold it passed.
func (c *core) straggling(op string, d time.Duration) (bool, time.Duration) {
	cfg := c.cfg.Speculation
	r := c.runTimes[op]
	if cfg.Off || r == nil || len(r.ms) < cfg.MinSamples {
		return false, 0
	}
	limit := max(cfg.MinRunning, time.Duration(cfg.Factor*float64(r.percentile(cfg.Percentile))))
	return d > limit, limit
}

// speculate gives every straggler without a backup one, where a worker
// can take it.
func (c *core) speculate() {
	now := c.now()
	for _, j := range c.jobs {
		for _, t := range j.order {
			if t.rec.State != events.TaskRunning || t.backup != "" || t.startedAt.IsZero() {
				continue
			}
			late, limit := c.straggling(t.rec.Spec.Op, now.Sub(t.startedAt))
			if !late {
				continue
			}
			w := c.loc.spare(t.rec.Spec.Pool, t.rec.Spec.Op, t.rec.WorkerID)
			if w == "" {
				continue
			}
			t.backup, t.copies = w, 2
			m := c.taskMessage(t, now)
			m.DirectedTo = w
			s := t.rec.Spec
			c.queueJSON(events.DirectedTaskSubject(s.Priority, s.Pool, w), events.ReleaseMsgID(m.Tenant, m.JobID, m.TaskID, m.Attempt)+".backup", m, t.job.rec.TraceParent)
			c.out.directed[directedSignal{pool: s.Pool, worker: w}] = struct{}{}
			c.publishCopyEvent(t, events.TaskBackup, w, fmt.Sprintf("running %s on %s, over %s", now.Sub(t.startedAt).Round(time.Millisecond), t.rec.WorkerID, limit.Round(time.Millisecond)), now)
			c.log.Info().Str("job_id", j.rec.ID).Str("task_id", s.ID).Str("trace_id", events.TraceIDOf(j.rec.TraceParent)).Str("worker_id", t.rec.WorkerID).Str("backup", w).Msg("straggler backed up")
		}
	}
}

// publishCopyEvent publishes a backup or superseded event naming worker.
func (c *core) publishCopyEvent(t *task, s events.TaskState, worker, detail string, now time.Time) {
	c.queueTaskEvent(t, events.TaskEvent{
		V: events.Version, Tenant: t.job.rec.Tenant, JobID: t.job.rec.ID, TaskID: t.rec.Spec.ID,
		Op: t.rec.Spec.Op, State: s, Priority: t.rec.Spec.Priority, Pool: t.rec.Spec.Pool,
		Attempt: t.rec.Attempt, WorkerID: worker, Error: detail, At: now,
	})
}

// copyFailed: one copy of a backed-up attempt failed. It returns true when
// the other copy still runs, so the failure is only recorded.
func (c *core) copyFailed(t *task, ev events.TaskEvent, now time.Time) bool {
	if t.copies < 2 {
		return false
	}
	t.copies = 1
	t.rec.Errors = append(t.rec.Errors, events.AttemptError{Attempt: ev.Attempt, WorkerID: ev.WorkerID, Error: ev.Error + " (the other copy runs on)", At: now})
	c.setTask(t, events.TaskRunning, now)
	return true
}

// supersede tells the copy that lost to stop, once a copy succeeded.
func (c *core) supersede(t *task, winner string, now time.Time) {
	if t.backup == "" || t.copies < 2 {
		return
	}
	loser := t.backup
	if winner == t.backup {
		loser = t.rec.WorkerID
	}
	c.publishCopyEvent(t, events.TaskSuperseded, loser, "the copy on "+winner+" finished first", now)
}
