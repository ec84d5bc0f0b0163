package worker_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/geocluster/geocluster/libs/events"
	"github.com/geocluster/geocluster/libs/natstest"
	"github.com/geocluster/geocluster/services/worker"
)

// fakeClock is the breakers' clock in these tests: the cooldown passes when
// the test says so.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.ns.Store(time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC).UnixNano())
	return c
}

func (c *fakeClock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// flakyRegistry has op "flaky", which fails its first failFirst runs and
// then succeeds, counting its runs, and noop.
func flakyRegistry(t *testing.T, failFirst int32, runs *atomic.Int32) *worker.Registry {
	r := worker.NewRegistry()
	require.NoError(t, r.Register("flaky", func(context.Context, worker.Task) (json.RawMessage, error) {
		if runs.Add(1) <= failFirst {
			return nil, errors.New("backend down")
		}
		return json.RawMessage(`{"ok":true}`), nil
	}))
	require.NoError(t, r.Register(events.OpNoop, func(context.Context, worker.Task) (json.RawMessage, error) { return nil, nil }))
	return r
}

// breakerState reads the state of op's breaker in a worker's registration.
func (h *harness) breakerState(id, op string) string {
	info, err := h.registration(id)
	if err != nil {
		return ""
	}
	return info.Breakers[op]
}

func TestOpenBreakerRefusesItsOpUntilAProbeSucceeds(t *testing.T) {
	t.Parallel()
	topo := natstest.Topology()
	topo.TaskMaxDeliver = 10000 // refusals are deliveries: no task here is to be reported lost
	h := newHarnessWith(t, topo)
	const failFirst = 3
	var runs atomic.Int32
	clock := newFakeClock()
	cfg := config()
	cfg.Topology = topo
	cfg.Breaker.MinRequests = failFirst
	cfg.Breaker.Cooldown = time.Minute // of the fake clock
	cfg.Breaker.RefuseDelay = 20 * time.Millisecond
	w := h.startDeps(cfg, worker.Deps{Ops: flakyRegistry(t, failFirst, &runs), Now: clock.Now})
	assert.Equal(t, "closed", h.breakerState(cfg.ID, "flaky"))

	// The op fails its first runs: the breaker trips.
	for i := range failFirst {
		h.publish(task("breaker", fmt.Sprintf("fail%d", i), "flaky", ""))
		e := h.await("breaker", fmt.Sprintf("fail%d", i), events.TaskFailed)
		assert.Equal(t, "backend down", e.Error)
	}
	require.Eventually(t, func() bool { return h.breakerState(cfg.ID, "flaky") == "open" }, wait, tick,
		"the registration shows the breaker open")
	assert.Equal(t, "closed", h.breakerState(cfg.ID, events.OpNoop), "one breaker per op")

	// While it is open, the op's tasks are handed back, other ops run.
	const held, others = 4, 6
	for i := range held {
		h.publish(task("breaker", fmt.Sprintf("held%d", i), "flaky", ""))
	}
	for i := range others {
		h.publish(task("breaker", fmt.Sprintf("noop%d", i), events.OpNoop, ""))
	}
	for i := range others {
		h.await("breaker", fmt.Sprintf("noop%d", i), events.TaskSucceeded)
	}
	require.Eventually(t, func() bool {
		info, err := h.poolConsumer(events.PriorityNormal)
		return err == nil && info.NumRedelivered >= held
	}, wait, tick, "every refused task is redelivered")
	assert.Equal(t, int32(failFirst), runs.Load(), "no task of the op ran while its breaker was open")
	assert.Empty(t, h.taskEvents(func(e events.TaskEvent) bool {
		return e.Op == "flaky" && e.State == events.TaskStarted && strings.HasPrefix(e.TaskID, "held")
	}))
	assert.False(t, h.queueEmpty(events.PriorityNormal), "the refused tasks stay in the stream")

	// After the cooldown a probe runs, succeeds, and the breaker closes.
	clock.Advance(time.Minute)
	for i := range held {
		e := h.await("breaker", fmt.Sprintf("held%d", i), events.TaskSucceeded)
		assert.JSONEq(t, `{"ok":true}`, string(e.Result))
	}
	assert.Equal(t, int32(failFirst+held), runs.Load(), "each held task ran once")
	require.Eventually(t, func() bool { return h.breakerState(cfg.ID, "flaky") == "closed" }, wait, tick)
	require.NoError(t, w.stop(t))
	assert.True(t, h.queueEmpty(events.PriorityNormal), "every task acked")
}

func TestTaskRefusedEverywhereIsReportedFailed(t *testing.T) {
	t.Parallel()
	topo := natstest.Topology()
	topo.TaskMaxDeliver = 2
	h := newHarnessWith(t, topo)
	var runs atomic.Int32
	cfg := config()
	cfg.Topology = topo
	cfg.Breaker.MinRequests, cfg.Breaker.FailureRatio = 1, 1
	cfg.Breaker.Cooldown, cfg.Breaker.MaxCooldown = time.Hour, time.Hour // of the fake clock: open for the whole test
	cfg.Breaker.RefuseDelay = 20 * time.Millisecond
	w := h.startDeps(cfg, worker.Deps{Ops: flakyRegistry(t, 1, &runs), Now: newFakeClock().Now})

	h.publish(task("refused", "trip", "flaky", ""))
	h.await("refused", "trip", events.TaskFailed)
	h.publish(task("refused", "poison", "flaky", ""))
	e := h.await("refused", "poison", events.TaskFailed)
	assert.Equal(t, "delivered 2 times without an ack (task_max_deliver 2): refused by open circuit breakers or held by workers that died or hung", e.Error)
	assert.False(t, e.Permanent, "the scheduler retries it with backoff")
	assert.Equal(t, int32(1), runs.Load(), "the refused task never ran")
	require.Eventually(t, func() bool { return h.queueEmpty(events.PriorityNormal) }, wait, tick)
	require.NoError(t, w.stop(t))
}

func TestBreakersOffRunEveryTask(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	var runs atomic.Int32
	cfg := config()
	cfg.Breaker.MinRequests, cfg.Breaker.FailureRatio = 1, 1 // on, one failure would trip it
	cfg.Breaker.Enabled = false
	w := h.start(cfg, flakyRegistry(t, 5, &runs))
	for i := range 5 {
		h.publish(task("off", fmt.Sprintf("t%d", i), "flaky", ""))
		h.await("off", fmt.Sprintf("t%d", i), events.TaskFailed)
	}
	h.publish(task("off", "t5", "flaky", ""))
	h.await("off", "t5", events.TaskSucceeded)
	info, err := h.registration(cfg.ID)
	require.NoError(t, err)
	assert.Nil(t, info.Breakers, "no breakers in the registration")
	require.NoError(t, w.stop(t))
}
