package watch

import (
	"context"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/geocluster/geocluster/libs/embedded"
	"github.com/geocluster/geocluster/libs/events"
)

// TestVersionsFollowAcrossAServerRestart: after the server restarts (same
// port, same store), versions written afterwards arrive at once: the
// watcher is recreated on the reconnect (the ordered consumer behind the
// old one would notice the loss only after missed heartbeats, ~20 s).
func TestVersionsFollowAcrossAServerRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s1, err := embedded.Start(embedded.Config{StoreDir: dir})
	require.NoError(t, err)
	u, err := url.Parse(s1.ClientURL())
	require.NoError(t, err)
	port, err := strconv.Atoi(u.Port())
	require.NoError(t, err)
	nc, err := s1.Connect("watch-test", false, nats.ReconnectWait(20*time.Millisecond))
	require.NoError(t, err)
	defer nc.Close()
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: events.BucketCache, History: 1, Storage: jetstream.FileStorage})
	require.NoError(t, err)

	v := NewVersions(kv)
	t0 := time.Now()
	v.OnError = func(err error) { t.Logf("%s: %v", time.Since(t0), err) }
	wctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); v.Run(wctx) }()
	defer func() { stop(); <-done }()
	stopRestarts := RestartOnReconnect(nc, v)
	defer stopRestarts()
	rev, err := kv.Put(ctx, events.CacheKey("a"), []byte("{}"))
	require.NoError(t, err)
	require.NoError(t, v.WaitSynced(ctx))
	require.Eventually(t, func() bool { return v.Latest("a") == rev }, wait, tick)

	s1.Stop()
	s2, err := embedded.Start(embedded.Config{StoreDir: dir, Port: port})
	require.NoError(t, err)
	defer s2.Stop()
	require.Eventually(t, nc.IsConnected, 2*wait, tick)
	var rev2 uint64
	// Each attempt has its own deadline: a request written just before the
	// connection noticed the restart gets no reply, and waiting on it
	// would use up the whole window.
	require.Eventually(t, func() bool {
		actx, acancel := context.WithTimeout(ctx, 2*time.Second)
		defer acancel()
		rev2, err = kv.Put(actx, events.CacheKey("a"), []byte("{}"))
		return err == nil
	}, 2*wait, 50*time.Millisecond)
	require.Eventually(t, func() bool { return v.Latest("a") == rev2 && v.Synced() }, wait, tick,
		"latest %d, want %d", v.Latest("a"), rev2)
}
