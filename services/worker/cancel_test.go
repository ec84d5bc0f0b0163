package worker_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/geocluster/geocluster/libs/events"
)

// cancelJob publishes a job's cancelled event as the scheduler does.
func (h *harness) cancelJob(jobID string) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	data, err := json.Marshal(events.JobEvent{
		V: events.Version, Tenant: events.DefaultTenant, JobID: jobID, State: events.JobCancelled, At: time.Now().UTC(),
	})
	require.NoError(h.t, err)
	_, err = h.js.Publish(ctx, events.JobEventSubject(events.DefaultTenant, jobID, events.JobCancelled), data,
		jetstream.WithMsgID(jobID+".cancelled"))
	require.NoError(h.t, err)
}

func TestJobCancelStopsRunningAndSkipsQueuedTasks(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	cfg := config()
	w := h.start(cfg, blockingRegistry(t))

	h.publish(task("doomed", "running", "block", ""))
	h.await("doomed", "running", events.TaskStarted)
	h.cancelJob("doomed")
	e := h.await("doomed", "running", events.TaskCancelled)
	assert.Equal(t, "job cancelled", e.Error)
	assert.Equal(t, cfg.ID, e.WorkerID)

	h.publish(task("doomed", "queued", "block", ""))
	require.Eventually(t, func() bool { return h.queueEmpty(events.PriorityNormal) }, wait, tick, "queued task acked")
	assert.Empty(t, h.taskEvents(func(e events.TaskEvent) bool { return e.TaskID == "queued" }), "queued task skipped silently")

	// Other jobs are not affected.
	h.publish(task("other", "t1", events.OpNoop, ""))
	h.await("other", "t1", events.TaskSucceeded)
	require.NoError(t, w.stop(t))
}

func TestJobCancelSkipsTaskWaitingForOpLimit(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	cfg := config()
	cfg.OpLimits = map[string]int{"block": 1}
	w := h.start(cfg, blockingRegistry(t))

	h.publish(task("doomed", "a", "block", ""), task("doomed", "b", "block", ""))
	var first events.TaskEvent
	require.Eventually(t, func() bool {
		got := h.taskEvents(func(e events.TaskEvent) bool { return e.State == events.TaskStarted })
		if len(got) > 0 {
			first = got[0].TaskEvent
		}
		return len(got) > 0 && h.held(events.PriorityNormal) == 2
	}, wait, tick, "one task runs, the other waits for the limit")
	h.cancelJob("doomed")
	h.await("doomed", first.TaskID, events.TaskCancelled)
	require.Eventually(t, func() bool { return h.queueEmpty(events.PriorityNormal) }, wait, tick, "both tasks acked")
	assert.Empty(t, h.taskEvents(func(e events.TaskEvent) bool { return e.TaskID != first.TaskID }), "the waiting task never started")
	require.NoError(t, w.stop(t))
}
