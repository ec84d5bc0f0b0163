package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/geocluster/geocluster/internal/onebox"
	"github.com/geocluster/geocluster/libs/events"
)

// env is one embedded server running the cluster, shared by every
// measurement so that they compare on the same storage and process.
type env struct {
	cl  *onebox.Cluster
	nc  *nats.Conn
	js  jetstream.JetStream
	cfg config
}

func startEnv(ctx context.Context, cfg config) (*env, error) {
	oc := onebox.DefaultConfig()
	oc.Port, oc.Workers, oc.Memory = -1, cfg.workers, cfg.memory
	if cfg.capacity > 0 {
		oc.Worker.Capacity = cfg.capacity
	}
	cl, err := onebox.Start(ctx, oc)
	if err != nil {
		return nil, err
	}
	nc, err := cl.Server.Connect("bench-client", true)
	if err != nil {
		_ = cl.Stop()
		return nil, err
	}
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(16384))
	if err != nil {
		_ = cl.Stop()
		return nil, err
	}
	return &env{cl: cl, nc: nc, js: js, cfg: cfg}, nil
}

func (e *env) stop() {
	e.nc.Close()
	_ = e.cl.Stop()
}

func (e *env) storage() string {
	if e.cfg.memory {
		return "memory"
	}
	return "file"
}

// taskPayload is a noop task message as the scheduler releases it, so the
// raw baseline moves messages of the same size.
func taskPayload(i int) []byte {
	b, _ := json.Marshal(events.TaskMessage{
		V: 1, Tenant: "default", JobID: events.NewID(), TaskID: fmt.Sprintf("t%06d", i), Op: "noop",
		Priority: events.PriorityNormal, Pool: "default", Attempt: 1, MaxAttempts: 3, ReleasedAt: time.Now(),
	})
	return b
}

// rawThroughput: N messages through a work-queue stream with W competing
// pull consumers, each on its own connection, fetching batches and acking
// every message, as workers do.
func (e *env) rawThroughput(ctx context.Context, n, workers int) (float64, error) {
	storage := jetstream.FileStorage
	if e.cfg.memory {
		storage = jetstream.MemoryStorage
	}
	name := "BENCH_RAW"
	_ = e.js.DeleteStream(ctx, name)
	st, err := e.js.CreateStream(ctx, jetstream.StreamConfig{Name: name, Subjects: []string{"bench.raw"}, Retention: jetstream.WorkQueuePolicy, Storage: storage})
	if err != nil {
		return 0, err
	}
	defer func() { _ = e.js.DeleteStream(ctx, name) }()
	cons, err := st.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{Durable: "raw", AckPolicy: jetstream.AckExplicitPolicy, MaxAckPending: 10000})
	if err != nil {
		return 0, err
	}
	payload := taskPayload(0)
	var acked atomic.Int64
	done := make(chan struct{})
	var wg sync.WaitGroup
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	begin := time.Now()
	for w := range workers {
		nc, err := e.cl.Server.Connect(fmt.Sprintf("raw-%d", w), true)
		if err != nil {
			return 0, err
		}
		defer nc.Close()
		js, _ := jetstream.New(nc)
		c, err := js.Consumer(ctx, name, cons.CachedInfo().Name)
		if err != nil {
			return 0, err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for cctx.Err() == nil {
				b, err := c.Fetch(64, jetstream.FetchMaxWait(100*time.Millisecond))
				if err != nil {
					continue
				}
				for m := range b.Messages() {
					_ = m.Ack()
					if acked.Add(1) == int64(n) {
						close(done)
					}
				}
			}
		}()
	}
	for i := range n {
		if _, err := e.js.PublishAsync("bench.raw", payload); err != nil {
			return 0, fmt.Errorf("publish %d: %w", i, err)
		}
	}
	select {
	case <-e.js.PublishAsyncComplete():
	case <-time.After(time.Minute):
		return 0, errors.New("raw publishes not acked within a minute")
	}
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		return 0, fmt.Errorf("raw: only %d of %d acked", acked.Load(), n)
	}
	elapsed := time.Since(begin)
	cancel()
	wg.Wait()
	return float64(n) / elapsed.Seconds(), nil
}

