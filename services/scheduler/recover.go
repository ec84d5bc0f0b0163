package scheduler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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
	lister, err := jobsKV.ListKeys(ctx)
	if err != nil {
		if errors.Is(err, jetstream.ErrNoKeysFound) {
			return nil, nil
		}
		return nil, fmt.Errorf("list jobs: %w", err)
	}
	var keys []string
	for k := range lister.Keys() {
		keys = append(keys, k)
	}
	var timers []retryTimer
	now := c.now()
	for _, k := range keys {
		e, err := jobsKV.Get(ctx, k)
		if err != nil {
			if errors.Is(err, jetstream.ErrKeyNotFound) {
				continue
			}
			return nil, fmt.Errorf("get job %s: %w", k, err)
		}
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
			switch {
			case t.rec.State == events.TaskPending && t.waiting == 0:
				c.release(t, now)
			case t.rec.State == events.TaskRetrying && t.rec.RetryAt != nil:
				timers = append(timers, retryTimer{tenant: rec.Tenant, jobID: rec.ID, taskID: t.rec.Spec.ID, attempt: t.rec.Attempt, at: *t.rec.RetryAt})
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
	lister, err := tasksKV.ListKeysFiltered(ctx, events.TaskKeysOfJob(rec.Tenant, rec.ID))
	if err != nil && !errors.Is(err, jetstream.ErrNoKeysFound) {
		return nil, fmt.Errorf("list tasks of %s: %w", rec.ID, err)
	}
	if lister != nil {
		for k := range lister.Keys() {
			e, err := tasksKV.Get(ctx, k)
			if err != nil {
				return nil, fmt.Errorf("get task %s: %w", k, err)
			}
			var tr events.TaskRecord
			if err := json.Unmarshal(e.Value(), &tr); err != nil {
				return nil, fmt.Errorf("decode task %s: %w", k, err)
			}
			t := &task{job: j, rec: tr}
			j.tasks[strings.TrimPrefix(k, prefix)] = t
			j.order = append(j.order, t)
		}
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
