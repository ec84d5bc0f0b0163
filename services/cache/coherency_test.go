package cache

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/geocluster/geocluster/libs/events"
	"github.com/geocluster/geocluster/libs/natstest"
	"github.com/geocluster/geocluster/libs/tilecache"
	"github.com/geocluster/geocluster/libs/tilecache/lru"
)

// drop is one holder letting go of an old version.
type drop struct {
	holder string
	at     time.Time
}

// TestWriteInvalidatesEveryOtherHolder writes one tile 1,000 times from one
// client while both nodes and two other clients' near-caches hold it, and
// measures how long after the version bump was stored every other holder
// had dropped (or, the owner node, replaced) its copy. Not run in parallel,
// so the figure is the cache's own.
func TestWriteInvalidatesEveryOtherHolder(t *testing.T) {
	writes := 1000
	if testing.Short() {
		writes = 100
	}
	s, js := natstest.Provisioned(t, natstest.Topology())
	ctx := context.Background()
	drops := make(chan drop, 64)
	hook := func(id string) func(*node) {
		return func(n *node) { n.superseded = func(string) { drops <- drop{id, time.Now()} } }
	}
	startNode(t, s, testConfig("c1"), hook("c1"))
	startNode(t, s, testConfig("c2"), hook("c2"))
	nearHook := func(id string) tilecache.Config {
		cfg := tilecache.DefaultConfig()
		cfg.OnNear = func(_ string, held bool) {
			if !held {
				drops <- drop{id, time.Now()}
			}
		}
		return cfg
	}
	w := newClient(t, s, "writer", tilecache.DefaultConfig())
	b := newClient(t, s, "b", nearHook("b"))
	c := newClient(t, s, "c", nearHook("c"))
	waitNodes(t, 2, w, b, c)
	nc := natstest.Connect(t, s, "prober")
	kv, err := js.KeyValue(ctx, events.BucketCache)
	require.NoError(t, err)

	const object = "prop/t_0_0.tif"
	holders := []string{"b", "c", "c1", "c2"}
	fromBump := make([]time.Duration, 0, writes)
	fromPut := make([]time.Duration, 0, writes)
	for i := range writes {
		want := fmt.Appendf(pattern(1024, byte(i)), "%d", i)
		start := time.Now()
		require.NoError(t, w.Put(ctx, object, want))
		if i > 0 {
			// Every other holder drops (or replaces) the previous version.
			var last time.Time
			var got []string
			for range holders {
				select {
				case d := <-drops:
					got = append(got, d.holder)
					last = d.at
				case <-time.After(wait):
					t.Fatalf("write %d: only %v let go of the old version", i, got)
				}
			}
			slices.Sort(got)
			require.Equal(t, holders, got, "write %d", i)
			e, err := kv.Get(ctx, events.CacheKey(object))
			require.NoError(t, err)
			require.Equal(t, w.Latest(object), e.Revision())
			fromBump = append(fromBump, last.Sub(e.Created()))
			fromPut = append(fromPut, last.Sub(start))
		}
		// Every holder takes the new version again.
		for _, r := range []*tilecache.Client{b, c} {
			got, err := r.Get(ctx, object)
			require.NoError(t, err)
			require.True(t, bytes.Equal(want, got), "write %d", i)
			require.True(t, r.Holds(object))
		}
		for _, node := range []string{"c1", "c2"} {
			msg := nats.NewMsg(events.CacheGetSubject(node))
			msg.Header.Set(events.CacheHeaderObject, object)
			msg.Header.Set(events.CacheHeaderMinVersion, events.FormatCacheVersion(w.Latest(object)))
			reply, err := nc.RequestMsg(msg, wait)
			require.NoError(t, err)
			require.Equal(t, string(events.CacheOK), reply.Header.Get(events.CacheHeaderStatus))
			require.True(t, bytes.Equal(want, reply.Data), "write %d from %s", i, node)
		}
	}
	select {
	case d := <-drops:
		t.Fatalf("unexpected drop by %s", d.holder)
	default:
	}
	p := func(ds []time.Duration, q float64) time.Duration {
		s := slices.Clone(ds)
		slices.Sort(s)
		return s[int(q*float64(len(s)-1))]
	}
	t.Logf("propagation over %d writes, 4 other holders (2 nodes, 2 near-caches): bump stored -> last holder dropped p50 %s p99 %s max %s; Put called -> last holder dropped p50 %s p99 %s",
		len(fromBump), p(fromBump, .5), p(fromBump, .99), p(fromBump, 1), p(fromPut, .5), p(fromPut, .99))
}

// TestNodeHoldingOlderBytesReadsTheStoreAgain: a node whose copy is older
// than the version a reader names (its watch lagging) does not answer with
// it.
func TestNodeHoldingOlderBytesReadsTheStoreAgain(t *testing.T) {
	t.Parallel()
	s, _ := natstest.Provisioned(t, natstest.Topology())
	ctx := context.Background()
	n := startNode(t, s, testConfig("c1"), nil)
	w := newClient(t, s, "writer", tilecache.DefaultConfig())
	waitNodes(t, 1, w)
	require.NoError(t, w.Put(ctx, "t", []byte("old")))
	v1 := w.Latest("t")
	require.NoError(t, w.Put(ctx, "t", []byte("new")))
	v2 := w.Latest("t")
	// Plant the old bytes as if the watch had not yet delivered v2.
	n.mu.Lock()
	n.lru.Add("t", lru.Entry{Version: v1, Value: []byte("old"), Raw: 3})
	n.mu.Unlock()

	nc := natstest.Connect(t, s, "prober")
	msg := nats.NewMsg(events.CacheGetSubject("c1"))
	msg.Header.Set(events.CacheHeaderObject, "t")
	msg.Header.Set(events.CacheHeaderMinVersion, events.FormatCacheVersion(v2))
	reply, err := nc.RequestMsg(msg, wait)
	require.NoError(t, err)
	assert.Equal(t, "new", string(reply.Data))
	assert.Equal(t, events.FormatCacheVersion(v2), reply.Header.Get(events.CacheHeaderVersion))

	// A stale write-through is refused.
	put := nats.NewMsg(events.CachePutSubject("c1"))
	put.Header.Set(events.CacheHeaderObject, "t")
	put.Header.Set(events.CacheHeaderVersion, events.FormatCacheVersion(v1))
	put.Data = []byte("old")
	reply, err = nc.RequestMsg(put, wait)
	require.NoError(t, err)
	assert.Equal(t, string(events.CacheStale), reply.Header.Get(events.CacheHeaderStatus))

	// Requests without the headers are answered, not dropped.
	reply, err = nc.RequestMsg(nats.NewMsg(events.CacheGetSubject("c1")), wait)
	require.NoError(t, err)
	assert.Equal(t, string(events.CacheBadRequest), reply.Header.Get(events.CacheHeaderStatus))
	missing := nats.NewMsg(events.CacheGetSubject("c1"))
	missing.Header.Set(events.CacheHeaderObject, "nope")
	reply, err = nc.RequestMsg(missing, wait)
	require.NoError(t, err)
	assert.Equal(t, string(events.CacheNotFound), reply.Header.Get(events.CacheHeaderStatus))
}
