package worker_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/geocluster/geocluster/libs/events"
	"github.com/geocluster/geocluster/services/worker"
)

func TestRun(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	cfg := config()
	w := h.start(cfg, nil)

	const perPriority = 25
	var tasks []events.TaskMessage
	for _, p := range events.Priorities {
		for i := range perPriority {
			m := task("run-"+string(p), fmt.Sprintf("t%03d", i), events.OpNoop, "")
			m.Priority = p
			tasks = append(tasks, m)
		}
	}
	h.publish(tasks...)
	failing := task("run-fail", "t1", events.OpFail, `{"message":"boom"}`)
	slow := task("run-slow", "t1", events.OpSleep, `{"duration_ms":20}`)
	slow.Attempt = 2
	h.publish(failing, slow)
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	traced := task("run-traced", "t1", events.OpNoop, "")
	h.publishWith(nats.Header{events.TraceParentHeader: {"00-" + traceID + "-00f067aa0ba902b7-01"}}, traced)

	require.Eventually(t, func() bool {
		return len(h.taskEvents(func(e events.TaskEvent) bool { return e.State == events.TaskSucceeded })) == len(tasks)+2
	}, wait, tick)

	for _, m := range tasks {
		e, ok := h.find(m.JobID, m.TaskID, events.TaskSucceeded)
		require.True(t, ok, m.TaskID)
		assert.Equal(t, events.Version, e.V)
		assert.Equal(t, events.DefaultTenant, e.Tenant)
		assert.Equal(t, events.OpNoop, e.Op)
		assert.Equal(t, 1, e.Attempt)
		assert.Equal(t, cfg.ID, e.WorkerID)
		assert.False(t, e.At.IsZero())
		_, started := h.find(m.JobID, m.TaskID, events.TaskStarted)
		assert.True(t, started, "started event of %s", m.TaskID)
	}
	f := h.await("run-fail", "t1", events.TaskFailed)
	assert.Equal(t, "boom", f.Error)
	assert.False(t, f.Permanent)
	s := h.await("run-slow", "t1", events.TaskSucceeded)
	assert.Equal(t, 2, s.Attempt, "attempt comes from the message")
	assert.GreaterOrEqual(t, s.DurationMS, 20.0)
	for _, state := range []events.TaskState{events.TaskStarted, events.TaskSucceeded} {
		e := h.await("run-traced", "t1", state)
		assert.Contains(t, e.header.Get(events.TraceParentHeader), traceID, "%s event continues the trace", state)
	}

	require.NoError(t, w.stop(t))
	assert.True(t, h.isGone(cfg.ID), "registration removed")
	require.Eventually(t, func() bool { return len(h.workerStates(cfg.ID)) == 3 }, wait, tick)
	assert.Equal(t, []events.WorkerState{events.WorkerRegistered, events.WorkerDraining, events.WorkerStopped}, h.workerStates(cfg.ID))
	for _, p := range events.Priorities {
		assert.True(t, h.queueEmpty(p), "every %s task acked", p)
	}
}

func TestRunRejectsBadSetup(t *testing.T) {
	t.Parallel()
	cfg := worker.DefaultConfig()
	cfg.Capacity = 0
	err := worker.Run(context.Background(), worker.Deps{}, cfg)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "Deps.NC and Deps.JS")

	h := newHarness(t)
	nc, js := h.nc, h.js
	err = worker.Run(context.Background(), worker.Deps{NC: nc, JS: js}, cfg)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "capacity")

	cfg = config()
	cfg.OpLimits = map[string]int{"hillshade": 1}
	err = worker.Run(context.Background(), worker.Deps{NC: nc, JS: js}, cfg)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "hillshade")
}

func TestKilledWorkerTaskCompletesElsewhere(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	cfgA := config()
	cfgA.DrainTimeout = 0
	a := h.start(cfgA, blockingRegistry(t))
	h.publish(task("killed", "t1", "block", ""))
	started := h.await("killed", "t1", events.TaskStarted)
	require.Equal(t, cfgA.ID, started.WorkerID)

	cfgB := config()
	b := h.start(cfgB, quickRegistry(t))
	// Kill A: its connection drops without a drain, nothing is acked or naked.
	a.nc.Close()
	a.cancel()
	<-a.done
	a.done <- nil

	done := h.await("killed", "t1", events.TaskSucceeded)
	assert.Equal(t, cfgB.ID, done.WorkerID, "the task completes on the surviving worker")
	assert.JSONEq(t, `{"quick":true}`, string(done.Result))
	assert.Empty(t, h.taskEvents(func(e events.TaskEvent) bool {
		return e.WorkerID == cfgA.ID && e.State != events.TaskStarted
	}), "the killed worker reported no outcome")
	require.NoError(t, b.stop(t))
	assert.True(t, h.queueEmpty(events.PriorityNormal))
}

func TestClosedConnectionEndsRun(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	cfg := config()
	w := h.start(cfg, nil)
	w.nc.Close()
	var err error
	require.Eventually(t, func() bool {
		select {
		case err = <-w.done:
			w.done <- err
			return true
		default:
			return false
		}
	}, wait, tick, "Run returns without its ctx being cancelled")
	assert.ErrorIs(t, err, nats.ErrConnectionClosed)
}

func TestDeletedPoolConsumerIsRecreated(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	w := h.start(config(), nil)
	h.publish(task("repair", "before", events.OpNoop, ""))
	h.await("repair", "before", events.TaskSucceeded)

	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	require.NoError(t, h.js.DeleteConsumer(ctx, events.TaskStream(events.PriorityNormal), events.PoolConsumer(events.DefaultPool)))
	require.Eventually(t, func() bool {
		_, err := h.js.Consumer(ctx, events.TaskStream(events.PriorityNormal), events.PoolConsumer(events.DefaultPool))
		return err == nil
	}, wait, tick, "the worker re-provisions its pool")
	h.publish(task("repair", "after", events.OpNoop, ""))
	h.await("repair", "after", events.TaskSucceeded)
	require.NoError(t, w.stop(t))
}
