package scheduler

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/geocluster/geocluster/libs/events"
	"github.com/geocluster/geocluster/libs/lease"
)

// Deps are what the scheduler runs on.
type Deps struct {
	// NC is a connection named for the scheduler.
	NC *nats.Conn
	// Log is the service's root logger.
	Log zerolog.Logger
}

// Run provisions the topology, serves the API, and schedules while it
// holds the scheduler lease, until ctx is done. It returns nil on a clean
// stop, and an error when its connection is closed for good (a replica
// without a connection can neither lead nor answer).
func Run(ctx context.Context, deps Deps, cfg Config) error {
	if deps.NC == nil {
		return errors.New("scheduler: Deps.NC is required")
	}
	rctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	closed := deps.NC.StatusChanged(nats.CLOSED)
	defer deps.NC.RemoveStatusListener(closed)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel(nil)
	wg.Go(func() {
		select {
		case <-closed:
			cancel(nats.ErrConnectionClosed)
		case <-rctx.Done():
		}
	})
	if deps.NC.IsClosed() {
		cancel(nats.ErrConnectionClosed)
	}
	err := run(rctx, deps, cfg)
	if cause := context.Cause(rctx); errors.Is(cause, nats.ErrConnectionClosed) {
		return fmt.Errorf("scheduler: %w", cause)
	}
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
	// Without a timeout, an ack lost with a dying server would hold a flush
	// forever; a timed-out publish is retried (every write is idempotent).
	js, err := jetstream.New(deps.NC, jetstream.WithPublishAsyncMaxPending(16384), jetstream.WithPublishAsyncTimeout(5*time.Second))
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
	a := &api{cfg: cfg, js: js, jobsKV: jobsKV, tasksKV: tasksKV, log: log}
	svc, err := a.start(deps.NC)
	if err != nil {
		return err
	}
	defer func() { _ = svc.Stop() }()

	leaseCfg := lease.Config{
		Key: events.LeaseScheduler, Holder: cfg.ID, TTL: cfg.LeaseTTL,
		OnChange: func(s lease.State, token uint64) {
			log.Info().Str("lease", s.String()).Uint64("fencing_token", token).Msg("scheduler lease")
		},
	}
	return lease.Run(ctx, js, leaseCfg, func(lctx context.Context, token uint64) error {
		if err := lead(lctx, deps, cfg, js, jobsKV, tasksKV, token); err != nil {
			// A failure while leading (the servers unreachable, say) hands
			// the lease on rather than stopping the replica.
			log.Error().Err(err).Msg("leadership ended")
		}
		return nil
	})
}

// lead does the release work while this replica holds the scheduler
// lease: it recovers the live jobs from KV, consumes submissions and task
// events, and runs the loop until ctx is done (the lease lost, or a stop).
// Inputs it had not acked come back to the next leader.
func lead(ctx context.Context, deps Deps, cfg Config, js jetstream.JetStream, jobsKV, tasksKV jetstream.KeyValue, token uint64) error {
	log := deps.Log.With().Uint64("fencing_token", token).Logger()
	c := newCore(cfg, log, func(key string) (bool, error) {
		_, err := jobsKV.Get(ctx, key)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			return false, nil
		}
		return err == nil, err
	})
	if err := waitCaughtUp(ctx, js, []string{"KV_" + events.BucketJobs, "KV_" + events.BucketTasks}, 10*time.Second); err != nil {
		log.Warn().Err(err).Msg("recovering from records that may lag")
	}
	timers, err := recoverJobs(ctx, jobsKV, tasksKV, c)
	if err != nil {
		return fmt.Errorf("recover jobs: %w", err)
	}
	l := &loop{core: c, nc: deps.NC, js: js, log: log, in: make(chan item, 4*cfg.MaxBatch), fence: strconv.FormatUint(token, 10)}
	// Inputs handed over but not applied go back at once for the next
	// leader (those applied and not yet acked come back after the ack wait).
	defer l.handBack()
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
	if cfg.LocalityWait > 0 {
		l.holds = make(chan *nats.Msg, 16384)
		sub, err := subscribeHoldings(deps.NC, l.holds)
		if err != nil {
			return err
		}
		defer func() { _ = sub.Unsubscribe() }()
	}
	// Registrations: where locality may send tasks, and which workers
	// were lost.
	var wg sync.WaitGroup
	defer wg.Wait()
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	wg.Go(func() { watchWorkersLoop(wctx, js, push) })
	log.Info().Int("recovered_jobs", len(c.jobs)).Msg("scheduler running")
	return l.run(ctx)
}
