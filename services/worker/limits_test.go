package worker_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/geocluster/geocluster/libs/events"
)

// An op limit is a bulkhead: sleeps past the limit wait for it, holding a
// slot each, and noop tasks of the same worker run meanwhile.
func TestSlowOpDoesNotBlockOtherOps(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	cfg := config()
	cfg.Capacity = 8
	cfg.OpLimits = map[string]int{events.OpSleep: 1}
	cfg.DrainTimeout = 0
	w := h.start(cfg, nil) // the platform's sleep and noop

	h.publish(task("bulkhead", "sleep0", events.OpSleep, `{"duration_ms":3600000}`))
	h.await("bulkhead", "sleep0", events.TaskStarted)
	h.publish(task("bulkhead", "sleep1", events.OpSleep, `{"duration_ms":3600000}`))
	require.Eventually(t, func() bool { return h.held(events.PriorityNormal) == 2 }, wait, tick,
		"the second sleep is held, waiting for the limit")
	const noops = 10
	for i := range noops {
		h.publish(task("bulkhead", fmt.Sprintf("noop%d", i), events.OpNoop, ""))
	}
	for i := range noops {
		h.await("bulkhead", fmt.Sprintf("noop%d", i), events.TaskSucceeded)
	}
	_, started := h.find("bulkhead", "sleep1", events.TaskStarted)
	assert.False(t, started, "the second sleep still waits for the first")
	assert.Empty(t, h.taskEvents(func(e events.TaskEvent) bool { return e.Op == events.OpSleep && e.State != events.TaskStarted }),
		"the first sleep still runs")

	require.NoError(t, w.stop(t))
	assert.Empty(t, h.taskEvents(func(e events.TaskEvent) bool { return e.Op == events.OpSleep && e.State != events.TaskStarted }),
		"both sleeps handed back, without an outcome")
}
