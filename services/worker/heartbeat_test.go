package worker_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/geocluster/geocluster/libs/events"
	"github.com/geocluster/geocluster/services/worker"
)

func TestRegistrationIsKeptAndRemoved(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	cfg := config()
	cfg.HeartbeatInterval = 50 * time.Millisecond
	cfg.Labels = map[string]string{"zone": "eu-1"}
	cfg.OpLimits = map[string]int{events.OpSleep: 2}
	w := h.start(cfg, nil)

	first, err := h.registration(cfg.ID)
	require.NoError(t, err)
	assert.Equal(t, events.Version, first.V)
	assert.Equal(t, cfg.ID, first.ID)
	assert.Equal(t, events.DefaultPool, first.Pool)
	assert.Equal(t, worker.PlatformRegistry().Names(), first.Ops)
	assert.Equal(t, cfg.Capacity, first.Capacity)
	assert.Equal(t, cfg.Labels, first.Labels)
	assert.Equal(t, cfg.OpLimits, first.OpLimits)
	assert.Equal(t, events.WorkerRegistered, first.State)
	assert.False(t, first.StartedAt.IsZero())

	h.publish(task("hb", "ok", events.OpNoop, ""), task("hb", "ko", events.OpFail, ""))
	require.Eventually(t, func() bool {
		info, err := h.registration(cfg.ID)
		return err == nil && info.HeartbeatAt.After(first.HeartbeatAt) && info.Completed == 1 && info.Failed == 1
	}, wait, tick, "heartbeats refresh the registration and its counters")

	require.NoError(t, w.stop(t))
	assert.True(t, h.isGone(cfg.ID))
	require.Eventually(t, func() bool { return len(h.workerStates(cfg.ID)) == 3 }, wait, tick)
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, e := range h.worker {
		require.NotNil(t, e.Info, e.State)
		assert.Equal(t, e.State, e.Info.State, "the event carries the registration")
	}
}
