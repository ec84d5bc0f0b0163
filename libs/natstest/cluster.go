package natstest

import (
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/geocluster/geocluster/libs/embedded"
)

// ClusterName is the cluster name of every test cluster.
const ClusterName = "geo-test"

// FormTimeout bounds the wait for a meta leader and for a node to join.
const FormTimeout = 10 * time.Second

// Cluster is a JetStream cluster of embedded servers on 127.0.0.1, each
// with its own file store in a temporary directory. Nodes can be stopped
// (their store is kept), restarted with the same name, ports and store, and
// added. Every running node stops when the test ends.
type Cluster struct {
	t     testing.TB
	mu    sync.Mutex
	nodes []*clusterNode
}

type clusterNode struct {
	name      string
	dir       string
	port      int // client port, fixed after the first start
	routePort int
	srv       *embedded.Server // nil while stopped
}

// NewCluster starts n clustered JetStream servers named n0…n<n-1> and waits
// until JetStream has a meta leader that sees all of them.
func NewCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	require.GreaterOrEqual(t, n, 1, "cluster size")
	ports := freePorts(t, n)
	c := &Cluster{t: t}
	for i := range n {
		c.nodes = append(c.nodes, &clusterNode{name: fmt.Sprintf("n%d", i), dir: t.TempDir(), port: -1, routePort: ports[i]})
	}
	t.Cleanup(c.shutdown)
	for i := range c.nodes {
		c.start(i)
	}
	c.WaitPeers(n)
	return c
}

// freePorts reserves n distinct free TCP ports on 127.0.0.1. They are free
// when it returns; another process could take one before the server binds
// it, which is unlikely enough for tests.
func freePorts(t testing.TB, n int) []int {
	t.Helper()
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			_ = l.Close()
		}
	}()
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports
}

func (c *Cluster) routes() []string {
	out := make([]string, 0, len(c.nodes))
	for _, n := range c.nodes {
		out = append(out, fmt.Sprintf("nats-route://127.0.0.1:%d", n.routePort))
	}
	return out
}

// start starts node i with every node's route; c.mu is not held.
func (c *Cluster) start(i int) {
	c.t.Helper()
	c.mu.Lock()
	n := c.nodes[i]
	cfg := embedded.Config{
		Name: n.name, Port: n.port, StoreDir: n.dir,
		Cluster: embedded.Cluster{Name: ClusterName, Port: n.routePort, Routes: c.routes()},
	}
	c.mu.Unlock()
	srv, err := embedded.Start(cfg)
	require.NoError(c.t, err, "start %s", n.name)
	c.mu.Lock()
	n.srv = srv
	n.port = srv.Addr().(*net.TCPAddr).Port
	c.mu.Unlock()
}

func (c *Cluster) shutdown() {
	c.mu.Lock()
	var running []*embedded.Server
	for _, n := range c.nodes {
		if n.srv != nil {
			running = append(running, n.srv)
			n.srv = nil
		}
	}
	c.mu.Unlock()
	for _, s := range running {
		s.Stop()
	}
}

// Size is the number of nodes, running or stopped.
func (c *Cluster) Size() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.nodes)
}

// Node returns the server name of node i.
func (c *Cluster) Node(i int) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nodes[i].name
}

// Server returns node i's server, nil while it is stopped.
func (c *Cluster) Server(i int) *embedded.Server {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nodes[i].srv
}

// URLs returns the client URLs of every node, comma-joined for nats.Connect.
func (c *Cluster) URLs() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var urls []string
	for _, n := range c.nodes {
		if n.port > 0 {
			urls = append(urls, fmt.Sprintf("nats://127.0.0.1:%d", n.port))
		}
	}
	return strings.Join(urls, ",")
}

// FailoverOptions are the connection options of Connect: reconnect without
// limit, quickly, to any node (the servers also gossip the nodes that join).
func FailoverOptions(name string) []nats.Option {
	return []nats.Option{
		nats.Name(name), nats.MaxReconnects(-1), nats.ReconnectWait(50 * time.Millisecond),
		nats.ReconnectJitter(50*time.Millisecond, 50*time.Millisecond), nats.Timeout(2 * time.Second),
		nats.RetryOnFailedConnect(true),
	}
}

// Connect opens a connection named name to the cluster, closed when the
// test ends. It reconnects to another node when its node stops.
func (c *Cluster) Connect(t testing.TB, name string, opts ...nats.Option) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(c.URLs(), append(FailoverOptions(name), opts...)...)
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	return nc
}

// JetStream returns a JetStream context on a fresh connection to the cluster.
func (c *Cluster) JetStream(t testing.TB, name string) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc := c.Connect(t, name)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	return nc, js
}

// Stop shuts node i down and waits for it; its store is kept for Restart.
func (c *Cluster) Stop(i int) {
	c.t.Helper()
	c.mu.Lock()
	s := c.nodes[i].srv
	c.nodes[i].srv = nil
	c.mu.Unlock()
	require.NotNil(c.t, s, "node %d is not running", i)
	s.Stop()
}

// Restart starts stopped node i again with its name, ports and store, and
// waits until it follows the meta leader.
func (c *Cluster) Restart(i int) {
	c.t.Helper()
	require.Nil(c.t, c.Server(i), "node %d is running", i)
	c.start(i)
	c.WaitMetaLeader()
	require.Eventually(c.t, func() bool {
		s := c.Server(i)
		return s != nil && s.JetStreamIsCurrent()
	}, FormTimeout, 20*time.Millisecond, "node %d did not catch up with the meta leader", i)
}

// AddNode starts a new node with a new name and store that routes to every
// node, waits until the meta leader counts it as a peer, and returns its
// index.
func (c *Cluster) AddNode() int {
	c.t.Helper()
	port := freePorts(c.t, 1)[0]
	c.mu.Lock()
	i := len(c.nodes)
	c.nodes = append(c.nodes, &clusterNode{name: fmt.Sprintf("n%d", i), dir: c.t.TempDir(), port: -1, routePort: port})
	c.mu.Unlock()
	c.start(i)
	name := c.Node(i)
	require.Eventually(c.t, func() bool {
		l := c.Leader()
		return l >= 0 && slices.Contains(c.Server(l).JetStreamClusterPeers(), name)
	}, FormTimeout, 20*time.Millisecond, "node %s did not join the meta group", name)
	return i
}

// Leader returns the index of the running node that leads the meta group,
// or -1.
func (c *Cluster) Leader() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, n := range c.nodes {
		if n.srv != nil && n.srv.JetStreamIsLeader() {
			return i
		}
	}
	return -1
}

// WaitMetaLeader waits until a running node leads the meta group and every
// running node follows it.
func (c *Cluster) WaitMetaLeader() {
	c.t.Helper()
	require.Eventually(c.t, func() bool {
		if c.Leader() < 0 {
			return false
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, n := range c.nodes {
			if n.srv != nil && !n.srv.JetStreamIsCurrent() {
				return false
			}
		}
		return true
	}, FormTimeout, 20*time.Millisecond, "no JetStream meta leader")
}

// WaitPeers waits until the meta leader sees n online JetStream peers.
func (c *Cluster) WaitPeers(n int) {
	c.t.Helper()
	c.WaitMetaLeader()
	require.Eventually(c.t, func() bool {
		l := c.Leader()
		return l >= 0 && len(c.Server(l).JetStreamClusterPeers()) == n
	}, FormTimeout, 20*time.Millisecond, "the meta leader does not see %d peers", n)
}
