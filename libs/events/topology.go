package events

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Topology configures the JetStream objects of a cluster. Every service
// calls EnsureTopology with the same Topology at start; provisioning is
// idempotent (create or update), so the order services start in does not
// matter.
type Topology struct {
	// Replicas of every stream, bucket and object store (1; 3 in a cluster).
	Replicas int
	// Storage of every stream (file).
	Storage jetstream.StorageType
	// Pools whose task consumers are created (["default"]).
	Pools []string
	// TaskAckWait is how long a worker may hold a task without an ack or
	// progress before it is redelivered to another worker (30s). Workers
	// report progress at a third of it while a task runs.
	TaskAckWait time.Duration
	// TaskMaxDeliver bounds deliveries of one released attempt (5). A worker
	// that receives an attempt for a later delivery does not run it: it
	// reports the attempt failed ("delivered N times without an ack"), so a
	// task that kills or hangs its workers is retried with backoff and
	// finally dead-lettered instead of crashing the fleet. The consumers
	// themselves redeliver without limit, so nothing is dropped silently.
	TaskMaxDeliver int
	// TaskMaxAckPending bounds the tasks held by all workers of a pool on one
	// priority at once (10000).
	TaskMaxAckPending int
	// EventsMaxAge is how long events are kept (7 days).
	EventsMaxAge time.Duration
	// DuplicateWindow is the Nats-Msg-Id dedupe window of every stream (2m).
	DuplicateWindow time.Duration
	// WorkerTTL removes a worker's registration this long after its last
	// heartbeat (15s).
	WorkerTTL time.Duration
	// CacheNodeTTL removes a cache node's registration this long after its
	// last heartbeat (10s).
	CacheNodeTTL time.Duration
	// MaxJobBytes is the largest job submission JOBS accepts (8 MiB); the
	// server's max_payload must be at least as large.
	MaxJobBytes int32
}

// DefaultTopology returns the defaults for a single-node cluster.
func DefaultTopology() Topology {
	return Topology{
		Replicas:          1,
		Storage:           jetstream.FileStorage,
		Pools:             []string{DefaultPool},
		TaskAckWait:       30 * time.Second,
		TaskMaxDeliver:    5,
		TaskMaxAckPending: 10000,
		EventsMaxAge:      7 * 24 * time.Hour,
		DuplicateWindow:   2 * time.Minute,
		WorkerTTL:         15 * time.Second,
		CacheNodeTTL:      10 * time.Second,
		MaxJobBytes:       8 << 20,
	}
}

// Validate returns every problem of t at once.
func (t Topology) Validate() error {
	var errs []error
	if t.Replicas < 1 || t.Replicas > 5 {
		errs = append(errs, fmt.Errorf("replicas: must be 1 to 5, got %d", t.Replicas))
	}
	if len(t.Pools) == 0 {
		errs = append(errs, errors.New("pools: at least one pool"))
	}
	for _, p := range t.Pools {
		if !ValidToken(p) {
			errs = append(errs, fmt.Errorf("pools: %q is not a valid pool name", p))
		}
	}
	if t.TaskAckWait < 100*time.Millisecond {
		errs = append(errs, fmt.Errorf("task_ack_wait: at least 100ms, got %s", t.TaskAckWait))
	}
	if t.TaskMaxDeliver < 2 {
		errs = append(errs, fmt.Errorf("task_max_deliver: at least 2, got %d", t.TaskMaxDeliver))
	}
	if t.TaskMaxAckPending < 1 {
		errs = append(errs, fmt.Errorf("task_max_ack_pending: at least 1, got %d", t.TaskMaxAckPending))
	}
	if t.WorkerTTL < time.Second {
		errs = append(errs, fmt.Errorf("worker_ttl: at least 1s, got %s", t.WorkerTTL))
	}
	if t.CacheNodeTTL < time.Second {
		errs = append(errs, fmt.Errorf("cache_node_ttl: at least 1s, got %s", t.CacheNodeTTL))
	}
	if t.MaxJobBytes < 1024 {
		errs = append(errs, fmt.Errorf("max_job_bytes: at least 1024, got %d", t.MaxJobBytes))
	}
	return errors.Join(errs...)
}

