package cache

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/geocluster/geocluster/libs/natstest"
	"github.com/geocluster/geocluster/libs/tilecache"
)

// TestNodeLeavingMovesItsKeysWithoutReaderErrors stops one of three nodes
// while two readers read; every read returns the right bytes, during and
// after, and the departed node's tiles are then served by the others.
func TestNodeLeavingMovesItsKeysWithoutReaderErrors(t *testing.T) {
	t.Parallel()
	s, _ := natstest.Provisioned(t, natstest.Topology())
	ctx := context.Background()
	nodes := []*running{
		startNode(t, s, testConfig("c1"), nil),
		startNode(t, s, testConfig("c2"), nil),
		startNode(t, s, testConfig("c3"), nil),
	}
	w := newClient(t, s, "writer", tilecache.Config{})
	readers := []*tilecache.Client{
		newClient(t, s, "r1", tilecache.Config{}),
		newClient(t, s, "r2", tilecache.Config{}),
	}
	waitNodes(t, 3, append(readers, w)...)
	want := map[string][]byte{}
	var names []string
	for i := range 60 {
		name := fmt.Sprintf("leave/t_%d.tif", i)
		want[name] = pattern(32<<10, byte(i))
		names = append(names, name)
		require.NoError(t, w.Put(ctx, name, want[name]))
	}
	var moved []string
	for _, name := range names {
		if tilecache.Owner([]string{"c1", "c2", "c3"}, name) == "c2" {
			moved = append(moved, name)
		}
	}
	require.NotEmpty(t, moved)

	var reads, failures atomic.Int64
	var firstErr atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i, r := range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(i), 1))
			for {
				select {
				case <-stop:
					return
				default:
				}
				name := names[rng.IntN(len(names))]
				got, err := r.Get(ctx, name)
				if err == nil && !bytes.Equal(want[name], got) {
					err = fmt.Errorf("%s: wrong bytes", name)
				}
				if err != nil {
					failures.Add(1)
					firstErr.CompareAndSwap(nil, err)
				}
				reads.Add(1)
			}
		}()
	}
	require.Eventually(t, func() bool { return reads.Load() > 300 }, wait, tick)
	require.NoError(t, nodes[1].stop(t), "a clean stop")
	waitNodes(t, 2, readers...)
	after := reads.Load()
	require.Eventually(t, func() bool { return reads.Load() > after+300 }, wait, tick)
	close(stop)
	wg.Wait()
	require.Zero(t, failures.Load(), "first error: %v", firstErr.Load())

	// The departed node's tiles are now served by their new owners.
	for _, r := range readers {
		before := r.Stats()
		for _, name := range moved {
			got, err := r.Get(ctx, name)
			require.NoError(t, err)
			require.True(t, bytes.Equal(want[name], got))
		}
		st := r.Stats()
		assert.Equal(t, before.RemoteHits+uint64(len(moved)), st.RemoteHits)
		assert.Equal(t, before.Misses, st.Misses, "no read fell back to the store")
	}
	t.Logf("%d reads, %d of 60 tiles moved from c2", reads.Load(), len(moved))
}

// TestKilledNodeCostsReadersNoErrors: a node that vanishes without
// deregistering (its connection gone) is skipped at once (no responders)
// until its registration lapses; readers get the right bytes throughout.
func TestKilledNodeCostsReadersNoErrors(t *testing.T) {
	t.Parallel()
	topo := natstest.Topology()
	topo.CacheNodeTTL = time.Second
	s, _ := natstest.Provisioned(t, topo)
	ctx := context.Background()
	cfg1, cfg2 := testConfig("c1"), testConfig("c2")
	cfg1.Topology, cfg2.Topology = topo, topo
	startNode(t, s, cfg1, nil)
	victim := startNode(t, s, cfg2, nil)
	w := newClient(t, s, "writer", tilecache.Config{})
	r := newClient(t, s, "reader", tilecache.Config{})
	waitNodes(t, 2, w, r)
	want := map[string][]byte{}
	for i := range 20 {
		name := fmt.Sprintf("kill/t_%d.tif", i)
		want[name] = pattern(16<<10, byte(i))
		require.NoError(t, w.Put(ctx, name, want[name]))
	}
	victim.nc.Close()
	for name, data := range want {
		got, err := r.Get(ctx, name)
		require.NoError(t, err)
		require.True(t, bytes.Equal(data, got), name)
	}
	st := r.Stats()
	assert.Positive(t, st.NodeErrors, "c2's tiles were asked of c2 first")
	assert.Equal(t, uint64(len(want)), st.RemoteHits, "and then served by c1")
	waitNodes(t, 1, r) // the registration lapses after the TTL
	assert.Equal(t, []string{"c1"}, r.Nodes())
}

// TestJoiningNodeTakesItsKeys: when a node joins, the others drop the
// tiles it now owns, and readers get them from it.
func TestJoiningNodeTakesItsKeys(t *testing.T) {
	t.Parallel()
	s, _ := natstest.Provisioned(t, natstest.Topology())
	ctx := context.Background()
	n1 := startNode(t, s, testConfig("c1"), nil)
	n2 := startNode(t, s, testConfig("c2"), nil)
	w := newClient(t, s, "writer", tilecache.Config{})
	waitNodes(t, 2, w)
	want := map[string][]byte{}
	for i := range 30 {
		name := fmt.Sprintf("join/t_%d.tif", i)
		want[name] = pattern(8<<10, byte(i))
		require.NoError(t, w.Put(ctx, name, want[name]))
	}
	require.Equal(t, 30, n1.stats().Entries+n2.stats().Entries)

	n3 := startNode(t, s, testConfig("c3"), nil)
	r := newClient(t, s, "reader", tilecache.Config{})
	waitNodes(t, 3, w, r)
	all := []string{"c1", "c2", "c3"}
	owned := func(n *running) bool {
		n.mu.Lock()
		defer n.mu.Unlock()
		for _, k := range n.lru.Keys() {
			if tilecache.Owner(all, k) != n.cfg.ID {
				return false
			}
		}
		return true
	}
	require.Eventually(t, func() bool { return owned(n1) && owned(n2) }, wait, tick)
	for name, data := range want {
		got, err := r.Get(ctx, name)
		require.NoError(t, err)
		require.True(t, bytes.Equal(data, got), name)
	}
	assert.Positive(t, n3.stats().Entries, "c3 read its tiles through")
	assert.Equal(t, uint64(len(want)), r.Stats().RemoteHits)
}
