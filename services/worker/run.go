package worker

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/trace"

	"github.com/geocluster/geocluster/libs/events"
	"github.com/geocluster/geocluster/libs/tilecache"
)

// Deps are what a worker needs from its process.
type Deps struct {
	// NC carries the core subscriptions (task signal, job cancellations).
	NC *nats.Conn
	// JS is a JetStream context on NC.
	JS jetstream.JetStream
	// Log is the service's root logger; the worker adds worker_id.
	Log zerolog.Logger
	// Ops are the ops the worker runs; nil means PlatformRegistry().
	Ops *Registry
	// Now is the clock of the circuit breakers; nil means time.Now.
	Now func() time.Time
}

// worker is the state of one Run.
type worker struct {
	cfg       Config
	nc        *nats.Conn
	js        jetstream.JetStream
	kv        jetstream.KeyValue
	tiles     TileStore
	cache     *tilecache.Client
	held      *holdings
	log       zerolog.Logger
	tracer    trace.Tracer
	ops       *Registry
	limits    opLimits
	breakers  *breakers
	slots     *slots
	tracker   *tracker
	host      string
	startedAt time.Time

	// tasks owns every task goroutine.
	tasks sync.WaitGroup
	// draining is closed when the drain starts: tasks waiting for their
	// op's limit are handed back.
	draining chan struct{}
	// kick asks the heartbeat for a registration write now (a breaker
	// changed state); one buffered token is enough.
	kick chan struct{}

	completed atomic.Uint64
	failed    atomic.Uint64

	// offered is set when the scheduler offered this worker a task on its
	// directed consumers (data locality); the puller looks there first.
	offered atomic.Bool

	regMu sync.Mutex // serializes registration writes
	state events.WorkerState
}

// Run runs a worker until ctx is done, then drains it (see the package doc)
// and returns nil. It returns an error when the configuration is invalid,
// when it cannot provision, bind or register at start, when its connection
// is closed for good (it drains as well as it can first), or when it could
// not remove its registration at the end.
func Run(ctx context.Context, deps Deps, cfg Config) error {
	if deps.NC == nil || deps.JS == nil {
		return errors.New("worker: Deps.NC and Deps.JS are required")
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("worker config: %w", err)
	}
	ops := deps.Ops
	if ops == nil {
		ops = PlatformRegistry()
	}
	var unknown []string
	for _, op := range sortedKeys(cfg.OpLimits) {
		if _, ok := ops.Lookup(op); !ok {
			unknown = append(unknown, op)
		}
	}
	if len(unknown) > 0 {
		return fmt.Errorf("worker config: op_limits name ops this worker does not run: %s", strings.Join(unknown, ", "))
	}
	host, _ := os.Hostname()
	w := &worker{
		cfg:       cfg,
		nc:        deps.NC,
		js:        deps.JS,
		held:      newHoldings(),
		log:       deps.Log.With().Str("worker_id", cfg.ID).Logger(),
		tracer:    otel.Tracer(TracerName),
		ops:       ops,
		limits:    newOpLimits(cfg.OpLimits),
		slots:     newSlots(cfg.Capacity),
		tracker:   newTracker(),
		host:      host,
		startedAt: time.Now().UTC(),
		draining:  make(chan struct{}),
		kick:      make(chan struct{}, 1),
	}
	now := deps.Now
	if now == nil {
		now = time.Now
	}
	w.breakers = newBreakers(cfg.Breaker, ops.Names(), now, w.onBreakerChange)
	return w.run(ctx)
}

