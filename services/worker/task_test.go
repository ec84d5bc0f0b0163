package worker_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/geocluster/geocluster/libs/events"
	"github.com/geocluster/geocluster/libs/natstest"
	"github.com/geocluster/geocluster/services/worker"
)

func TestOpLimitBoundsConcurrentRuns(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	var running, most atomic.Int32
	reg := worker.NewRegistry()
	require.NoError(t, reg.Register(events.OpSleep, func(ctx context.Context, _ worker.Task) (json.RawMessage, error) {
		n := running.Add(1)
		defer running.Add(-1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		timer := time.NewTimer(10 * time.Millisecond)
		defer timer.Stop()
		select {
		case <-timer.C:
			return nil, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}))
	require.NoError(t, reg.Register(events.OpNoop, func(context.Context, worker.Task) (json.RawMessage, error) { return nil, nil }))
	cfg := config()
	cfg.Capacity = 8
	cfg.OpLimits = map[string]int{events.OpSleep: 1}
	w := h.start(cfg, reg)

	const n = 8
	for i := range n {
		h.publish(task("limit", fmt.Sprintf("sleep%d", i), events.OpSleep, ""), task("limit", fmt.Sprintf("noop%d", i), events.OpNoop, ""))
	}
	require.Eventually(t, func() bool {
		return len(h.taskEvents(func(e events.TaskEvent) bool { return e.State == events.TaskSucceeded })) == 2*n
	}, wait, tick)
	assert.Equal(t, int32(1), most.Load(), "never two sleeps at once")
	require.NoError(t, w.stop(t))
}

func TestTaskTimeoutFails(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	cfg := config()
	cfg.DefaultTimeout = 150 * time.Millisecond
	w := h.start(cfg, nil)

	own := task("timeout", "own", events.OpSleep, `{"duration_ms":60000}`)
	own.TimeoutMS = 50
	byDefault := task("timeout", "default", events.OpSleep, `{"duration_ms":60000}`)
	h.publish(own, byDefault)

	e := h.await("timeout", "own", events.TaskFailed)
	assert.Equal(t, "timeout after 50ms", e.Error)
	assert.False(t, e.Permanent, "a timeout may pass on a retry")
	assert.GreaterOrEqual(t, e.DurationMS, 50.0)
	e = h.await("timeout", "default", events.TaskFailed)
	assert.Equal(t, "timeout after 150ms", e.Error)
	require.NoError(t, w.stop(t))
}

func TestTaskErrorsAreReported(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	reg := worker.PlatformRegistry()
	require.NoError(t, reg.Register("panic", func(context.Context, worker.Task) (json.RawMessage, error) {
		panic("kaboom")
	}))
	require.NoError(t, reg.Register("badjson", func(context.Context, worker.Task) (json.RawMessage, error) {
		return json.RawMessage(`{not json`), nil
	}))
	w := h.start(config(), reg)

	recovers := task("errors", "recovers", events.OpFail, `{"message":"flaky","succeed_on_attempt":2}`)
	recovers.Attempt = 2
	for _, tc := range []struct {
		name      string
		msg       events.TaskMessage
		state     events.TaskState
		error     string
		permanent bool
	}{
		{"unknown op", task("errors", "unknown", "hillshade", ""), events.TaskFailed, `unknown op "hillshade"`, true},
		{"params of the wrong type", task("errors", "badtype", events.OpSleep, `{"duration_ms":"x"}`), events.TaskFailed, "duration_ms", true},
		{"unknown param", task("errors", "badfield", events.OpSleep, `{"seconds":1}`), events.TaskFailed, "seconds", true},
		{"op error", task("errors", "fails", events.OpFail, `{"message":"flaky"}`), events.TaskFailed, "flaky", false},
		{"missing object", task("errors", "missing", events.OpChecksum, `{"object":"tiles/nope.tif"}`), events.TaskFailed, `"tiles/nope.tif" not found`, true},
		{"panic", task("errors", "panics", "panic", ""), events.TaskFailed, "panicked: kaboom", false},
		{"result not JSON", task("errors", "badjson", "badjson", ""), events.TaskFailed, "not JSON", true},
		{"recovers on a later attempt", recovers, events.TaskSucceeded, "", false},
	} {
		h.publish(tc.msg)
		e := h.await(tc.msg.JobID, tc.msg.TaskID, tc.state)
		assert.Contains(t, e.Error, tc.error, tc.name)
		assert.Equal(t, tc.permanent, e.Permanent, tc.name)
	}
	_, started := h.find("errors", "unknown", events.TaskStarted)
	assert.False(t, started, "an unknown op never starts")
	require.NoError(t, w.stop(t))
	assert.True(t, h.queueEmpty(events.PriorityNormal), "every task acked")
}

func TestUndecodableTaskIsTerminated(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	w := h.start(config(), nil)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	bad := task("undecodable", "t1", events.OpNoop, "")
	bad.Attempt = 0 // invalid
	data, err := json.Marshal(bad)
	require.NoError(t, err)
	for i, body := range [][]byte{[]byte("{not json"), data} {
		_, err := h.js.PublishMsg(ctx, &nats.Msg{Subject: events.TaskSubject(events.PriorityNormal, events.DefaultPool), Data: body})
		require.NoError(t, err, i)
	}
	require.NoError(t, h.nc.Publish(events.TaskSignalSubject(events.DefaultPool), nil))
	require.Eventually(t, func() bool { return h.queueEmpty(events.PriorityNormal) }, wait, tick, "terminated, not redelivered")

	// The worker goes on: a valid task still runs.
	h.publish(task("undecodable", "t2", events.OpNoop, ""))
	h.await("undecodable", "t2", events.TaskSucceeded)
	assert.Empty(t, h.taskEvents(func(e events.TaskEvent) bool { return e.TaskID == "t1" }))
	require.NoError(t, w.stop(t))
}

func TestLongTaskIsNotRedelivered(t *testing.T) {
	t.Parallel()
	topo := natstest.Topology()
	// Progress goes out every ack wait / 3; the ack wait leaves room for
	// a loaded CI machine to stall the worker for a second without the
	// task being redelivered, and the task runs for three ack waits.
	topo.TaskAckWait = 1500 * time.Millisecond
	h := newHarnessWith(t, topo)
	var calls atomic.Int32
	reg := worker.NewRegistry()
	require.NoError(t, reg.Register("long", func(ctx context.Context, _ worker.Task) (json.RawMessage, error) {
		calls.Add(1)
		timer := time.NewTimer(3 * topo.TaskAckWait)
		defer timer.Stop()
		select {
		case <-timer.C:
			return nil, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}))
	cfg := config()
	cfg.Topology = topo
	cfg.IdlePoll = 20 * time.Millisecond // pick up any redelivery at once
	w := h.start(cfg, reg)

	h.publish(task("long", "t1", "long", ""))
	h.await("long", "t1", events.TaskSucceeded)
	assert.Equal(t, int32(1), calls.Load(), "progress reports kept the task from being redelivered")
	require.NoError(t, w.stop(t))
}

func TestAttemptDeliveredPastMaxDeliverIsReportedLost(t *testing.T) {
	t.Parallel()
	topo := natstest.Topology()
	topo.TaskAckWait = 200 * time.Millisecond
	topo.TaskMaxDeliver = 2
	h := newHarnessWith(t, topo)
	h.publish(task("jl", "poison", "noop", ""))
	// A worker that takes the task and dies without a word, twice.
	cons, err := h.js.Consumer(context.Background(), events.TaskStream(events.PriorityNormal), events.PoolConsumer(events.DefaultPool))
	require.NoError(t, err)
	for i := 1; i <= topo.TaskMaxDeliver; i++ {
		b, err := cons.Fetch(1, jetstream.FetchMaxWait(5*time.Second))
		require.NoError(t, err)
		m, ok := <-b.Messages()
		require.True(t, ok, "delivery %d", i)
		md, err := m.Metadata()
		require.NoError(t, err)
		require.Equal(t, uint64(i), md.NumDelivered)
	}
	cfg := config()
	cfg.Topology = topo
	h.start(cfg, nil)
	ev := h.await("jl", "poison", events.TaskFailed)
	assert.Contains(t, ev.Error, "delivered 2 times without an ack (task_max_deliver 2): refused by open circuit breakers or held by workers that died or hung")
	assert.False(t, ev.Permanent)
	_, started := h.find("jl", "poison", events.TaskStarted)
	assert.False(t, started, "a lost attempt is not run again")
	require.Eventually(t, func() bool { return h.queueEmpty(events.PriorityNormal) }, wait, 10*time.Millisecond)
}
