package worker_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/geocluster/geocluster/libs/events"
)

func TestDrainLetsRunningTaskFinish(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	cfg := config()
	cfg.DrainTimeout = time.Minute
	w := h.start(cfg, nil)

	h.publish(task("drain", "t1", events.OpSleep, `{"duration_ms":300}`))
	h.await("drain", "t1", events.TaskStarted)
	require.NoError(t, w.stop(t))

	e, ok := h.find("drain", "t1", events.TaskSucceeded)
	require.True(t, ok, "the running task finished before Run returned")
	assert.Equal(t, cfg.ID, e.WorkerID)
	assert.True(t, h.queueEmpty(events.PriorityNormal))
	assert.True(t, h.isGone(cfg.ID))
	require.Eventually(t, func() bool { return len(h.workerStates(cfg.ID)) == 3 }, wait, tick)
	assert.Equal(t, []events.WorkerState{events.WorkerRegistered, events.WorkerDraining, events.WorkerStopped}, h.workerStates(cfg.ID))
}

func TestDrainTimeoutHandsTaskBack(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	cfgA := config()
	cfgA.DrainTimeout = 50 * time.Millisecond
	a := h.start(cfgA, blockingRegistry(t))

	h.publish(task("handback", "t1", "block", ""))
	h.await("handback", "t1", events.TaskStarted)
	require.NoError(t, a.stop(t), "a drain that hands tasks back is still a clean stop")
	assert.Empty(t, h.taskEvents(func(e events.TaskEvent) bool {
		return e.TaskID == "t1" && e.State != events.TaskStarted
	}), "a handed back task reports no outcome")
	assert.True(t, h.isGone(cfgA.ID))

	cfgB := config()
	b := h.start(cfgB, quickRegistry(t))
	e := h.await("handback", "t1", events.TaskSucceeded)
	assert.Equal(t, cfgB.ID, e.WorkerID)
	require.NoError(t, b.stop(t))
}

func TestDrainHandsBackTasksWaitingForOpLimit(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	cfgA := config()
	cfgA.DrainTimeout = 50 * time.Millisecond
	cfgA.OpLimits = map[string]int{"block": 1}
	a := h.start(cfgA, blockingRegistry(t))

	h.publish(task("waiting", "t1", "block", ""), task("waiting", "t2", "block", ""))
	require.Eventually(t, func() bool { return h.held(events.PriorityNormal) == 2 }, wait, tick)
	require.NoError(t, a.stop(t))
	assert.Len(t, h.taskEvents(func(e events.TaskEvent) bool { return e.JobID == "waiting" }), 1, "one started event, no outcome")

	b := h.start(config(), quickRegistry(t))
	for _, id := range []string{"t1", "t2"} {
		e := h.await("waiting", id, events.TaskSucceeded)
		assert.Equal(t, b.id, e.WorkerID)
	}
	require.NoError(t, b.stop(t))
}
