package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nats.go/micro"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/geocluster/geocluster/libs/events"
	"github.com/geocluster/geocluster/libs/natstest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m, natstest.KnownLeak) }

// cluster is a provisioned embedded server and a test connection to it.
type cluster struct {
	url string
	nc  *nats.Conn
	js  jetstream.JetStream
}

func newCluster(t *testing.T) *cluster {
	t.Helper()
	s, _ := natstest.Provisioned(t, natstest.Topology())
	nc, js := natstest.JetStream(t, s, "test")
	return &cluster{url: s.ClientURL(), nc: nc, js: js}
}

// syncBuffer is a bytes.Buffer safe for a writer and a polling reader.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// invocation is one geoctl run in the background.
type invocation struct {
	stdout, stderr syncBuffer
	done           chan error
	cancel         context.CancelFunc
}

// start runs geoctl with args against c in the background; env adds
// environment variables to NATS_URL.
func (c *cluster) start(t *testing.T, stdin string, env map[string]string, args ...string) *invocation {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	inv := &invocation{done: make(chan error, 1), cancel: cancel}
	getenv := func(k string) string {
		if k == envServer {
			return c.url
		}
		return env[k]
	}
	go func() { inv.done <- run(ctx, args, getenv, strings.NewReader(stdin), &inv.stdout, &inv.stderr) }()
	t.Cleanup(func() {
		cancel()
		<-inv.done
	})
	return inv
}

// wait returns the run's error once it ended.
func (inv *invocation) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-inv.done:
		inv.done <- err // for the cleanup
		return err
	case <-time.After(30 * time.Second):
		t.Fatal("geoctl did not return")
		return nil
	}
}

// waitOutput waits until stdout is want; it fails at once if the run ends.
func (inv *invocation) waitOutput(t *testing.T, want string) {
	t.Helper()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(10 * time.Second)
	for inv.stdout.String() != want {
		select {
		case err := <-inv.done:
			inv.done <- err
			t.Fatalf("geoctl ended early: error %v, stdout %q", err, inv.stdout.String())
		case <-deadline:
			t.Fatalf("stdout is %q, want %q", inv.stdout.String(), want)
		case <-tick.C:
		}
	}
}

// run runs geoctl with args to its end.
func (c *cluster) run(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	inv := c.start(t, "", nil, args...)
	err = inv.wait(t)
	return inv.stdout.String(), inv.stderr.String(), err
}

// fakeAPI is a stand-in for the scheduler's micro service: canned handlers
// on the API subjects of one tenant, recording the requests.
type fakeAPI struct {
	mu       sync.Mutex
	requests map[string][][]byte
}

func (c *cluster) fakeAPI(t *testing.T, tenant string, handlers map[string]micro.HandlerFunc) *fakeAPI {
	t.Helper()
	svc, err := micro.AddService(c.nc, micro.Config{Name: events.APIServiceName, Version: "0.0.1"})
	require.NoError(t, err)
	t.Cleanup(func() { _ = svc.Stop() })
	f := &fakeAPI{requests: map[string][][]byte{}}
	for verb, h := range handlers {
		record := func(r micro.Request) {
			f.mu.Lock()
			f.requests[verb] = append(f.requests[verb], r.Data())
			f.mu.Unlock()
			h(r)
		}
		require.NoError(t, svc.AddEndpoint(verb, micro.HandlerFunc(record), micro.WithEndpointSubject(events.APISubject(tenant, verb))))
	}
	require.NoError(t, c.nc.Flush()) // the server has the endpoints' subscriptions
	return f
}

// request decodes the only request received for verb into v.
func (f *fakeAPI) request(t *testing.T, verb string, v any) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	require.Len(t, f.requests[verb], 1, verb)
	require.NoError(t, json.Unmarshal(f.requests[verb][0], v))
}

func reply(v any) micro.HandlerFunc {
	return func(r micro.Request) { _ = r.RespondJSON(v) }
}

func fail(e events.APIError) micro.HandlerFunc {
	return func(r micro.Request) {
		body, _ := json.Marshal(e)
		_ = r.Error(strconv.Itoa(e.Code), e.Error, body)
	}
}

// putJob stores rec in geo_jobs as the scheduler would.
func (c *cluster) putJob(t *testing.T, rec events.JobRecord) {
	t.Helper()
	c.put(t, events.BucketJobs, events.JobKey(rec.Tenant, rec.ID), rec)
}

func (c *cluster) put(t *testing.T, bucket, key string, v any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	kv, err := c.js.KeyValue(ctx, bucket)
	require.NoError(t, err)
	data, err := json.Marshal(v)
	require.NoError(t, err)
	_, err = kv.Put(ctx, key, data)
	require.NoError(t, err)
}

// publish stores v as JSON on subject.
func (c *cluster) publish(t *testing.T, subject string, v any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	data, err := json.Marshal(v)
	require.NoError(t, err)
	_, err = c.js.Publish(ctx, subject, data)
	require.NoError(t, err)
}

// jobRecord returns a record of job id of the default tenant with total
// tasks, done of them succeeded and running of them running.
func jobRecord(id string, state events.JobState, total, done, running int) events.JobRecord {
	now := time.Now()
	rec := events.JobRecord{
		V: events.Version, ID: id, Tenant: events.DefaultTenant, Name: "test job", State: state,
		Priority: events.PriorityNormal, OnFailure: events.FailJob, Total: total,
		Counts:      events.TaskCounts{Succeeded: done, Running: running, Pending: total - done - running},
		SubmittedAt: now.Add(-2 * time.Second), UpdatedAt: now,
	}
	if state.Terminal() {
		rec.FinishedAt = &now
	}
	return rec
}
