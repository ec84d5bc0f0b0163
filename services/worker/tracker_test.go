package worker

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/geocluster/geocluster/libs/events"
)

func TestCancelledJobsExpireAndAreBounded(t *testing.T) {
	t.Parallel()
	tr := newTracker()
	now := time.Now()
	m := events.TaskMessage{Tenant: "t", JobID: "j1"}
	tr.cancelJob(events.JobKey("t", "j1"), now)
	_, _, ok := tr.add(context.Background(), m, nil, now.Add(time.Minute))
	assert.False(t, ok, "a task of a cancelled job is skipped")
	h, ctx, ok := tr.add(context.Background(), m, nil, now.Add(cancelledTTL))
	assert.True(t, ok, "the cancellation expired")
	tr.remove(h)
	assert.Error(t, ctx.Err(), "remove releases the task's context")

	for i := range cancelledMax + 10 {
		tr.cancelJob(fmt.Sprintf("t.j%d", i), now.Add(2*cancelledTTL))
	}
	assert.Len(t, tr.cancelled, cancelledMax)
	assert.Len(t, tr.order, cancelledMax)
	assert.NotContains(t, tr.cancelled, "t.j0", "the oldest are dropped first")
}

func TestCancelJobCancelsOnlyItsTasks(t *testing.T) {
	t.Parallel()
	tr := newTracker()
	now := time.Now()
	_, ctx1, _ := tr.add(context.Background(), events.TaskMessage{Tenant: "t", JobID: "a"}, nil, now)
	_, ctx2, _ := tr.add(context.Background(), events.TaskMessage{Tenant: "t", JobID: "b"}, nil, now)
	assert.Equal(t, 1, tr.cancelJob(events.JobKey("t", "a"), now))
	assert.ErrorIs(t, context.Cause(ctx1), ErrJobCancelled)
	assert.NoError(t, ctx2.Err())

	tr.cancelAll(ErrDraining)
	assert.ErrorIs(t, context.Cause(ctx2), ErrDraining)
	_, ctx3, ok := tr.add(context.Background(), events.TaskMessage{Tenant: "t", JobID: "c"}, nil, now)
	assert.True(t, ok)
	assert.ErrorIs(t, context.Cause(ctx3), ErrDraining, "tasks added after cancelAll are cancelled too")
}

func TestCancelTaskStopsOnlyThatTask(t *testing.T) {
	t.Parallel()
	tr := newTracker()
	now := time.Now()
	_, ctx1, _ := tr.add(context.Background(), events.TaskMessage{Tenant: "t", JobID: "a", TaskID: "x"}, nil, now)
	_, ctx2, _ := tr.add(context.Background(), events.TaskMessage{Tenant: "t", JobID: "a", TaskID: "y"}, nil, now)
	assert.Equal(t, 1, tr.cancelTask(events.JobKey("t", "a"), "x", ErrSuperseded))
	assert.ErrorIs(t, context.Cause(ctx1), ErrSuperseded)
	assert.NoError(t, ctx2.Err())
	assert.Zero(t, tr.cancelTask(events.JobKey("t", "b"), "x", ErrSuperseded))
}
