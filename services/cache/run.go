package cache

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/geocluster/geocluster/libs/events"
	"github.com/geocluster/geocluster/libs/tilecache"
)

// Deps are what a cache node runs on.
type Deps struct {
	// NC is a connection named for the node.
	NC *nats.Conn
	// Log is the service's root logger.
	Log zerolog.Logger
}

// Run provisions the topology and serves as one cache node until ctx is
// done. It returns nil on a clean stop.
func Run(ctx context.Context, deps Deps, cfg Config) error {
	n, err := start(ctx, deps, cfg)
	if err != nil {
		if ctx.Err() != nil {
			return nil // stopped while starting: a clean stop all the same
		}
		return err
	}
	return n.run(ctx)
}

// start provisions, binds, and replays the buckets: a node ready to serve.
func start(ctx context.Context, deps Deps, cfg Config) (*node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("cache config: %w", err)
	}
	js, err := jetstream.New(deps.NC)
	if err != nil {
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	if err := events.EnsureTopology(ctx, js, cfg.Topology); err != nil {
		return nil, err
	}
	kv, nodesKV, store, err := tilecache.Bind(ctx, js)
	if err != nil {
		return nil, err
	}
	return newNode(deps, cfg, js, kv, nodesKV, store)
}