// EnsureTopology creates or updates every stream, consumer, bucket and
// object store of the platform.
func EnsureTopology(ctx context.Context, js jetstream.JetStream, t Topology) error {
	if err := t.Validate(); err != nil {
		return fmt.Errorf("topology: %w", err)
	}
	streams := []jetstream.StreamConfig{
		{
			Name: StreamJobs, Subjects: []string{JobsStreamSubjects},
			Retention: jetstream.WorkQueuePolicy, MaxMsgSize: t.MaxJobBytes,
		},
		{
			Name: StreamEvents, Subjects: EventsStreamSubjects,
			Retention: jetstream.LimitsPolicy, MaxAge: t.EventsMaxAge,
		},
		{
			Name: StreamDLQ, Subjects: []string{DLQStreamSubjects},
			Retention: jetstream.LimitsPolicy,
		},
		{
			Name: StreamAlerts, Subjects: []string{AlertsStreamSubjects},
			Retention: jetstream.LimitsPolicy, MaxAge: t.EventsMaxAge,
		},
	}
	for _, p := range Priorities {
		streams = append(streams, jetstream.StreamConfig{
			Name: TaskStream(p), Subjects: []string{TaskStreamSubjects(p)},
			Retention: jetstream.WorkQueuePolicy,
		})
	}
	for _, cfg := range streams {
		cfg.Storage = t.Storage
		cfg.Replicas = t.Replicas
		cfg.Duplicates = t.DuplicateWindow
		if _, err := js.CreateOrUpdateStream(ctx, cfg); err != nil {
			return fmt.Errorf("ensure stream %s: %w", cfg.Name, err)
		}
	}
	for _, pool := range t.Pools {
		if err := EnsurePool(ctx, js, t, pool); err != nil {
			return err
		}
	}
	consumers := []struct {
		stream string
		cfg    jetstream.ConsumerConfig
	}{
		// The scheduler's inputs are idempotent and acked only once their
		// effects are stored: they are redelivered without limit, never dropped.
		{StreamJobs, jetstream.ConsumerConfig{Durable: ConsumerSchedulerJobs, MaxDeliver: -1, MaxAckPending: 1000}},
		{StreamEvents, jetstream.ConsumerConfig{
			Durable: ConsumerSchedulerTasks,
			FilterSubjects: []string{
				Root + ".events.*.task.*." + string(TaskStarted),
				Root + ".events.*.task.*." + string(TaskSucceeded),
				Root + ".events.*.task.*." + string(TaskFailed),
			},
			MaxDeliver: -1, MaxAckPending: 50000,
		}},
	}
	for _, c := range consumers {
		c.cfg.AckPolicy = jetstream.AckExplicitPolicy
		// The scheduler acks within a flush (milliseconds); a short ack
		// wait hands a dead leader's unacked inputs to its successor soon.
		c.cfg.AckWait = SchedulerAckWait
		c.cfg.Replicas = t.Replicas
		if _, err := js.CreateOrUpdateConsumer(ctx, c.stream, c.cfg); err != nil {
			return fmt.Errorf("ensure consumer %s on %s: %w", c.cfg.Durable, c.stream, err)
		}
	}
	buckets := []jetstream.KeyValueConfig{
		{Bucket: BucketJobs, Description: "job state by <tenant>.<job>", History: 1},
		{Bucket: BucketTasks, Description: "task state by <tenant>.<job>.<task>", History: 1},
		// The limit marker makes a lapsed registration visible to watchers
		// (a delete marker), not only gone.
		{Bucket: BucketWorkers, Description: "live workers, removed after the TTL", History: 1, TTL: t.WorkerTTL, LimitMarkerTTL: t.WorkerTTL},
		{Bucket: BucketLeases, Description: "leases of single actors", History: 1, LimitMarkerTTL: time.Minute},
		{Bucket: BucketCache, Description: "tile versions by CacheKey(object); the revision is the version", History: 1},
		{Bucket: BucketCheckpoints, Description: "progress saved by long tasks, by <tenant>.<job>.<task>", History: 1, TTL: 7 * 24 * time.Hour},
		{Bucket: BucketCacheNodes, Description: "live cache nodes, removed after the TTL", History: 1, TTL: t.CacheNodeTTL, LimitMarkerTTL: t.CacheNodeTTL},
		{Bucket: BucketRules, Description: "alert rules by name (JSON), watched by the monitor", History: 5},
		{Bucket: BucketMonitor, Description: "the monitor's metrics snapshot and the EVENTS sequence it includes", History: 1},
	}
	for _, cfg := range buckets {
		cfg.Storage = t.Storage
		cfg.Replicas = t.Replicas
		if _, err := js.CreateOrUpdateKeyValue(ctx, cfg); err != nil {
			return fmt.Errorf("ensure bucket %s: %w", cfg.Bucket, err)
		}
	}
	if _, err := js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{
		Bucket: ObjectTiles, Description: "input, intermediate and output tiles",
		Storage: t.Storage, Replicas: t.Replicas,
	}); err != nil {
		return fmt.Errorf("ensure object store %s: %w", ObjectTiles, err)
	}
	return nil
}

// SchedulerAckWait is the ack wait of the scheduler's consumers.
const SchedulerAckWait = 5 * time.Second

// EnsurePool creates or updates the durable pull consumer of pool on every
// task stream. Workers of a new pool call it at start.
func EnsurePool(ctx context.Context, js jetstream.JetStream, t Topology, pool string) error {
	if !ValidToken(pool) {
		return fmt.Errorf("ensure pool: %q is not a valid pool name", pool)
	}
	for _, p := range Priorities {
		cfg := jetstream.ConsumerConfig{
			Durable:       PoolConsumer(pool),
			FilterSubject: TaskSubject(p, pool),
			AckPolicy:     jetstream.AckExplicitPolicy,
			AckWait:       t.TaskAckWait,
			MaxDeliver:    -1,
			MaxAckPending: t.TaskMaxAckPending,
			MaxWaiting:    4096,
			Replicas:      t.Replicas,
		}
		if _, err := js.CreateOrUpdateConsumer(ctx, TaskStream(p), cfg); err != nil {
			return fmt.Errorf("ensure consumer %s on %s: %w", cfg.Durable, TaskStream(p), err)
		}
	}
	return nil
}
