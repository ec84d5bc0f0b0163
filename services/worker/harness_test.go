package worker_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/geocluster/geocluster/libs/embedded"
	"github.com/geocluster/geocluster/libs/events"
	"github.com/geocluster/geocluster/libs/natstest"
	"github.com/geocluster/geocluster/services/worker"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, natstest.KnownLeak)
}

// wait bounds every require.Eventually; tick is its polling period.
const (
	wait = 15 * time.Second
	tick = 5 * time.Millisecond
)

// harness is one embedded server with the topology provisioned, a client
// that publishes tasks as the scheduler would, and a record of every event
// the EVENTS stream stored, in stream order.
type harness struct {
	t   testing.TB
	srv *embedded.Server
	nc  *nats.Conn
	js  jetstream.JetStream

	mu     sync.Mutex
	tasks  []storedTaskEvent
	worker []events.WorkerEvent
}

type storedTaskEvent struct {
	events.TaskEvent
	header nats.Header
}

func newHarness(t testing.TB) *harness {
	t.Helper()
	return newHarnessWith(t, natstest.Topology())
}

// newHarnessWith provisions topo; workers must be configured with it too.
func newHarnessWith(t testing.TB, topo events.Topology) *harness {
	t.Helper()
	srv, _ := natstest.Provisioned(t, topo)
	nc, js := natstest.JetStream(t, srv, "test")
	h := &harness{t: t, srv: srv, nc: nc, js: js}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	oc, err := js.OrderedConsumer(ctx, events.StreamEvents, jetstream.OrderedConsumerConfig{})
	require.NoError(t, err)
	cc, err := oc.Consume(h.record)
	require.NoError(t, err)
	t.Cleanup(cc.Stop)
	return h
}

// record keeps a stored event: a task event (it has a task_id), a worker
// event (no job_id); job events are not needed by these tests.
func (h *harness) record(msg jetstream.Msg) {
	var probe struct {
		JobID  string `json:"job_id"`
		TaskID string `json:"task_id"`
	}
	if err := json.Unmarshal(msg.Data(), &probe); err != nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case probe.TaskID != "":
		e, err := events.DecodeTaskEvent(msg.Data())
		if err == nil {
			h.tasks = append(h.tasks, storedTaskEvent{TaskEvent: e, header: msg.Headers()})
		}
	case probe.JobID == "":
		var e events.WorkerEvent
		if json.Unmarshal(msg.Data(), &e) == nil {
			h.worker = append(h.worker, e)
		}
	}
}

// taskEvents returns the stored task events that match.
func (h *harness) taskEvents(match func(e events.TaskEvent) bool) []storedTaskEvent {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []storedTaskEvent
	for _, e := range h.tasks {
		if match(e.TaskEvent) {
			out = append(out, e)
		}
	}
	return out
}

// find returns the first stored event of a task in state s.
func (h *harness) find(jobID, taskID string, s events.TaskState) (storedTaskEvent, bool) {
	got := h.taskEvents(func(e events.TaskEvent) bool {
		return e.JobID == jobID && e.TaskID == taskID && e.State == s
	})
	if len(got) == 0 {
		return storedTaskEvent{}, false
	}
	return got[0], true
}

// await waits for the first event of a task in state s.
func (h *harness) await(jobID, taskID string, s events.TaskState) storedTaskEvent {
	h.t.Helper()
	var e storedTaskEvent
	require.Eventually(h.t, func() bool {
		var ok bool
		e, ok = h.find(jobID, taskID, s)
		return ok
	}, wait, tick, "no %s event for %s/%s", s, jobID, taskID)
	return e
}

// workerStates returns the lifecycle states a worker announced, in order.
func (h *harness) workerStates(id string) []events.WorkerState {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []events.WorkerState
	for _, e := range h.worker {
		if e.WorkerID == id {
			out = append(out, e.State)
		}
	}
	return out
}

// task returns a valid released task of the default tenant and pool.
func task(jobID, taskID, op string, params string) events.TaskMessage {
	m := events.TaskMessage{
		V: events.Version, Tenant: events.DefaultTenant, JobID: jobID, TaskID: taskID, Op: op,
		Priority: events.PriorityNormal, Pool: events.DefaultPool,
		Attempt: 1, MaxAttempts: 3, ReleasedAt: time.Now().UTC(),
	}
	if params != "" {
		m.Params = json.RawMessage(params)
	}
	return m
}

// publish releases tasks as the scheduler does: stored with a release id,
// then a wake-up signal for the pool.
func (h *harness) publish(tasks ...events.TaskMessage) {
	h.t.Helper()
	h.publishWith(nil, tasks...)
}

func (h *harness) publishWith(header nats.Header, tasks ...events.TaskMessage) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	for _, m := range tasks {
		data, err := json.Marshal(m)
		require.NoError(h.t, err)
		msg := nats.NewMsg(events.TaskSubject(m.Priority, m.Pool))
		msg.Data = data
		for k, v := range header {
			msg.Header[k] = v
		}
		_, err = h.js.PublishMsg(ctx, msg, jetstream.WithMsgID(events.ReleaseMsgID(m.Tenant, m.JobID, m.TaskID, m.Attempt)))
		require.NoError(h.t, err)
	}
	require.NoError(h.t, h.nc.Publish(events.TaskSignalSubject(events.DefaultPool), nil))
}