// clusterThroughput: one job of n independent noop tasks, submit -> job
// succeeded event.
func (e *env) clusterThroughput(ctx context.Context, n, round int) (float64, error) {
	job := events.JobSpec{ID: fmt.Sprintf("bench-%d-%s", round, events.NewID())}
	for i := range n {
		job.Tasks = append(job.Tasks, events.TaskSpec{ID: fmt.Sprintf("t%06d", i), Op: "noop"})
	}
	data, err := json.Marshal(job)
	if err != nil {
		return 0, err
	}
	sub, err := e.nc.SubscribeSync(events.JobEventSubject(events.DefaultTenant, job.ID, "*"))
	if err != nil {
		return 0, err
	}
	defer func() { _ = sub.Unsubscribe() }()
	begin := time.Now()
	if _, err := e.js.Publish(ctx, events.JobSubmitSubject(events.DefaultTenant), data, jetstream.WithMsgID(job.ID)); err != nil {
		return 0, err
	}
	for {
		m, err := sub.NextMsg(5 * time.Minute)
		if err != nil {
			return 0, fmt.Errorf("wait for job %s: %w", job.ID, err)
		}
		ev, err := events.DecodeJobEvent(m.Data)
		if err != nil {
			return 0, err
		}
		switch ev.State {
		case events.JobSucceeded:
			return float64(n) / time.Since(begin).Seconds(), nil
		case events.JobFailed, events.JobRejected, events.JobCancelled:
			return 0, fmt.Errorf("job %s %s: %s", job.ID, ev.State, ev.Error)
		}
	}
}

// rawLatency: one message at a time, publish -> a waiting pull receives it.
func (e *env) rawLatency(ctx context.Context, samples int) ([]time.Duration, error) {
	name := "BENCH_LAT"
	_ = e.js.DeleteStream(ctx, name)
	storage := jetstream.FileStorage
	if e.cfg.memory {
		storage = jetstream.MemoryStorage
	}
	st, err := e.js.CreateStream(ctx, jetstream.StreamConfig{Name: name, Subjects: []string{"bench.lat"}, Retention: jetstream.WorkQueuePolicy, Storage: storage})
	if err != nil {
		return nil, err
	}
	defer func() { _ = e.js.DeleteStream(ctx, name) }()
	cons, err := st.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{Durable: "lat", AckPolicy: jetstream.AckExplicitPolicy})
	if err != nil {
		return nil, err
	}
	payload := taskPayload(0)
	out := make([]time.Duration, 0, samples)
	for range samples {
		b, err := cons.Fetch(1, jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			return nil, err
		}
		begin := time.Now()
		if _, err := e.js.Publish(ctx, "bench.lat", payload); err != nil {
			return nil, err
		}
		m, ok := <-b.Messages()
		if !ok {
			return nil, fmt.Errorf("raw latency: no message: %v", b.Error())
		}
		out = append(out, time.Since(begin))
		_ = m.Ack()
	}
	return out, nil
}

// clusterLatency: single-task jobs one at a time.
func (e *env) clusterLatency(ctx context.Context, samples int) (task, job []time.Duration, err error) {
	sub, err := e.nc.SubscribeSync("geo.events.default.*.*.succeeded")
	if err != nil {
		return nil, nil, err
	}
	defer func() { _ = sub.Unsubscribe() }()
	for range samples {
		id := "lat-" + events.NewID()
		data, _ := json.Marshal(events.JobSpec{ID: id, Tasks: []events.TaskSpec{{ID: "t", Op: "noop"}}})
		begin := time.Now()
		if _, err := e.js.Publish(ctx, events.JobSubmitSubject(events.DefaultTenant), data, jetstream.WithMsgID(id)); err != nil {
			return nil, nil, err
		}
		for got := 0; got < 2; {
			m, err := sub.NextMsg(10 * time.Second)
			if err != nil {
				return nil, nil, fmt.Errorf("latency job %s: %w", id, err)
			}
			switch m.Subject {
			case events.TaskEventSubject(events.DefaultTenant, id, events.TaskSucceeded):
				task = append(task, time.Since(begin))
				got++
			case events.JobEventSubject(events.DefaultTenant, id, events.JobSucceeded):
				job = append(job, time.Since(begin))
				got++
			}
		}
	}
	return task, job, nil
}

// streamWrites returns the last sequence of every stream, so that the
// difference over a run tells how many messages each stream stored per task of
// the throughput runs: the cost model of the cluster path.
func (e *env) streamWrites(ctx context.Context) (map[string]uint64, error) {
	out := map[string]uint64{}
	lister := e.js.ListStreams(ctx)
	for info := range lister.Info() {
		out[info.Config.Name] = info.State.LastSeq
	}
	return out, lister.Err()
}
