package events_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/geocluster/geocluster/libs/events"
	"github.com/geocluster/geocluster/libs/natstest"
)

func TestEnsureTopologyIsIdempotent(t *testing.T) {
	t.Parallel()
	s := natstest.Server(t)
	_, js := natstest.JetStream(t, s, "test")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	topo := natstest.Topology()
	topo.Pools = []string{"default", "gpu"}
	for range 3 {
		require.NoError(t, events.EnsureTopology(ctx, js, topo))
	}
	for _, name := range []string{events.StreamJobs, events.StreamEvents, events.StreamDLQ, "TASKS_CRITICAL", "TASKS_LOW"} {
		_, err := js.Stream(ctx, name)
		assert.NoError(t, err, name)
	}
	c, err := js.Consumer(ctx, events.TaskStream(events.PriorityHigh), events.PoolConsumer("gpu"))
	require.NoError(t, err)
	assert.Equal(t, "geo.tasks.high.gpu", c.CachedInfo().Config.FilterSubject)
	assert.Equal(t, topo.TaskAckWait, c.CachedInfo().Config.AckWait)
	for _, b := range []string{events.BucketJobs, events.BucketTasks, events.BucketWorkers, events.BucketLeases} {
		_, err := js.KeyValue(ctx, b)
		assert.NoError(t, err, b)
	}
	_, err = js.ObjectStore(ctx, events.ObjectTiles)
	assert.NoError(t, err)
}

func TestEnsureTopologyRejectsBadConfig(t *testing.T) {
	t.Parallel()
	topo := events.DefaultTopology()
	topo.Replicas = 0
	topo.Pools = []string{"a.b"}
	err := topo.Validate()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "replicas")
	assert.Contains(t, err.Error(), `"a.b"`)
}