// config returns a worker config for the test topology.
func config() worker.Config {
	c := worker.DefaultConfig()
	c.Topology = natstest.Topology()
	c.IdlePoll = 100 * time.Millisecond
	c.Capacity = 8
	return c
}

// running is a worker started by a test, on its own connection.
type running struct {
	id     string
	nc     *nats.Conn
	cancel context.CancelFunc
	done   chan error
}

// start runs a worker on its own connection until the test stops it (or
// ends).
func (h *harness) start(cfg worker.Config, ops *worker.Registry) *running {
	h.t.Helper()
	return h.startDeps(cfg, worker.Deps{Ops: ops})
}

// startDeps is start with deps (their NC, JS and Log are the harness's).
func (h *harness) startDeps(cfg worker.Config, deps worker.Deps) *running {
	h.t.Helper()
	nc, js := natstest.JetStream(h.t, h.srv, cfg.ID)
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{id: cfg.ID, nc: nc, cancel: cancel, done: make(chan error, 1)}
	log := zerolog.New(zerolog.NewTestWriter(h.t)).Level(zerolog.InfoLevel)
	go func() {
		deps.NC, deps.JS, deps.Log = nc, js, log
		r.done <- worker.Run(ctx, deps, cfg)
	}()
	h.t.Cleanup(func() {
		cancel()
		<-r.done
	})
	h.awaitRegistered(cfg.ID)
	return r
}

// stop cancels the worker and returns what Run returned.
func (r *running) stop(t testing.TB) error {
	t.Helper()
	r.cancel()
	select {
	case err := <-r.done:
		r.done <- err // for the cleanup
		return err
	case <-time.After(wait):
		t.Fatalf("worker %s did not stop", r.id)
		return nil
	}
}

// awaitRegistered waits for the worker's registration in geo_workers.
func (h *harness) awaitRegistered(id string) {
	h.t.Helper()
	require.Eventually(h.t, func() bool {
		_, err := h.registration(id)
		return err == nil
	}, wait, tick, "worker %s not registered", id)
}

// registration reads a worker's entry in geo_workers.
func (h *harness) registration(id string) (events.WorkerInfo, error) {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	kv, err := h.js.KeyValue(ctx, events.BucketWorkers)
	if err != nil {
		return events.WorkerInfo{}, err
	}
	e, err := kv.Get(ctx, id)
	if err != nil {
		return events.WorkerInfo{}, err
	}
	var info events.WorkerInfo
	err = json.Unmarshal(e.Value(), &info)
	return info, err
}

// isGone reports whether a worker's registration was removed.
func (h *harness) isGone(id string) bool {
	_, err := h.registration(id)
	return errors.Is(err, jetstream.ErrKeyNotFound)
}

// held returns how many tasks of priority p are delivered and not yet
// acked.
func (h *harness) held(p events.Priority) int {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	c, err := h.js.Consumer(ctx, events.TaskStream(p), events.PoolConsumer(events.DefaultPool))
	if err != nil {
		return -1
	}
	info, err := c.Info(ctx)
	if err != nil {
		return -1
	}
	return info.NumAckPending
}

// poolConsumer returns the info of the pool's consumer on priority p.
func (h *harness) poolConsumer(p events.Priority) (*jetstream.ConsumerInfo, error) {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	c, err := h.js.Consumer(ctx, events.TaskStream(p), events.PoolConsumer(events.DefaultPool))
	if err != nil {
		return nil, err
	}
	return c.Info(ctx)
}

// queueEmpty reports whether the pool's consumer on priority p holds no
// task, delivered or not: every task was acked or terminated.
func (h *harness) queueEmpty(p events.Priority) bool {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	c, err := h.js.Consumer(ctx, events.TaskStream(p), events.PoolConsumer(events.DefaultPool))
	if err != nil {
		return false
	}
	info, err := c.Info(ctx)
	return err == nil && info.NumPending == 0 && info.NumAckPending == 0
}

// blockingRegistry has op "block", which returns only when its context is
// done, and the platform's noop.
func blockingRegistry(t *testing.T) *worker.Registry {
	r := worker.NewRegistry()
	require.NoError(t, r.Register("block", func(ctx context.Context, _ worker.Task) (json.RawMessage, error) {
		<-ctx.Done()
		return nil, context.Cause(ctx)
	}))
	require.NoError(t, r.Register(events.OpNoop, func(context.Context, worker.Task) (json.RawMessage, error) { return nil, nil }))
	return r
}

// quickRegistry has op "block" that returns at once with a result.
func quickRegistry(t *testing.T) *worker.Registry {
	r := worker.NewRegistry()
	require.NoError(t, r.Register("block", func(context.Context, worker.Task) (json.RawMessage, error) {
		return json.RawMessage(`{"quick":true}`), nil
	}))
	return r
}
