package tilecache_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/geocluster/geocluster/libs/embedded"
	"github.com/geocluster/geocluster/libs/events"
	"github.com/geocluster/geocluster/libs/natstest"
	"github.com/geocluster/geocluster/libs/tilecache"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m, natstest.KnownLeak) }

const (
	wait = 15 * time.Second
	tick = 5 * time.Millisecond
)

func newClient(t *testing.T, s *embedded.Server, name string, cfg tilecache.Config) *tilecache.Client {
	t.Helper()
	nc, js := natstest.JetStream(t, s, name)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	c, err := tilecache.New(ctx, nc, js, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func tile(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i*7)
	}
	return b
}

// nearLog records OnNear calls.
type nearLog struct {
	mu     sync.Mutex
	events []string
}

func (l *nearLog) on(object string, held bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, fmt.Sprintf("%s:%v", object, held))
}

func (l *nearLog) get() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.events...)
}

func TestGetWithoutNodesReadsTheStoreThenTheNearCache(t *testing.T) {
	t.Parallel()
	s, _ := natstest.Provisioned(t, natstest.Topology())
	ctx := context.Background()
	w := newClient(t, s, "writer", tilecache.DefaultConfig())
	r := newClient(t, s, "reader", tilecache.DefaultConfig())
	data := tile(300_000, 1)
	require.NoError(t, w.Put(ctx, "scenes/a b/t_0_0.tif", data))
	assert.True(t, w.Holds("scenes/a b/t_0_0.tif"), "the writer holds what it wrote")

	got, err := r.Get(ctx, "scenes/a b/t_0_0.tif")
	require.NoError(t, err)
	assert.True(t, bytes.Equal(data, got))
	got, err = r.Get(ctx, "scenes/a b/t_0_0.tif")
	require.NoError(t, err)
	assert.True(t, bytes.Equal(data, got))
	st := r.Stats()
	assert.Equal(t, uint64(1), st.Misses)
	assert.Equal(t, uint64(1), st.NearHits)
	assert.Equal(t, uint64(len(data)), st.StoreBytes)
	assert.Zero(t, st.RemoteBytes)
	assert.Equal(t, 1, st.NearEntries)
}

func TestWriteInvalidatesAnotherClientsNearCopy(t *testing.T) {
	t.Parallel()
	s, _ := natstest.Provisioned(t, natstest.Topology())
	ctx := context.Background()
	var log nearLog
	w := newClient(t, s, "writer", tilecache.DefaultConfig())
	cfg := tilecache.DefaultConfig()
	cfg.OnNear = log.on
	r := newClient(t, s, "reader", cfg)

	require.NoError(t, w.Put(ctx, "t1", []byte("one")))
	got, err := r.Get(ctx, "t1")
	require.NoError(t, err)
	require.Equal(t, "one", string(got))
	require.True(t, r.Holds("t1"))

	require.NoError(t, w.Put(ctx, "t1", []byte("two")))
	require.Eventually(t, func() bool { return !r.Holds("t1") }, wait, tick, "the reader's copy is dropped")
	got, err = r.Get(ctx, "t1")
	require.NoError(t, err)
	assert.Equal(t, "two", string(got))
	assert.Equal(t, []string{"t1:true", "t1:false", "t1:true"}, log.get())
	assert.Equal(t, uint64(1), r.Stats().Invalidations)
	assert.Equal(t, r.Latest("t1"), w.Latest("t1"))
}

func TestReaderNeverGetsAVersionOlderThanOneItSaw(t *testing.T) {
	t.Parallel()
	s, _ := natstest.Provisioned(t, natstest.Topology())
	ctx := context.Background()
	a := newClient(t, s, "a", tilecache.DefaultConfig())
	b := newClient(t, s, "b", tilecache.DefaultConfig())
	version := map[string]uint64{} // content -> its version
	for i := range 200 {
		want := fmt.Sprintf("v%03d", i)
		require.NoError(t, a.Put(ctx, "hot", []byte(want)))
		version[want] = a.Latest("hot")
		// Whatever b has seen by now, it must read that version or newer.
		seen := b.Latest("hot")
		got, err := b.Get(ctx, "hot")
		require.NoError(t, err)
		require.GreaterOrEqual(t, version[string(got)], seen, "round %d: read %s", i, got)
	}
	require.Eventually(t, func() bool { return b.Latest("hot") == a.Latest("hot") }, wait, tick)
	got, err := b.Get(ctx, "hot")
	require.NoError(t, err)
	assert.Equal(t, "v199", string(got))
}

func TestNearCacheHoldsItsByteBudget(t *testing.T) {
	t.Parallel()
	s, _ := natstest.Provisioned(t, natstest.Topology())
	ctx := context.Background()
	var log nearLog
	cfg := tilecache.Config{NearMaxBytes: 100_000, OnNear: log.on}
	c := newClient(t, s, "c", cfg)
	for i := range 20 {
		require.NoError(t, c.Put(ctx, fmt.Sprintf("t%d", i), tile(20_000, byte(i))))
		assert.LessOrEqual(t, c.Stats().NearBytes, int64(100_000))
	}
	st := c.Stats()
	assert.Equal(t, 4, st.NearEntries)
	assert.Equal(t, uint64(16), st.NearEvictions)
	assert.True(t, c.Holds("t19"))
	assert.False(t, c.Holds("t0"))
	assert.Len(t, log.get(), 20+16)
	got, err := c.Get(ctx, "t0")
	require.NoError(t, err)
	assert.Equal(t, tile(20_000, 0), got)
}

