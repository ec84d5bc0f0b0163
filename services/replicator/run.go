package replicator

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/geocluster/geocluster/libs/events"
	"github.com/geocluster/geocluster/libs/lease"
)

// Deps are what the replicator runs on.
type Deps struct {
	// NC is a connection named for the replicator.
	NC *nats.Conn
	// Log is the service's root logger.
	Log zerolog.Logger
}

// Run provisions the topology and the mirror, then campaigns for the
// replicator lease and heals and scrubs while it holds it, until ctx is
// done. It returns nil on a clean stop.
func Run(ctx context.Context, deps Deps, cfg Config) error {
	err := run(ctx, deps, cfg)
	if ctx.Err() != nil {
		return nil // stopped while starting: a clean stop all the same
	}
	return err
}

func run(ctx context.Context, deps Deps, cfg Config) error {
	if deps.NC == nil {
		return errors.New("replicator: Deps.NC is required")
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("replicator config: %w", err)
	}
	log := deps.Log.With().Str("replicator_id", cfg.ID).Logger()
	js, err := jetstream.New(deps.NC)
	if err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}
	// The replicator must come up in a sick cluster (that is when it is
	// needed): provisioning is retried until it succeeds or ctx is done.
	if err := provision(ctx, log, func(ctx context.Context) error {
		if err := events.EnsureTopology(ctx, js, cfg.Topology); err != nil {
			return err
		}
		if cfg.Mirror.Bucket == "" {
			return nil
		}
		return ensureMirror(ctx, js, events.ObjectTiles, cfg.Mirror, cfg.Topology.Storage)
	}); err != nil {
		return err
	}
	lcfg := lease.Config{
		Bucket: events.BucketLeases, Key: events.LeaseReplicator, Holder: cfg.ID, TTL: cfg.LeaseTTL,
		OnChange: func(s lease.State, token uint64) {
			log.Info().Stringer("state", s).Uint64("token", token).Msg("lease")
		},
	}
	log.Info().Msg("replicator running")
	h := newHealer(js, cfg, log)
	return lease.Run(ctx, js, lcfg, func(ctx context.Context, token uint64) error {
		lead(ctx, js, cfg, log.With().Uint64("token", token).Logger(), token, h)
		return nil
	})
}

// provision calls f until it succeeds, with a backoff from 100ms to 10s
// between attempts, each bounded by 30s; it returns ctx's error when ctx
// ends first.
func provision(ctx context.Context, log zerolog.Logger, f func(context.Context) error) error {
	backoff := 100 * time.Millisecond
	for {
		actx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := f(actx)
		cancel()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		log.Warn().Err(err).Dur("retry_in", backoff).Msg("provision")
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		backoff = min(2*backoff, 10*time.Second)
	}
}

// lead heals and scrubs until ctx is done (stopped, or the lease lost).
func lead(ctx context.Context, js jetstream.JetStream, cfg Config, log zerolog.Logger, token uint64, h *healer) {
	rep := &reporter{js: js, log: log, id: cfg.ID, token: token, timeout: cfg.PublishTimeout}
	var wg sync.WaitGroup
	wg.Go(func() { h.run(ctx, rep) })
	if cfg.ScrubEvery > 0 {
		s := &scrubber{js: js, bucket: events.ObjectTiles, mirror: cfg.Mirror.Bucket, wait: cfg.ChunkWait, log: log, rep: rep}
		wg.Go(func() { s.run(ctx, cfg.ScrubEvery) })
	}
	wg.Wait()
}
