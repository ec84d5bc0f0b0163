package cache

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/geocluster/geocluster/libs/events"
	"github.com/geocluster/geocluster/libs/natstest"
	"github.com/geocluster/geocluster/libs/tilecache"
)

func TestRun(t *testing.T) {
	t.Parallel()
	s, js := natstest.Provisioned(t, natstest.Topology())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	nc := natstest.Connect(t, s, "cache")
	go func() { done <- Run(ctx, Deps{NC: nc, Log: zerolog.Nop()}, testConfig("c1")) }()

	w := newClient(t, s, "writer", tilecache.DefaultConfig())
	r := newClient(t, s, "reader", tilecache.Config{}) // no near-cache: every read asks the node
	waitNodes(t, 1, w, r)
	data := pattern(2<<20, 1)
	require.NoError(t, w.Put(ctx, "job/t_0_0.tif", data))
	for range 3 {
		got, err := r.Get(ctx, "job/t_0_0.tif")
		require.NoError(t, err)
		require.Equal(t, data, got)
	}
	st := r.Stats()
	assert.Equal(t, uint64(3), st.RemoteHits, "the write-through filled the node")
	assert.Equal(t, uint64(3*len(data)), st.RemoteBytes)
	assert.Zero(t, st.Misses)
	assert.Zero(t, w.Stats().WriteThroughErrors)

	// Statistics land in EVENTS.
	cons, err := js.OrderedConsumer(ctx, events.StreamEvents, jetstream.OrderedConsumerConfig{FilterSubjects: []string{events.CacheStatsSubject("c1")}})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		m, err := cons.Next(jetstream.FetchMaxWait(time.Second))
		if err != nil {
			return false
		}
		stats, err := events.DecodeCacheStats(m.Data())
		require.NoError(t, err)
		return stats.Hits == 3 && stats.Entries == 1 && stats.RawBytes == int64(len(data))
	}, wait, tick)

	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(wait):
		t.Fatal("Run did not return")
	}
	nodes, err := js.KeyValue(context.Background(), events.BucketCacheNodes)
	require.NoError(t, err)
	_, err = nodes.Get(context.Background(), "c1")
	assert.True(t, errors.Is(err, jetstream.ErrKeyNotFound), "a clean stop deregisters: %v", err)
	waitNodes(t, 0, r)
	got, err := r.Get(context.Background(), "job/t_0_0.tif")
	require.NoError(t, err)
	assert.Equal(t, data, got, "without nodes the store answers")
}

func TestRunRejectsABadConfig(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	cfg.ID = "a.b"
	cfg.Workers = 0
	err := Run(context.Background(), Deps{Log: zerolog.Nop()}, cfg)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "id:")
	assert.Contains(t, err.Error(), "workers:")
}

func TestLoadConfig(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"GEO_CACHE_ID": "c-7", "GEO_CACHE_MAX_BYTES": "1048576", "GEO_CACHE_COMPRESS_ABOVE": "0",
		"GEO_CACHE_WORKERS": "3", "GEO_CACHE_STATS_INTERVAL": "1s", "GEO_CACHE_NODE_TTL": "6s",
	}
	cfg, err := LoadConfig(func(k string) string { return env[k] })
	require.NoError(t, err)
	assert.Equal(t, "c-7", cfg.ID)
	assert.Equal(t, int64(1<<20), cfg.MaxBytes)
	assert.Zero(t, cfg.CompressAbove)
	assert.Equal(t, 3, cfg.Workers)
	assert.Equal(t, time.Second, cfg.StatsInterval)
	assert.Equal(t, 2*time.Second, cfg.heartbeat())

	env = map[string]string{"GEO_CACHE_WORKERS": "x", "GEO_CACHE_LOAD_TIMEOUT": "soon"}
	_, err = LoadConfig(func(k string) string { return env[k] })
	require.Error(t, err)
	assert.Contains(t, err.Error(), "GEO_CACHE_WORKERS")
	assert.Contains(t, err.Error(), "GEO_CACHE_LOAD_TIMEOUT")
}
