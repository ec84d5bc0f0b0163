package cache

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/geocluster/geocluster/libs/embedded"
	"github.com/geocluster/geocluster/libs/natstest"
	"github.com/geocluster/geocluster/libs/tilecache"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m, natstest.KnownLeak) }

const (
	wait = 20 * time.Second
	tick = 5 * time.Millisecond
)

func testConfig(id string) Config {
	cfg := DefaultConfig()
	cfg.ID = id
	cfg.Topology = natstest.Topology()
	cfg.StatsInterval = 50 * time.Millisecond
	return cfg
}

// running is a node started by startNode.
type running struct {
	*node
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
	err    error
}

// stop cancels the node and returns what run returned.
func (r *running) stop(t *testing.T) error {
	t.Helper()
	r.once.Do(func() {
		r.cancel()
		select {
		case r.err = <-r.done:
		case <-time.After(wait):
			t.Error("node did not stop")
		}
	})
	return r.err
}

// startNode starts a node on its own connection; before, when not nil, is
// applied to the node before it runs (test hooks). The node is stopped
// when the test ends.
func startNode(t *testing.T, s *embedded.Server, cfg Config, before func(*node)) *running {
	t.Helper()
	nc := natstest.Connect(t, s, cfg.ID)
	ctx, cancel := context.WithCancel(context.Background())
	n, err := start(ctx, Deps{NC: nc, Log: zerolog.Nop()}, cfg)
	require.NoError(t, err)
	if before != nil {
		before(n)
	}
	r := &running{node: n, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- n.run(ctx) }()
	t.Cleanup(func() { _ = r.stop(t) })
	return r
}

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

// waitNodes waits until every client sees n cache nodes.
func waitNodes(t *testing.T, n int, clients ...*tilecache.Client) {
	t.Helper()
	require.Eventually(t, func() bool {
		for _, c := range clients {
			if len(c.Nodes()) != n {
				return false
			}
		}
		return true
	}, wait, tick)
}

func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	x := uint32(seed) + 1
	for i := range b {
		x = x*1664525 + 1013904223
		b[i] = byte(x >> 24)
	}
	return b
}
