package scheduler

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/geocluster/geocluster/libs/events"
)

// Deps are what the scheduler runs on.
type Deps struct {
	// NC is a connection named for the scheduler.
	NC *nats.Conn
	// Log is the service's root logger.
	Log zerolog.Logger
}

// Run provisions the topology, recovers live jobs from KV, and then
// schedules until ctx is done. It returns nil on a clean stop.
func Run(ctx context.Context, deps Deps, cfg Config) error {
	err := run(ctx, deps, cfg)
	if ctx.Err() != nil {
		return nil // stopped while starting: a clean stop all the same
	}
	return err
}

func run(ctx context.Context, deps Deps, cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("scheduler config: %w", err)
	}
	log := deps.Log
	js, err := jetstream.New(deps.NC, jetstream.WithPublishAsyncMaxPending(16384))
	if err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}
	if err := events.EnsureTopology(ctx, js, cfg.Topology); err != nil {
		return err
	}
	jobsKV, err := js.KeyValue(ctx, events.BucketJobs)
	if err != nil {
		return fmt.Errorf("bind %s: %w", events.BucketJobs, err)
	}
	tasksKV, err := js.KeyValue(ctx, events.BucketTasks)
	if err != nil {
		return fmt.Errorf("bind %s: %w", events.BucketTasks, err)
	}
	c := newCore(cfg, log, func(key string) (bool, error) {
		_, err := jobsKV.Get(ctx, key)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			return false, nil
		}
		return err == nil, err
	})
	timers, err := recoverJobs(ctx, jobsKV, tasksKV, c)
	if err != nil {
		return fmt.Errorf("recover jobs: %w", err)
	}
	l := &loop{core: c, nc: deps.NC, js: js, log: log, in: make(chan item, 4*cfg.MaxBatch)}
	for _, t := range timers {
		l.retries = append(l.retries, t)
	}
	// Whatever recovery queued (re-releases, finished jobs) goes out first.
	if out := c.endBatch(); !out.empty() {
		if err := l.flush(ctx, out); err != nil {
			return nil
		}
		c.forget(out.done)
	}

	a := &api{cfg: cfg, js: js, jobsKV: jobsKV, tasksKV: tasksKV, log: log}
	svc, err := a.start(deps.NC)
	if err != nil {
		return err
	}
	defer func() { _ = svc.Stop() }()

	push := func(it item) {
		select {
		case l.in <- it:
		case <-ctx.Done():
		}
	}
	var stops []jetstream.ConsumeContext
	defer func() {
		for _, s := range stops {
			s.Stop()
		}
	}()
	consume := func(stream, consumer string, handler jetstream.MessageHandler, opts ...jetstream.PullConsumeOpt) error {
		cons, err := js.Consumer(ctx, stream, consumer)
		if err != nil {
			return fmt.Errorf("bind consumer %s on %s: %w", consumer, stream, err)
		}
		cc, err := cons.Consume(handler, opts...)
		if err != nil {
			return fmt.Errorf("consume %s on %s: %w", consumer, stream, err)
		}
		stops = append(stops, cc)
		return nil
	}
	if err := consume(events.StreamJobs, events.ConsumerSchedulerJobs, func(m jetstream.Msg) {
		verb, _, ok := events.TenantFromJobsSubject(m.Subject())
		switch {
		case ok && verb == "submit":
			push(item{kind: itemSubmit, msg: m})
		case ok && verb == "cancel":
			push(item{kind: itemCancel, msg: m})
		default:
			log.Warn().Str("subject", m.Subject()).Msg("unknown jobs subject")
			_ = m.Term()
		}
	}, jetstream.PullMaxMessages(64)); err != nil {
		return err
	}
	if err := consume(events.StreamEvents, events.ConsumerSchedulerTasks, func(m jetstream.Msg) {
		push(item{kind: itemTaskEvent, msg: m})
	}, jetstream.PullMaxMessages(2000)); err != nil {
		return err
	}
	log.Info().Int("recovered_jobs", len(c.jobs)).Msg("scheduler running")
	return l.run(ctx)
}
