package replicator_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/geocluster/geocluster/libs/events"
	"github.com/geocluster/geocluster/libs/natstest"
	"github.com/geocluster/geocluster/services/replicator"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m, natstest.KnownLeak) }

func TestRunRepairsCorruptIncompleteAndMissingTilesFromTheMirror(t *testing.T) {
	topo := natstest.Topology()
	s, js := natstest.Provisioned(t, topo)
	nc := natstest.Connect(t, s, "replicator")
	rec := record(t, natstest.Connect(t, s, "events"))
	ctx := context.Background()

	cfg := replicator.DefaultConfig()
	cfg.Topology = topo
	cfg.LeaseTTL = time.Second
	cfg.CheckEvery = 100 * time.Millisecond
	cfg.ScrubEvery = 200 * time.Millisecond
	cfg.ChunkWait = 300 * time.Millisecond
	cfg.Mirror = replicator.Mirror{Bucket: events.ObjectTilesMirror, Replicas: 1}

	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- replicator.Run(rctx, replicator.Deps{NC: nc, Log: zerolog.Nop()}, cfg) }()

	// The mirror exists once Run has started; tiles written now reach it.
	var mirror jetstream.ObjectStore
	require.Eventually(t, func() bool {
		var err error
		mirror, err = js.ObjectStore(ctx, events.ObjectTilesMirror)
		return err == nil
	}, wait, 20*time.Millisecond)
	tiles, err := js.ObjectStore(ctx, events.ObjectTiles)
	require.NoError(t, err)
	want := map[string][]byte{}
	infos := map[string]*jetstream.ObjectInfo{}
	for i := range 4 {
		name := fmt.Sprintf("tiles/12/%d/7.tif", i)
		want[name] = tile(uint64(i), 300_000+i) // three chunks each
		info, err := tiles.PutBytes(ctx, name, want[name])
		require.NoError(t, err)
		infos[name] = info
	}
	require.Eventually(t, func() bool {
		l, err := mirror.List(ctx)
		return err == nil && len(l) == len(want)
	}, wait, 20*time.Millisecond, "the mirror holds every tile")

	corruptLastChunk(t, js, events.ObjectTiles, infos["tiles/12/0/7.tif"])
	deleteFirstChunk(t, js, events.ObjectTiles, infos["tiles/12/1/7.tif"])
	deleteMeta(t, js, events.ObjectTiles, "tiles/12/2/7.tif")

	for _, name := range []string{"tiles/12/0/7.tif", "tiles/12/1/7.tif", "tiles/12/2/7.tif"} {
		require.Eventually(t, func() bool {
			return rec.has(events.ReplicatorObjectRepaired, func(e events.ReplicatorEvent) bool { return e.Object == name })
		}, wait, 20*time.Millisecond, "%s repaired", name)
		assert.True(t, rec.has(events.ReplicatorObjectCorrupt, func(e events.ReplicatorEvent) bool { return e.Object == name }))
	}
	assert.True(t, rec.has(events.ReplicatorObjectCorrupt, func(e events.ReplicatorEvent) bool {
		return e.Object == "tiles/12/2/7.tif" && e.Reason == "missing"
	}))
	assert.False(t, rec.has(events.ReplicatorObjectCorrupt, func(e events.ReplicatorEvent) bool { return e.Object == "tiles/12/3/7.tif" }))
	require.Eventually(t, func() bool {
		return rec.has(events.ReplicatorScrubbed, func(e events.ReplicatorEvent) bool {
			return e.Scrub != nil && e.Scrub.Objects == 4 && e.Scrub.OK == 4 && e.Scrub.Missing == 0
		})
	}, wait, 20*time.Millisecond, "a later pass finds every tile intact")

	for name, b := range want {
		r, err := tiles.Get(ctx, name)
		require.NoError(t, err)
		got, err := io.ReadAll(r)
		require.NoError(t, err, name)
		assert.True(t, bytes.Equal(b, got), name)
		_, got, err = replicator.ReadConsistent(ctx, js, events.ObjectTiles, name)
		require.NoError(t, err)
		assert.True(t, bytes.Equal(b, got), name)
	}

	// A tile deleted on purpose is not brought back.
	require.NoError(t, tiles.Delete(ctx, "tiles/12/3/7.tif"))
	require.Eventually(t, func() bool {
		return rec.has(events.ReplicatorScrubbed, func(e events.ReplicatorEvent) bool {
			return e.Scrub != nil && e.Scrub.Objects == 3 && e.Scrub.OK == 3
		})
	}, wait, 20*time.Millisecond)
	_, err = tiles.GetInfo(ctx, "tiles/12/3/7.tif")
	assert.ErrorIs(t, err, jetstream.ErrObjectNotFound)

	cancel()
	require.NoError(t, <-done)
}

