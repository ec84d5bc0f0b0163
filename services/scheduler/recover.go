package scheduler

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/geocluster/geocluster/libs/events"
)

// recoverJobs loads every live job and its tasks from KV into the core, so a
// restarted scheduler continues where the last one stopped. Tasks that are
// queued or running stay so (their messages are in the streams or on
// workers); pending tasks whose deps all succeeded are released again (their
// release may not have been flushed; the stream drops a duplicate by its
// message id); retrying tasks get their timers back.
func recoverJobs(ctx context.Context, jobsKV, tasksKV jetstream.KeyValue, c *core) ([]retryTimer, error) {
	jobs, err := events.Latest(ctx, jobsKV, ">")
	if err != nil {
		return nil, fmt.Errorf("list jobs: %w", err)
	}
	var timers []retryTimer
	now := c.now()
	for _, k := range sortedKeys(jobs) {
		e := jobs[k]
		var rec events.JobRecord
		if err := json.Unmarshal(e.Value(), &rec); err != nil {
			c.log.Error().Err(err).Str("key", k).Msg("unreadable job record skipped")
			continue
		}
		if rec.State.Terminal() {
			continue
		}
		j, err := loadTasks(ctx, tasksKV, rec)
		if err != nil {
			return nil, err
		}
		c.jobs[events.JobKey(rec.Tenant, rec.ID)] = j
		for _, t := range j.order {
			if t.rec.State == events.TaskRunning {
				t.startedAt = t.rec.UpdatedAt // about when it started
			}
			switch {
			case t.rec.State == events.TaskPending && t.waiting == 0:
				c.release(t, now)
			case t.rec.State == events.TaskRetrying && t.rec.RetryAt != nil:
				timers = append(timers, retryTimer{tenant: rec.Tenant, jobID: rec.ID, taskID: t.rec.Spec.ID, attempt: t.rec.Attempt, at: *t.rec.RetryAt})
			case t.rec.State == events.TaskQueued && t.rec.DirectedTo != "" && t.rec.LocalUntil != nil:
				// An offered attempt: its shared copy follows at the
				// stored time (a copy already stored is dropped by its id).
				timers = append(timers, retryTimer{tenant: rec.Tenant, jobID: rec.ID, taskID: t.rec.Spec.ID, attempt: t.rec.Attempt, at: *t.rec.LocalUntil, local: true})
			}
		}
		c.settleDeadLetters(j, now)
		if !j.rec.State.Terminal() {
			c.checkDone(j, now)
		}
		c.log.Info().Str("job_id", rec.ID).Int("tasks", len(j.order)).Msg("job recovered")
	}
	return timers, nil
}

// settleDeadLetters applies the failure policy again for tasks stored as
// failed: a crash may have stored the dead task's record but not the rest of
// its transition (dependents skipped, or the job failed). Its messages carry
// the same ids as the first time, so nothing is published twice.
func (c *core) settleDeadLetters(j *job, now time.Time) {
	for _, t := range j.order {
		if t.rec.State != events.TaskFailed {
			continue
		}
		if j.rec.OnFailure == events.ContinueJob {
			c.skipDescendants(t, now)
			continue
		}
		for _, o := range j.order {
			if !o.rec.State.Terminal() {
				c.setTask(o, events.TaskCancelled, now)
			}
		}
		last := ""
		if n := len(t.rec.Errors); n > 0 {
			last = t.rec.Errors[n-1].Error
		}
		c.finish(j, events.JobFailed, fmt.Sprintf("task %s dead-lettered after %d attempts: %s", t.rec.Spec.ID, t.rec.Attempt, last), now)
		return
	}
}

func loadTasks(ctx context.Context, tasksKV jetstream.KeyValue, rec events.JobRecord) (*job, error) {
	j := &job{rec: rec, tasks: map[string]*task{}}
	prefix := events.JobKey(rec.Tenant, rec.ID) + "."
	entries, err := events.Latest(ctx, tasksKV, events.TaskKeysOfJob(rec.Tenant, rec.ID))
	if err != nil {
		return nil, fmt.Errorf("list tasks of %s: %w", rec.ID, err)
	}
	for _, k := range sortedKeys(entries) {
		var tr events.TaskRecord
		if err := json.Unmarshal(entries[k].Value(), &tr); err != nil {
			return nil, fmt.Errorf("decode task %s: %w", k, err)
		}
		t := &task{job: j, rec: tr}
		j.tasks[strings.TrimPrefix(k, prefix)] = t
		j.order = append(j.order, t)
	}
	// Counts are rebuilt from the task records, the finer truth.
	j.rec.Counts = events.TaskCounts{}
	for _, t := range j.order {
		j.rec.Counts.Add(t.rec.State, 1)
		for _, d := range t.rec.Spec.Deps {
			p := j.tasks[d]
			if p == nil {
				return nil, fmt.Errorf("job %s: task %s depends on missing task %s", rec.ID, t.rec.Spec.ID, d)
			}
			p.children = append(p.children, t)
			if p.rec.State != events.TaskSucceeded {
				t.waiting++
			}
		}
	}
	j.retry = rec.Retry.WithDefaults()
	return j, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// waitCaughtUp returns once every online replica of each stream has applied
// everything its leader holds (or after limit, with an error). A new
// leader reads the records its predecessor wrote; reads may be answered by
// any replica, and one that lags would hand it an older state than the one
// its predecessor acted on. Nobody else writes these streams, so they
// settle as soon as the old leader's last writes are replicated.
func waitCaughtUp(ctx context.Context, js jetstream.JetStream, streams []string, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	for _, name := range streams {
		for {
			s, err := js.Stream(ctx, name)
			if err == nil {
				info := s.CachedInfo()
				if caughtUp(info) {
					break
				}
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("replicas of %s not caught up after %s", name, limit)
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	return nil
}

func caughtUp(info *jetstream.StreamInfo) bool {
	if info == nil || info.Cluster == nil {
		return true // a single server
	}
	if info.Cluster.Leader == "" {
		return false
	}
	for _, p := range info.Cluster.Replicas {
		if !p.Offline && (!p.Current || p.Lag > 0) {
			return false
		}
	}
	return true
}
