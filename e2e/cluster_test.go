package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/geocluster/geocluster/internal/onebox"
	"github.com/geocluster/geocluster/libs/events"
	"github.com/geocluster/geocluster/libs/natstest"
	"github.com/geocluster/geocluster/services/worker"
)

// counter is an op registry for tests: the platform ops plus "record",
// which counts its runs per task id and remembers the order of completions.
type counter struct {
	mu    sync.Mutex
	runs  map[string]int
	order []string // "<job>/<task>" in completion order
	// block, when set, is called before a run completes.
	block func(ctx context.Context, t worker.Task) error
}

func newCounter() *counter { return &counter{runs: map[string]int{}} }

func (c *counter) registry(t *testing.T) *worker.Registry {
	r := worker.PlatformRegistry()
	require.NoError(t, r.Register("record", func(ctx context.Context, tk worker.Task) (json.RawMessage, error) {
		if c.block != nil {
			if err := c.block(ctx, tk); err != nil {
				return nil, err
			}
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		c.runs[tk.JobID+"/"+tk.TaskID]++
		c.order = append(c.order, tk.JobID+"/"+tk.TaskID)
		return json.RawMessage(fmt.Sprintf(`{"worker":%q}`, tk.WorkerID)), nil
	}))
	return r
}

func (c *counter) snapshot() (map[string]int, []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	runs := make(map[string]int, len(c.runs))
	for k, v := range c.runs {
		runs[k] = v
	}
	return runs, append([]string(nil), c.order...)
}

type testCluster struct {
	*onebox.Cluster
	nc *nats.Conn
	js jetstream.JetStream
}

// start runs a cluster with test settings; tweak adjusts the config.
func start(t *testing.T, workers int, ops *worker.Registry, tweak func(*onebox.Config)) *testCluster {
	t.Helper()
	cfg := onebox.DefaultConfig()
	cfg.Port = -1
	cfg.Workers = workers
	cfg.Topology = natstest.Topology()
	cfg.Worker.DrainTimeout = time.Second
	cfg.Ops = ops
	cfg.Scheduler.Ops["record"] = func(json.RawMessage) error { return nil }
	if tweak != nil {
		tweak(&cfg)
	}
	cl, err := onebox.Start(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, cl.Stop()) })
	nc := natstest.Dial(t, cl.URL(), "e2e-client")
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	return &testCluster{Cluster: cl, nc: nc, js: js}
}

// submit publishes a job on the JOBS stream, as any client would.
func (c *testCluster) submit(t *testing.T, job events.JobSpec) {
	t.Helper()
	data, err := json.Marshal(job)
	require.NoError(t, err)
	_, err = c.js.Publish(context.Background(), events.JobSubmitSubject(events.DefaultTenant), data, jetstream.WithMsgID(job.ID))
	require.NoError(t, err)
}

// api calls the jobs API and returns the reply message.
func (c *testCluster) api(t *testing.T, verb string, body []byte) *nats.Msg {
	t.Helper()
	var m *nats.Msg
	require.Eventually(t, func() bool {
		var err error
		m, err = c.nc.Request(events.APISubject(events.DefaultTenant, verb), body, 5*time.Second)
		return err == nil
	}, 10*time.Second, 20*time.Millisecond)
	return m
}

// job reads a job record from geo_jobs.
func (c *testCluster) job(t *testing.T, id string) (events.JobRecord, bool) {
	t.Helper()
	kv, err := c.js.KeyValue(context.Background(), events.BucketJobs)
	require.NoError(t, err)
	e, err := kv.Get(context.Background(), events.JobKey(events.DefaultTenant, id))
	if err != nil {
		return events.JobRecord{}, false
	}
	var rec events.JobRecord
	require.NoError(t, json.Unmarshal(e.Value(), &rec))
	return rec, true
}

// waitJob waits until the job reaches a terminal state and returns it.
func (c *testCluster) waitJob(t *testing.T, id string, within time.Duration) events.JobRecord {
	t.Helper()
	var rec events.JobRecord
	require.Eventually(t, func() bool {
		r, ok := c.job(t, id)
		rec = r
		return ok && r.State.Terminal()
	}, within, 20*time.Millisecond, "job %s did not finish; last record %+v", id, rec)
	return rec
}

// eventsOf reads every event of a job stored in the EVENTS stream.
func (c *testCluster) eventsOf(t *testing.T, id string) []jetstream.Msg {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cons, err := c.js.OrderedConsumer(ctx, events.StreamEvents, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{events.JobEventsFilter(events.DefaultTenant, id)},
	})
	require.NoError(t, err)
	info, err := cons.Info(ctx)
	require.NoError(t, err)
	var out []jetstream.Msg
	for pending := info.NumPending; uint64(len(out)) < pending; {
		batch, err := cons.Fetch(1000, jetstream.FetchMaxWait(time.Second))
		require.NoError(t, err)
		for m := range batch.Messages() {
			out = append(out, m)
		}
	}
	return out
}

func taskEvents(t *testing.T, msgs []jetstream.Msg, state events.TaskState) []events.TaskEvent {
	t.Helper()
	var out []events.TaskEvent
	for _, m := range msgs {
		var ev events.TaskEvent
		if json.Unmarshal(m.Data(), &ev) == nil && ev.TaskID != "" && ev.State == state {
			out = append(out, ev)
		}
	}
	return out
}