func (w *worker) run(ctx context.Context) error {
	consumers, directed, subs, signal, err := w.startRetrying(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil // stopped while starting
		}
		return err
	}
	cache, err := tilecache.New(ctx, w.nc, w.js, tilecache.Config{
		NearMaxBytes: w.cfg.NearCacheBytes, Writer: w.cfg.ID, OnNear: w.held.changed,
		OnError: func(err error) { w.log.Warn().Err(err).Msg("tile cache watch") },
	})
	if err != nil {
		unsubscribe(subs)
		_ = w.deregister(context.WithoutCancel(ctx))
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("tile cache: %w", err)
	}
	defer func() { _ = cache.Close() }()
	w.cache, w.tiles = cache, cache
	w.log.Info().Str("pool", w.cfg.Pool).Int("capacity", w.cfg.Capacity).Msg("worker started")

	// Tasks and the loops that serve them outlive ctx: they end in drain.
	base, stopTasks := context.WithCancel(context.WithoutCancel(ctx))
	defer stopTasks()
	loops, stopLoops := context.WithCancel(base)
	defer stopLoops()
	var bg sync.WaitGroup
	bg.Go(func() { w.heartbeat(loops) })
	bg.Go(func() { w.progress(loops) })
	bg.Go(func() { w.announce(loops, w.held) })

	weights := make([]int, len(events.Priorities))
	for i, p := range events.Priorities {
		weights[i] = w.cfg.Weights[p]
	}
	p := &puller{
		consumers: consumers,
		directed:  directed,
		offered:   &w.offered,
		credits:   newCredits(weights, min(w.cfg.Capacity, w.cfg.MaxBatch)),
		maxBatch:  w.cfg.MaxBatch,
		idlePoll:  w.cfg.IdlePoll,
		slots:     w.slots,
		signal:    signal,
		dispatch: func(msg jetstream.Msg) {
			w.tasks.Go(func() { w.handle(base, msg) })
		},
		repair: func(ctx context.Context) error {
			return events.EnsurePool(ctx, w.js, w.cfg.Topology, w.cfg.Pool)
		},
		closed: w.nc.IsClosed,
		log:    w.log,
	}
	pullErr := p.run(ctx)

	w.drain(ctx)
	unsubscribe(subs)
	stopLoops()
	bg.Wait()
	err = errors.Join(pullErr, w.deregister(ctx))
	if ferr := w.nc.FlushTimeout(w.cfg.PublishTimeout); ferr != nil {
		err = errors.Join(err, fmt.Errorf("flush acks: %w", ferr))
	}
	if err != nil {
		return fmt.Errorf("worker stop: %w", err)
	}
	w.log.Info().Uint64("completed", w.completed.Load()).Uint64("failed", w.failed.Load()).
		Uint64("refused", w.breakers.refusedTotal()).Msg("worker stopped")
	return nil
}

// start provisions the pool, binds its consumers, subscribes to wake-ups
// and cancellations, and registers the worker. The subscriptions it returns
// are to be removed by the caller, also on error.
func (w *worker) start(ctx context.Context) (consumers, directed []jetstream.Consumer, subs []*nats.Subscription, signal <-chan struct{}, err error) {
	if err := events.EnsureTopology(ctx, w.js, w.cfg.Topology); err != nil {
		return nil, nil, nil, nil, err
	}
	if err := events.EnsurePool(ctx, w.js, w.cfg.Topology, w.cfg.Pool); err != nil {
		return nil, nil, nil, nil, err
	}
	if w.kv, err = w.js.KeyValue(ctx, events.BucketWorkers); err != nil {
		return nil, nil, nil, nil, fmt.Errorf("bind bucket %s: %w", events.BucketWorkers, err)
	}
	for _, p := range events.Priorities {
		c, err := w.js.Consumer(ctx, events.TaskStream(p), events.PoolConsumer(w.cfg.Pool))
		if err != nil {
			return nil, nil, nil, nil, fmt.Errorf("bind consumer %s on %s: %w", events.PoolConsumer(w.cfg.Pool), events.TaskStream(p), err)
		}
		consumers = append(consumers, c)
		d, err := w.js.CreateOrUpdateConsumer(ctx, events.TaskStream(p), w.directedConsumerConfig(p))
		if err != nil {
			return nil, nil, nil, nil, fmt.Errorf("ensure consumer %s on %s: %w", events.DirectedConsumer(w.cfg.ID), events.TaskStream(p), err)
		}
		directed = append(directed, d)
	}
	// A wake-up is a hint: one buffered token is enough and none is lost.
	wake := make(chan struct{}, 1)
	sig, err := w.nc.Subscribe(events.TaskSignalSubject(w.cfg.Pool), func(*nats.Msg) {
		select {
		case wake <- struct{}{}:
		default:
		}
	})
	if err != nil {
		return nil, nil, nil, nil, fmt.Errorf("subscribe %s: %w", events.TaskSignalSubject(w.cfg.Pool), err)
	}
	subs = append(subs, sig)
	offer, err := w.nc.Subscribe(events.DirectedSignalSubject(w.cfg.Pool, w.cfg.ID), func(*nats.Msg) {
		w.offered.Store(true)
		select {
		case wake <- struct{}{}:
		default:
		}
	})
	if err != nil {
		return nil, nil, subs, nil, fmt.Errorf("subscribe %s: %w", events.DirectedSignalSubject(w.cfg.Pool, w.cfg.ID), err)
	}
	subs = append(subs, offer)
	superseded, err := w.nc.Subscribe(events.SupersededTaskEvents, w.onSuperseded)
	if err != nil {
		return nil, nil, subs, nil, fmt.Errorf("subscribe %s: %w", events.SupersededTaskEvents, err)
	}
	subs = append(subs, superseded)
	for _, subject := range events.StoppedJobEvents {
		stops, err := w.nc.Subscribe(subject, w.onJobCancelled)
		if err != nil {
			return nil, nil, subs, nil, fmt.Errorf("subscribe %s: %w", subject, err)
		}
		subs = append(subs, stops)
	}
	if err := w.nc.FlushTimeout(w.cfg.PublishTimeout); err != nil {
		return nil, nil, subs, nil, fmt.Errorf("flush subscriptions: %w", err)
	}
	if err := w.register(ctx); err != nil {
		// Best effort: the bucket's TTL removes a leftover registration anyway.
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), w.cfg.PublishTimeout)
		defer cancel()
		_ = w.kv.Delete(dctx, w.cfg.ID)
		return nil, nil, subs, nil, err
	}
	return consumers, directed, subs, wake, nil
}

