package worker_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/geocluster/geocluster/libs/events"
)

func TestHigherPrioritiesFirstLowStillProgresses(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	const perPriority = 12
	var tasks []events.TaskMessage
	// Publish the least urgent first, so stream order cannot explain the result.
	for _, p := range slices.Backward(events.Priorities) {
		for i := range perPriority {
			m := task("prio-"+string(p), fmt.Sprintf("t%02d", i), events.OpNoop, "")
			m.Priority = p
			tasks = append(tasks, m)
		}
	}
	h.publish(tasks...)
	cfg := config()
	cfg.Capacity = 1
	w := h.start(cfg, nil)

	isStarted := func(e events.TaskEvent) bool { return e.State == events.TaskStarted }
	require.Eventually(t, func() bool { return len(h.taskEvents(isStarted)) == len(tasks) }, wait, tick)
	require.NoError(t, w.stop(t))

	var order []events.Priority
	for _, e := range h.taskEvents(isStarted) {
		order = append(order, events.Priority(e.JobID[len("prio-"):]))
	}
	firstOf := func(p events.Priority) int { return slices.Index(order, p) }
	lastOf := func(p events.Priority) int {
		for i, q := range slices.Backward(order) {
			if q == p {
				return i
			}
		}
		return -1
	}
	meanRank := func(p events.Priority) float64 {
		sum, n := 0, 0
		for i, q := range order {
			if q == p {
				sum, n = sum+i, n+1
			}
		}
		return float64(sum) / float64(n)
	}
	assert.Equal(t, events.PriorityCritical, order[0], "the most urgent task runs first")
	assert.Less(t, firstOf(events.PriorityLow), lastOf(events.PriorityHigh), "low progresses before high is exhausted")
	assert.Less(t, firstOf(events.PriorityLow), lastOf(events.PriorityCritical), "low progresses before critical is exhausted")
	assert.Less(t, meanRank(events.PriorityCritical), meanRank(events.PriorityHigh))
	assert.Less(t, meanRank(events.PriorityHigh), meanRank(events.PriorityNormal))
	assert.Less(t, meanRank(events.PriorityNormal), meanRank(events.PriorityLow))
}
