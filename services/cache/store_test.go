package cache

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/geocluster/geocluster/libs/natstest"
	"github.com/geocluster/geocluster/libs/tilecache"
)

// compressible is tile-like data zstd shrinks: a smooth ramp with noise in
// the low bits.
func compressible(n int, seed byte) []byte {
	b := make([]byte, n)
	noise := pattern(n, seed)
	for i := range b {
		b[i] = byte(i/512) + seed + noise[i]&1
	}
	return b
}

func TestEvictionHoldsTheByteBudgetAndCompressedEntriesRoundTrip(t *testing.T) {
	t.Parallel()
	s, _ := natstest.Provisioned(t, natstest.Topology())
	ctx := context.Background()
	cfg := testConfig("c1")
	cfg.MaxBytes = 1 << 20
	cfg.CompressAbove = 16 << 10
	n := startNode(t, s, cfg, nil)
	w := newClient(t, s, "writer", tilecache.Config{})
	r := newClient(t, s, "reader", tilecache.Config{})
	waitNodes(t, 1, w, r)

	want := map[string][]byte{}
	for i := range 40 {
		name := fmt.Sprintf("z/%d", i)
		data := compressible(100<<10, byte(i))
		if i%4 == 3 {
			name, data = fmt.Sprintf("r/%d", i), pattern(100<<10, byte(i)) // incompressible: stored raw
		}
		want[name] = data
		require.NoError(t, w.Put(ctx, name, data))
		st := n.stats()
		require.LessOrEqual(t, n.lru.Bytes(), cfg.MaxBytes, "after %d writes", i+1)
		require.LessOrEqual(t, st.Bytes, cfg.MaxBytes)
	}
	st := n.stats()
	assert.Positive(t, st.Evictions, "40 tiles of 100 KiB do not fit in 1 MiB raw: %+v", st)
	assert.Positive(t, st.Compressed)
	assert.Less(t, st.Entries-st.Compressed, st.Entries/2, "only the incompressible ones are raw")
	assert.Less(t, st.CompressionRatio, 0.8)
	assert.Greater(t, st.RawBytes, cfg.MaxBytes, "compression holds more than the budget raw")
	t.Logf("node holds %d entries, %d compressed, %d bytes for %d raw (ratio %.2f), %d evictions",
		st.Entries, st.Compressed, st.Bytes, st.RawBytes, st.CompressionRatio, st.Evictions)

	for name, data := range want {
		got, err := r.Get(ctx, name)
		require.NoError(t, err)
		require.True(t, bytes.Equal(data, got), name)
	}
	rs := r.Stats()
	assert.Equal(t, uint64(len(want)), rs.RemoteHits, "evicted tiles are read through by the node")
	assert.Zero(t, rs.Misses)
	assert.LessOrEqual(t, n.lru.Bytes(), cfg.MaxBytes)
}

func TestTooLargeTileIsReadFromTheStore(t *testing.T) {
	t.Parallel()
	s, _ := natstest.Provisioned(t, natstest.Topology())
	ctx := context.Background()
	cfg := testConfig("c1")
	cfg.MaxObjectBytes = 64 << 10
	n := startNode(t, s, cfg, nil)
	r := newClient(t, s, "reader", tilecache.Config{})
	waitNodes(t, 1, r)
	big := pattern(100<<10, 9)
	require.NoError(t, r.Put(ctx, "big", big))
	for range 2 {
		got, err := r.Get(ctx, "big")
		require.NoError(t, err)
		require.True(t, bytes.Equal(big, got))
	}
	st := r.Stats()
	assert.Equal(t, uint64(2), st.Misses)
	assert.Zero(t, st.NodeErrors, "too large is an answer, not a failure")
	assert.Zero(t, st.WriteThroughErrors)
	assert.Zero(t, n.stats().Entries)
}