func TestRunWithoutAMirrorReportsCorruptTilesUnrepaired(t *testing.T) {
	topo := natstest.Topology()
	s, js := natstest.Provisioned(t, topo)
	nc := natstest.Connect(t, s, "replicator")
	rec := record(t, natstest.Connect(t, s, "events"))
	ctx := context.Background()
	tiles, err := js.ObjectStore(ctx, events.ObjectTiles)
	require.NoError(t, err)
	info, err := tiles.PutBytes(ctx, "a.tif", tile(1, 200_000))
	require.NoError(t, err)
	corruptLastChunk(t, js, events.ObjectTiles, info)

	cfg := replicator.DefaultConfig()
	cfg.Topology = topo
	cfg.LeaseTTL = time.Second
	cfg.ScrubEvery = 100 * time.Millisecond
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- replicator.Run(rctx, replicator.Deps{NC: nc, Log: zerolog.Nop()}, cfg) }()
	require.Eventually(t, func() bool {
		return rec.has(events.ReplicatorScrubbed, func(e events.ReplicatorEvent) bool {
			return e.Scrub != nil && e.Scrub.Corrupt == 1 && e.Scrub.Unrepaired == 1
		})
	}, wait, 20*time.Millisecond)
	assert.True(t, rec.has(events.ReplicatorObjectCorrupt, func(e events.ReplicatorEvent) bool {
		return e.Object == "a.tif" && e.Token > 0 && e.Replicator == cfg.ID
	}))
	_, _, err = replicator.ReadConsistent(ctx, js, events.ObjectTiles, "a.tif")
	assert.ErrorIs(t, err, replicator.ErrDigestMismatch)
	cancel()
	require.NoError(t, <-done)
}

func TestOnlyTheLeaseHolderActsAndAnotherTakesOverWhenItStops(t *testing.T) {
	topo := natstest.Topology()
	s, _ := natstest.Provisioned(t, topo)
	rec := record(t, natstest.Connect(t, s, "events"))
	ctx := context.Background()

	type replica struct {
		cfg    replicator.Config
		cancel context.CancelFunc
		done   chan error
	}
	var rs []*replica
	for _, id := range []string{"r-a", "r-b"} {
		cfg := replicator.DefaultConfig()
		cfg.ID, cfg.Topology, cfg.LeaseTTL, cfg.ScrubEvery = id, topo, time.Second, 50*time.Millisecond
		rctx, cancel := context.WithCancel(ctx)
		r := &replica{cfg: cfg, cancel: cancel, done: make(chan error, 1)}
		nc := natstest.Connect(t, s, id)
		go func() { r.done <- replicator.Run(rctx, replicator.Deps{NC: nc, Log: zerolog.Nop()}, cfg) }()
		rs = append(rs, r)
	}
	var first events.ReplicatorEvent
	require.Eventually(t, func() bool {
		return rec.has(events.ReplicatorScrubbed, func(e events.ReplicatorEvent) bool { first = e; return true })
	}, wait, 10*time.Millisecond)
	holder, other := rs[0], rs[1]
	if first.Replicator == other.cfg.ID {
		holder, other = other, holder
	}
	holder.cancel()
	require.NoError(t, <-holder.done)
	require.Eventually(t, func() bool {
		return rec.has(events.ReplicatorScrubbed, func(e events.ReplicatorEvent) bool { return e.Replicator == other.cfg.ID })
	}, wait, 10*time.Millisecond, "the other replica takes over")
	other.cancel()
	require.NoError(t, <-other.done)

	// One actor at a time: every event of the first holder precedes every
	// event of its successor, whose fencing token is greater.
	rec.mu.Lock()
	defer rec.mu.Unlock()
	switched := false
	for _, e := range rec.evs {
		if e.Replicator == other.cfg.ID {
			switched = true
			assert.Greater(t, e.Token, first.Token)
			continue
		}
		assert.False(t, switched, "the first holder acted after its successor")
		assert.Equal(t, first.Token, e.Token)
	}
}
