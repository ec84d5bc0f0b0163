// Package natstest starts embedded NATS JetStream servers for tests, like
// net/http/httptest does for HTTP.
package natstest

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/geocluster/geocluster/libs/embedded"
	"github.com/geocluster/geocluster/libs/events"
)

// Server starts a JetStream server on 127.0.0.1 with a random port and file
// storage in a temporary directory; it stops when the test ends.
func Server(t testing.TB) *embedded.Server {
	t.Helper()
	s, err := embedded.Start(embedded.Config{StoreDir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(s.Stop)
	return s
}

// Connect opens a connection to s that closes when the test ends.
func Connect(t testing.TB, s *embedded.Server, name string) *nats.Conn {
	t.Helper()
	nc, err := s.Connect(name, false, nats.Timeout(DialTimeout))
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	return nc
}

// DialTimeout bounds Dial's connect: the handshake of nats.go's default 2 s
// was seen to run out on a CI machine busy with parallel race-enabled tests
// and a go build.
const DialTimeout = 15 * time.Second

// Dial connects to the server(s) at url as a client named name, with
// DialTimeout and opts; the connection closes when the test ends.
func Dial(t testing.TB, url, name string, opts ...nats.Option) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(url, append([]nats.Option{nats.Name(name), nats.Timeout(DialTimeout)}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	return nc
}

// JetStream returns a JetStream context on a fresh connection to s.
func JetStream(t testing.TB, s *embedded.Server, name string) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc := Connect(t, s, name)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	return nc, js
}

// Topology returns the default topology tuned for tests: short ack wait so
// a dead worker's task comes back quickly, short worker TTL.
func Topology() events.Topology {
	t := events.DefaultTopology()
	t.TaskAckWait = 2 * time.Second
	t.WorkerTTL = 3 * time.Second
	return t
}

// Provisioned starts a server and provisions topo on it.
func Provisioned(t testing.TB, topo events.Topology) (*embedded.Server, jetstream.JetStream) {
	t.Helper()
	s := Server(t)
	_, js := JetStream(t, s, "provision")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, events.EnsureTopology(ctx, js, topo))
	return s, js
}