func unsubscribe(subs []*nats.Subscription) {
	for _, s := range subs {
		// An error means the connection is closed, which removed it anyway.
		_ = s.Unsubscribe()
	}
}

// directedConsumerConfig is this worker's own consumer of the tasks offered
// to it on priority p. It outlives a restart under the same id and
// disappears once nobody pulls from it for a while (a lost worker's offers
// lapse to the shared queue anyway).
func (w *worker) directedConsumerConfig(p events.Priority) jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Durable:           events.DirectedConsumer(w.cfg.ID),
		FilterSubject:     events.DirectedTaskSubject(p, w.cfg.Pool, w.cfg.ID),
		AckPolicy:         jetstream.AckExplicitPolicy,
		AckWait:           w.cfg.Topology.TaskAckWait,
		MaxDeliver:        -1,
		MaxAckPending:     max(w.cfg.Capacity, 1) * 4,
		InactiveThreshold: max(10*w.cfg.Topology.WorkerTTL, time.Minute),
		Replicas:          w.cfg.Topology.Replicas,
	}
}

// startRetrying runs start until it succeeds, ctx is done, the connection
// is closed for good, or the configuration is refused: on a busy or
// degraded cluster (a node lost, leaders being elected) provisioning can
// time out for a while, and a worker should wait that out rather than exit.
func (w *worker) startRetrying(ctx context.Context) (consumers, directed []jetstream.Consumer, subs []*nats.Subscription, signal <-chan struct{}, err error) {
	backoff := 100 * time.Millisecond
	for {
		consumers, directed, subs, signal, err = w.start(ctx)
		if err == nil {
			return consumers, directed, subs, signal, nil
		}
		unsubscribe(subs)
		if ctx.Err() != nil || w.nc.IsClosed() || !retryable(err) {
			return nil, nil, nil, nil, err
		}
		w.log.Warn().Err(err).Dur("retry_in", backoff).Msg("start failed, retrying")
		select {
		case <-ctx.Done():
			return nil, nil, nil, nil, ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// retryable: the cluster was slow or busy, not the request wrong.
func retryable(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) ||
		errors.Is(err, jetstream.ErrNoHeartbeat) || errors.Is(err, nats.ErrNoResponders) ||
		errors.Is(err, jetstream.ErrJetStreamNotEnabled) || strings.Contains(err.Error(), "timeout") ||
		strings.Contains(err.Error(), "no suitable peers") || strings.Contains(err.Error(), "insufficient resources")
}