func TestUnknownObjectIsNotFound(t *testing.T) {
	t.Parallel()
	s, _ := natstest.Provisioned(t, natstest.Topology())
	c := newClient(t, s, "c", tilecache.DefaultConfig())
	_, err := c.Get(context.Background(), "nope")
	assert.ErrorIs(t, err, tilecache.ErrNotFound)
	assert.ErrorIs(t, err, jetstream.ErrObjectNotFound)
	_, err = c.Get(context.Background(), "bad\nname")
	assert.ErrorIs(t, err, tilecache.ErrInvalidObject)
	assert.ErrorIs(t, c.Put(context.Background(), "", nil), tilecache.ErrInvalidObject)
	require.NoError(t, c.Close())
	_, err = c.Get(context.Background(), "nope")
	assert.ErrorIs(t, err, tilecache.ErrClosed)
}

func TestSilentNodeFallsOverToTheStore(t *testing.T) {
	t.Parallel()
	s, js := natstest.Provisioned(t, natstest.Topology())
	ctx := context.Background()
	nodes, err := js.KeyValue(ctx, events.BucketCacheNodes)
	require.NoError(t, err)
	// A registered node that does not answer (it died before its TTL).
	_, err = nodes.Put(ctx, "ghost", []byte(`{"v":1,"id":"ghost"}`))
	require.NoError(t, err)
	w := newClient(t, s, "w", tilecache.DefaultConfig())
	r := newClient(t, s, "r", tilecache.Config{RequestTimeout: 200 * time.Millisecond})
	require.Eventually(t, func() bool { return len(r.Nodes()) == 1 }, wait, tick)
	require.NoError(t, w.Put(ctx, "t", []byte("bytes")))
	got, err := r.Get(ctx, "t")
	require.NoError(t, err)
	assert.Equal(t, "bytes", string(got))
	st := r.Stats()
	assert.Equal(t, uint64(1), st.NodeErrors)
	assert.Equal(t, uint64(1), st.Misses)
	assert.Equal(t, uint64(1), w.Stats().WriteThroughErrors)
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	err := tilecache.Config{NearMaxBytes: -1, RequestTimeout: -1, MaxNodes: -1}.Validate()
	require.Error(t, err)
	for _, f := range []string{"near_max_bytes", "request_timeout", "max_nodes"} {
		assert.Contains(t, err.Error(), f)
	}
	assert.NoError(t, tilecache.DefaultConfig().Validate())
	assert.NoError(t, tilecache.Config{}.Validate())
}

func TestStoreBytesOlderThanTheVersionAreNotServed(t *testing.T) {
	t.Parallel()
	s, js := natstest.Provisioned(t, natstest.Topology())
	ctx := context.Background()
	store, err := js.ObjectStore(ctx, events.ObjectTiles)
	require.NoError(t, err)
	kv, err := js.KeyValue(ctx, events.BucketCache)
	require.NoError(t, err)
	w := newClient(t, s, "w", tilecache.DefaultConfig())
	require.NoError(t, w.Put(ctx, "t", []byte("v1")))

	// A writer stored new bytes and died before its bump: the bytes are
	// newer than the version, and served.
	_, err = store.PutBytes(ctx, "t", []byte("v2"))
	require.NoError(t, err)
	data, v, err := tilecache.Load(ctx, kv, store, "t", 0)
	require.NoError(t, err)
	assert.Equal(t, "v2", string(data))
	assert.Equal(t, w.Latest("t"), v)

	// A version naming bytes the store does not show yet (a replica
	// behind): the older bytes are not served.
	newer, err := json.Marshal(events.CacheVersion{V: 1, Object: "t", SHA256: strings.Repeat("ab", 32)})
	require.NoError(t, err)
	_, err = kv.Put(ctx, events.CacheKey("t"), newer)
	require.NoError(t, err)
	_, _, err = tilecache.Load(ctx, kv, store, "t", 0)
	assert.ErrorIs(t, err, tilecache.ErrStale)

	// A foreign writer that bumps without a digest is trusted.
	_, err = kv.Put(ctx, events.CacheKey("t"), []byte("{}"))
	require.NoError(t, err)
	data, _, err = tilecache.Load(ctx, kv, store, "t", 0)
	require.NoError(t, err)
	assert.Equal(t, "v2", string(data))
}

// LoadAtMost reads an object within its limit like Load, and refuses a
// larger one from its info, with the version it found and without reading
// it (a limit of 0 reads any size).
func TestLoadAtMostRefusesALargerObjectUnread(t *testing.T) {
	t.Parallel()
	s, js := natstest.Provisioned(t, natstest.Topology())
	w := newClient(t, s, "writer", tilecache.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	big := tile(300<<10, 3)
	require.NoError(t, w.Put(ctx, "big", big))
	kv, err := js.KeyValue(ctx, events.BucketCache)
	require.NoError(t, err)
	store, err := js.ObjectStore(ctx, events.ObjectTiles)
	require.NoError(t, err)

	data, v, err := tilecache.LoadAtMost(ctx, kv, store, "big", 0, 100<<10)
	require.ErrorIs(t, err, tilecache.ErrTooLarge)
	assert.Contains(t, err.Error(), "307200 bytes, at most 102400")
	assert.Nil(t, data)
	assert.Equal(t, w.Latest("big"), v)

	for _, limit := range []int{0, len(big)} {
		data, v, err = tilecache.LoadAtMost(ctx, kv, store, "big", 0, limit)
		require.NoError(t, err)
		assert.True(t, bytes.Equal(big, data))
		assert.Equal(t, w.Latest("big"), v)
	}
	_, _, err = tilecache.LoadAtMost(ctx, kv, store, "missing", 0, 100<<10)
	require.ErrorIs(t, err, tilecache.ErrNotFound)
}
