// Package embedded runs a NATS server with JetStream inside the calling
// process: the one-process cluster, tests and benchmarks use it.
package embedded

import (
	"errors"
	"fmt"
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
