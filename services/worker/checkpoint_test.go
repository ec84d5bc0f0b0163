package worker_test

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"sync"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/geocluster/geocluster/libs/events"
	"github.com/geocluster/geocluster/services/worker"
)

// TestRerunTaskResumesFromItsCheckpoint: a ten-step task saves its progress
// after every step and fails half way on its first attempt; its second
// attempt loads the checkpoint and runs only the remaining steps. The
// checkpoint is gone once the task succeeded.
func TestRerunTaskResumesFromItsCheckpoint(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	var mu sync.Mutex
	steps := map[int]int{}
	ops := worker.NewRegistry()
	require.NoError(t, ops.Register("steps", func(ctx context.Context, task worker.Task) (json.RawMessage, error) {
		from := 0
		if cp, err := task.LoadCheckpoint(ctx); err == nil {
			from, _ = strconv.Atoi(string(cp))
		} else if !errors.Is(err, worker.ErrNoCheckpoint) {
			return nil, err
		}
		for i := from; i < 10; i++ {
			if i == 5 && task.Attempt == 1 {
				return nil, errors.New("worker trouble half way")
			}
			mu.Lock()
			steps[i]++
			mu.Unlock()
			if err := task.SaveCheckpoint(ctx, []byte(strconv.Itoa(i+1))); err != nil {
				return nil, err
			}
		}
		return json.RawMessage(`{"resumed_at":` + strconv.Itoa(from) + `}`), nil
	}))
	cfg := config()
	w := h.start(cfg, ops)

	first := task("cp", "t1", "steps", "")
	h.publish(first)
	f := h.await("cp", "t1", events.TaskFailed)
	assert.Equal(t, "worker trouble half way", f.Error)
	second := first
	second.Attempt = 2 // the scheduler's retry
	h.publish(second)
	s := h.await("cp", "t1", events.TaskSucceeded)
	assert.JSONEq(t, `{"resumed_at":5}`, string(s.Result))
	mu.Lock()
	for i := range 10 {
		assert.Equal(t, 1, steps[i], "step %d", i)
	}
	mu.Unlock()
	kv, err := h.js.KeyValue(context.Background(), events.BucketCheckpoints)
	require.NoError(t, err)
	_, err = kv.Get(context.Background(), events.TaskKey(events.DefaultTenant, "cp", "t1"))
	assert.ErrorIs(t, err, jetstream.ErrKeyNotFound, "the checkpoint of a finished task is removed")
	require.NoError(t, w.stop(t))
}
