// Package embedded runs a NATS server with JetStream inside the calling
// process: the one-process cluster, tests and benchmarks use it.
package embedded

import (
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// Config of an embedded server.
type Config struct {
	// Host to listen on (127.0.0.1).
	Host string
	// Port for clients; -1 picks a free one (-1).
	Port int
	// HTTPPort serves the NATS monitoring endpoints; 0 disables, -1 picks (0).
	HTTPPort int
	// StoreDir holds JetStream file storage; empty means memory only is
	// expected and a temporary directory is used by the server.
	StoreDir string
	// MaxPayload is the largest message (8 MiB, enough for a large job).
	MaxPayload int32
	// Name of the server ("geocluster").
	Name string
	// Log turns on the server's own logging to stderr.
	Log bool
	// Cluster joins the server to a JetStream cluster; the zero value runs
	// a single server.
	Cluster Cluster
}

// Cluster configures the routes of a clustered server.
type Cluster struct {
	// Name of the cluster; every server of one cluster shares it. Empty
	// means a single server.
	Name string
	// Port routes listen on (on Config.Host); -1 picks a free one.
	Port int
	// Routes are the nats-route://host:port URLs of the cluster's servers.
	// Listing every server, this one included, lets JetStream know the
	// expected size of its meta group from the start.
	Routes []string
}

// Server is a running embedded server.
type Server struct {
	*server.Server
}

// Start starts a server and waits until it accepts connections.
func Start(cfg Config) (*Server, error) {
	if cfg.Host == "" {
		cfg.Host = "127.0.0.1"
	}
	if cfg.Port == 0 {
		cfg.Port = -1
	}
	if cfg.MaxPayload == 0 {
		cfg.MaxPayload = 8 << 20
	}
	if cfg.Name == "" {
		cfg.Name = "geocluster"
	}
	opts := &server.Options{
		ServerName: cfg.Name,
		Host:       cfg.Host,
		Port:       cfg.Port,
		HTTPHost:   cfg.Host,
		HTTPPort:   cfg.HTTPPort,
		JetStream:  true,
		StoreDir:   cfg.StoreDir,
		MaxPayload: cfg.MaxPayload,
		NoSigs:     true,
		NoLog:      !cfg.Log,
	}
	if cfg.Cluster.Name != "" {
		routes, err := routeURLs(cfg.Cluster.Routes)
		if err != nil {
			return nil, err
		}
		opts.Cluster = server.ClusterOpts{Name: cfg.Cluster.Name, Host: cfg.Host, Port: cfg.Cluster.Port}
		opts.Routes = routes
	}
	// The server warns above 8 MiB; pending must exceed the payload.
	opts.MaxPending = int64(cfg.MaxPayload) * 8
	s, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("new nats server: %w", err)
	}
	if cfg.Log {
		s.ConfigureLogger()
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		return nil, errors.New("nats server not ready after 10s")
	}
	return &Server{s}, nil
}

func routeURLs(routes []string) ([]*url.URL, error) {
	out := make([]*url.URL, 0, len(routes))
	for _, r := range routes {
		u, err := url.Parse(r)
		if err != nil {
			return nil, fmt.Errorf("route %q: %w", r, err)
		}
		out = append(out, u)
	}
	return out, nil
}

// Connect opens a client connection named name. In-process connections
// skip the TCP hop.
func (s *Server) Connect(name string, inProcess bool, opts ...nats.Option) (*nats.Conn, error) {
	opts = append([]nats.Option{nats.Name(name), nats.MaxReconnects(-1)}, opts...)
	if inProcess {
		opts = append(opts, nats.InProcessServer(s.Server))
	}
	nc, err := nats.Connect(s.ClientURL(), opts...)
	if err != nil {
		return nil, fmt.Errorf("connect %s: %w", name, err)
	}
	return nc, nil
}

// Stop shuts the server down and waits for it.
func (s *Server) Stop() {
	s.Shutdown()
	s.WaitForShutdown()
}
