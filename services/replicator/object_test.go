package replicator_test

import (
	"bytes"
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/geocluster/geocluster/libs/events"
	"github.com/geocluster/geocluster/libs/natstest"
	"github.com/geocluster/geocluster/services/replicator"
)

// TestReadConsistentAsksTheLeaderWhereGetMayAskAnyReplica shows what the
// protocol claims of geo_tiles in a cluster: the store allows direct gets,
// so a plain Get reads the description from whichever replica answers,
// while ReadConsistent reads it through the stream leader only, and sees
// the latest acknowledged version.
func TestReadConsistentAsksTheLeaderWhereGetMayAskAnyReplica(t *testing.T) {
	c := natstest.NewCluster(t, 3)
	topo := natstest.Topology()
	topo.Replicas = 3
	_, js := c.JetStream(t, "reader")
	ctx := context.Background()
	require.Eventually(t, func() bool {
		cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		return events.EnsureTopology(cctx, js, topo) == nil
	}, wait, 200*time.Millisecond)

	s, err := js.Stream(ctx, events.ObjectStream(events.ObjectTiles))
	require.NoError(t, err)
	assert.True(t, s.CachedInfo().Config.AllowDirect, "geo_tiles answers direct gets from any replica")
	assert.Equal(t, 3, s.CachedInfo().Config.Replicas)

	store, err := js.ObjectStore(ctx, events.ObjectTiles)
	require.NoError(t, err)
	v1, v2 := tile(1, 150_000), tile(2, 170_000)
	_, err = store.PutBytes(ctx, "t.tif", v1)
	require.NoError(t, err)
	_, err = store.PutBytes(ctx, "t.tif", v2)
	require.NoError(t, err)

	// The spy's interest must reach every node before the reads: a probe
	// from the reader's connection arriving proves its subscriptions did.
	spy := c.Connect(t, "spy")
	var direct, leader, probes atomic.Int32
	_, err = spy.Subscribe(events.JSAPIDirectGetFilter(events.ObjectStream(events.ObjectTiles)), func(*nats.Msg) { direct.Add(1) })
	require.NoError(t, err)
	_, err = spy.Subscribe(events.JSAPIStreamMsgGet(events.ObjectStream(events.ObjectTiles)), func(*nats.Msg) { leader.Add(1) })
	require.NoError(t, err)
	_, err = spy.Subscribe("spy.probe", func(*nats.Msg) { probes.Add(1) })
	require.NoError(t, err)
	require.NoError(t, spy.Flush())
	require.Eventually(t, func() bool {
		_ = js.Conn().Publish("spy.probe", nil)
		return probes.Load() > 0
	}, wait, 20*time.Millisecond)

	info, got, err := replicator.ReadConsistent(ctx, js, events.ObjectTiles, "t.tif")
	require.NoError(t, err)
	assert.True(t, bytes.Equal(v2, got), "the latest acknowledged version")
	assert.Equal(t, replicator.Digest(v2), info.Digest)
	require.Eventually(t, func() bool { return leader.Load() == 1 }, wait, 10*time.Millisecond)
	assert.Zero(t, direct.Load(), "no direct get by ReadConsistent")

	_, err = store.GetInfo(ctx, "t.tif")
	require.NoError(t, err)
	require.Eventually(t, func() bool { return direct.Load() >= 1 }, wait, 10*time.Millisecond, "a plain read uses a direct get")

	_, _, err = replicator.ReadConsistent(ctx, js, events.ObjectTiles, "nope.tif")
	assert.ErrorIs(t, err, jetstream.ErrObjectNotFound)
	require.NoError(t, store.Delete(ctx, "t.tif"))
	_, _, err = replicator.ReadConsistent(ctx, js, events.ObjectTiles, "t.tif")
	assert.ErrorIs(t, err, jetstream.ErrObjectNotFound)
}
