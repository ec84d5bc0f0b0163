package scheduler_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/geocluster/geocluster/libs/embedded"
	"github.com/geocluster/geocluster/libs/events"
	"github.com/geocluster/geocluster/libs/natstest"
	"github.com/geocluster/geocluster/services/scheduler"
)

// startScheduler runs the scheduler until the returned stop is called; stop
// requires Run to return nil.
func startScheduler(t *testing.T, s *embedded.Server, cfg scheduler.Config) (stop func()) {
	t.Helper()
	nc := natstest.Connect(t, s, "scheduler")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- scheduler.Run(ctx, scheduler.Deps{NC: nc, Log: zerolog.New(zerolog.NewTestWriter(t)).With().Str("r", cfg.ID).Logger()}, cfg)
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			require.NoError(t, <-done)
		})
	}
	t.Cleanup(stop)
	return stop
}

func testConfig() scheduler.Config {
	cfg := scheduler.DefaultConfig()
	cfg.Topology = natstest.Topology()
	return cfg
}

// fakeWorker pulls tasks from every priority and answers as the op says:
// noop succeeds, fail fails, hang never answers. It counts runs per task.
type fakeWorker struct {
	mu   sync.Mutex
	runs map[string]int
}

func runFakeWorker(t *testing.T, s *embedded.Server) *fakeWorker {
	t.Helper()
	_, js := natstest.JetStream(t, s, "fake-worker")
	fw := &fakeWorker{runs: map[string]int{}}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	for _, p := range events.Priorities {
		cons, err := js.Consumer(ctx, events.TaskStream(p), events.PoolConsumer(events.DefaultPool))
		require.NoError(t, err)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				batch, err := cons.Fetch(50, jetstream.FetchMaxWait(200*time.Millisecond))
				if err != nil {
					continue
				}
				for m := range batch.Messages() {
					fw.handle(ctx, js, m)
				}
			}
		}()
	}
	return fw
}

func (fw *fakeWorker) handle(ctx context.Context, js jetstream.JetStream, m jetstream.Msg) {
	tm, err := events.DecodeTask(m.Data())
	if err != nil {
		_ = m.Term()
		return
	}
	fw.mu.Lock()
	fw.runs[tm.TaskID]++
	fw.mu.Unlock()
	ev := events.TaskEvent{V: 1, Tenant: tm.Tenant, JobID: tm.JobID, TaskID: tm.TaskID, Op: tm.Op, Attempt: tm.Attempt, WorkerID: "fake", At: time.Now()}
	switch tm.Op {
	case "noop":
		ev.State = events.TaskSucceeded
		ev.Result = json.RawMessage(`{"ok":true}`)
	case "fail":
		var p events.FailParams
		_ = json.Unmarshal(tm.Params, &p)
		ev.State, ev.Error = events.TaskFailed, fmt.Sprintf("%s (attempt %d)", p.Message, tm.Attempt)
		if p.SucceedOnAttempt > 0 && tm.Attempt >= p.SucceedOnAttempt {
			ev.State, ev.Error = events.TaskSucceeded, ""
		}
	default: // sleep: hold the task and never answer
		return
	}
	data, _ := json.Marshal(ev)
	if _, err := js.Publish(ctx, events.TaskEventSubject(ev.Tenant, ev.JobID, ev.State), data); err == nil {
		_ = m.Ack()
	}
}

// collector records every event of the EVENTS stream.
type collector struct {
	mu   sync.Mutex
	msgs []*nats.Msg
}

func collect(t *testing.T, s *embedded.Server) *collector {
	t.Helper()
	nc := natstest.Connect(t, s, "collector")
	c := &collector{}
	for _, subj := range []string{"geo.events.>", "geo.dlq.>"} {
		_, err := nc.Subscribe(subj, func(m *nats.Msg) {
			c.mu.Lock()
			c.msgs = append(c.msgs, m)
			c.mu.Unlock()
		})
		require.NoError(t, err)
	}
	require.NoError(t, nc.Flush())
	return c
}

func (c *collector) jobEvent(id string, state events.JobState) (events.JobEvent, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, m := range c.msgs {
		if m.Subject == fmt.Sprintf("geo.events.default.job.%s.%s", id, state) {
			ev, err := events.DecodeJobEvent(m.Data)
			return ev, err == nil
		}
	}
	return events.JobEvent{}, false
}

func (c *collector) count(subject string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, m := range c.msgs {
		if m.Subject == subject {
			n++
		}
	}
	return n
}

func (c *collector) deadLetters() []events.DeadLetter {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []events.DeadLetter
	for _, m := range c.msgs {
		var dl events.DeadLetter
		if len(m.Subject) > 8 && m.Subject[:8] == "geo.dlq." && json.Unmarshal(m.Data, &dl) == nil {
			out = append(out, dl)
		}
	}
	return out
}

func waitJob(t *testing.T, c *collector, id string, state events.JobState) events.JobEvent {
	t.Helper()
	var ev events.JobEvent
	require.Eventually(t, func() bool {
		var ok bool
		ev, ok = c.jobEvent(id, state)
		return ok
	}, 30*time.Second, 10*time.Millisecond, "job %s never reached %s", id, state)
	return ev
}

func publishJob(t *testing.T, js jetstream.JetStream, body string) {
	t.Helper()
	_, err := js.Publish(context.Background(), events.JobSubmitSubject("default"), []byte(body))
	require.NoError(t, err)
}

func TestRunCompletesADiamondDAG(t *testing.T) {
	t.Parallel()
	s, js := natstest.Provisioned(t, natstest.Topology())
	col := collect(t, s)
	fw := runFakeWorker(t, s)
	stop := startScheduler(t, s, testConfig())
	publishJob(t, js, `{"id":"diamond","tasks":[
		{"id":"a","op":"noop"},
		{"id":"b","op":"noop","deps":["a"]},{"id":"c","op":"noop","deps":["a"],"priority":"high"},
		{"id":"d","op":"noop","deps":["b","c"]}]}`)
	ev := waitJob(t, col, "diamond", events.JobSucceeded)
	assert.Equal(t, 4, ev.Counts.Succeeded)
	kv, err := js.KeyValue(context.Background(), events.BucketJobs)
	require.NoError(t, err)
	// The record follows the event within the same flush (events are
	// stored first, records right after: docs/protocol.md).
	var rec events.JobRecord
	require.Eventually(t, func() bool {
		e, err := kv.Get(context.Background(), "default.diamond")
		return err == nil && json.Unmarshal(e.Value(), &rec) == nil && rec.State == events.JobSucceeded
	}, 10*time.Second, 5*time.Millisecond)
	assert.NotNil(t, rec.FinishedAt)
	fw.mu.Lock()
	assert.Equal(t, map[string]int{"a": 1, "b": 1, "c": 1, "d": 1}, fw.runs)
	fw.mu.Unlock()
	stop()
}

func TestBadJobsAreRejectedNamingTheProblem(t *testing.T) {
	t.Parallel()
	s, js := natstest.Provisioned(t, natstest.Topology())
	col := collect(t, s)
	runFakeWorker(t, s)
	startScheduler(t, s, testConfig())
	cases := []struct{ id, body, field, contains string }{
		{"cyc", `{"id":"cyc","tasks":[{"id":"a","op":"noop","deps":["c"]},{"id":"b","op":"noop","deps":["a"]},{"id":"c","op":"noop","deps":["b"]}]}`, "tasks[0].deps", "cycle"},
		{"unk", `{"id":"unk","tasks":[{"id":"a","op":"teleport"}]}`, "tasks[0].op", `unknown op "teleport"`},
		{"dang", `{"id":"dang","tasks":[{"id":"a","op":"noop","deps":["zz"]}]}`, "tasks[0].deps[0]", "dangling"},
		{"badparams", `{"id":"badparams","tasks":[{"id":"a","op":"sleep","params":{"duration_ms":"x"}}]}`, "tasks[0].params.duration_ms", "expected"},
	}
	for _, c := range cases {
		publishJob(t, js, c.body)
	}
	for _, c := range cases {
		ev := waitJob(t, col, c.id, events.JobRejected)
		assert.Equal(t, c.field, ev.Field, c.id)
		assert.Contains(t, ev.Error, c.contains, c.id)
	}
	// Malformed JSON with a message id: the rejection is found by that id.
	_, err := js.PublishMsg(context.Background(), &nats.Msg{Subject: events.JobSubmitSubject("default"), Data: []byte(`{"tasks":[`)}, jetstream.WithMsgID("broken"))
	require.NoError(t, err)
	ev := waitJob(t, col, "broken", events.JobRejected)
	assert.Contains(t, ev.Error, "malformed JSON")
	assert.NotZero(t, ev.SubmitSeq)
	// The scheduler keeps serving.
	publishJob(t, js, `{"id":"after","tasks":[{"id":"a","op":"noop"}]}`)
	waitJob(t, col, "after", events.JobSucceeded)
}

func TestFailingTaskIsRetriedThenDeadLettered(t *testing.T) {
	t.Parallel()
	s, js := natstest.Provisioned(t, natstest.Topology())
	col := collect(t, s)
	runFakeWorker(t, s)
	startScheduler(t, s, testConfig())
	publishJob(t, js, `{"id":"f","max_attempts":3,"retry":{"initial_ms":10,"max_ms":50},
		"tasks":[{"id":"a","op":"noop"},{"id":"bad","op":"fail","params":{"message":"boom"},"deps":["a"]},{"id":"after","op":"noop","deps":["bad"]}]}`)
	ev := waitJob(t, col, "f", events.JobFailed)
	assert.Equal(t, 2, col.count("geo.events.default.task.f.retrying"))
	assert.Equal(t, 1, col.count("geo.events.default.task.f.deadlettered"))
	assert.Contains(t, ev.Error, "task bad dead-lettered after 3 attempts: boom (attempt 3)")
	require.Eventually(t, func() bool { return len(col.deadLetters()) == 1 }, 10*time.Second, 10*time.Millisecond)
	dl := col.deadLetters()[0]
	assert.Equal(t, "bad", dl.Task.TaskID)
	assert.Equal(t, 3, dl.Attempts)
	require.Len(t, dl.Errors, 3)
	assert.Equal(t, "boom (attempt 1)", dl.Errors[0].Error)
	assert.Equal(t, "boom (attempt 3)", dl.LastError)
	assert.Equal(t, 1, ev.Counts.Succeeded)
	assert.Equal(t, 1, ev.Counts.Failed)
	assert.Equal(t, 1, ev.Counts.Cancelled)
}

func TestRetryRecoversAndContinuePolicySkipsDependents(t *testing.T) {
	t.Parallel()
	s, js := natstest.Provisioned(t, natstest.Topology())
	col := collect(t, s)
	runFakeWorker(t, s)
	startScheduler(t, s, testConfig())
	publishJob(t, js, `{"id":"c","on_failure":"continue","retry":{"initial_ms":5},"tasks":[
		{"id":"flaky","op":"fail","params":{"succeed_on_attempt":2}},
		{"id":"dead","op":"fail","max_attempts":1},
		{"id":"child","op":"noop","deps":["dead"]},{"id":"grandchild","op":"noop","deps":["child"]},
		{"id":"free","op":"noop","deps":["flaky"]}]}`)
	ev := waitJob(t, col, "c", events.JobFailed)
	assert.Equal(t, events.TaskCounts{Succeeded: 2, Failed: 1, Skipped: 2}, ev.Counts)
	assert.Equal(t, 2, col.count("geo.events.default.task.c.skipped"))
}

func TestCancelStopsReleasing(t *testing.T) {
	t.Parallel()
	s, js := natstest.Provisioned(t, natstest.Topology())
	col := collect(t, s)
	runFakeWorker(t, s)
	startScheduler(t, s, testConfig())
	publishJob(t, js, `{"id":"k","tasks":[{"id":"hold","op":"sleep","params":{"duration_ms":60000}},{"id":"next","op":"noop","deps":["hold"]}]}`)
	waitJob(t, col, "k", events.JobAccepted)
	_, err := js.Publish(context.Background(), events.JobCancelSubject("default"), []byte(`{"job_id":"k","reason":"test"}`))
	require.NoError(t, err)
	ev := waitJob(t, col, "k", events.JobCancelled)
	assert.Equal(t, 2, ev.Counts.Cancelled)
	assert.Equal(t, "test", ev.Error)
}

func TestRestartedSchedulerContinuesFromKV(t *testing.T) {
	t.Parallel()
	s, js := natstest.Provisioned(t, natstest.Topology())
	col := collect(t, s)
	stop := startScheduler(t, s, testConfig())
	publishJob(t, js, `{"id":"r","tasks":[{"id":"a","op":"noop"},{"id":"b","op":"noop","deps":["a"]},{"id":"c","op":"noop","deps":["b"]}]}`)
	waitJob(t, col, "r", events.JobAccepted)
	stop() // no worker has run anything yet; task a is queued
	fw := runFakeWorker(t, s)
	startScheduler(t, s, testConfig())
	waitJob(t, col, "r", events.JobSucceeded)
	fw.mu.Lock()
	assert.Equal(t, map[string]int{"a": 1, "b": 1, "c": 1}, fw.runs)
	fw.mu.Unlock()
}

func TestAPISubmitGetListCancel(t *testing.T) {
	t.Parallel()
	s, _ := natstest.Provisioned(t, natstest.Topology())
	col := collect(t, s)
	runFakeWorker(t, s)
	startScheduler(t, s, testConfig())
	nc := natstest.Connect(t, s, "client")
	req := func(verb string, body string) *nats.Msg {
		t.Helper()
		var m *nats.Msg
		require.Eventually(t, func() bool {
			var err error
			m, err = nc.Request(events.APISubject("default", verb), []byte(body), 5*time.Second)
			return !errors.Is(err, nats.ErrNoResponders) && err == nil
		}, 10*time.Second, 20*time.Millisecond)
		return m
	}
	// Validation errors come back synchronously, naming the field.
	m := req("submit", `{"tasks":[{"id":"a","op":"noop","deps":["a"]}]}`)
	assert.Equal(t, "400", m.Header.Get("Nats-Service-Error-Code"))
	var apiErr events.APIError
	require.NoError(t, json.Unmarshal(m.Data, &apiErr))
	assert.Equal(t, "tasks[0].deps[0]", apiErr.Field)
	m = req("submit", `not json`)
	assert.Equal(t, "400", m.Header.Get("Nats-Service-Error-Code"))
	assert.Contains(t, string(m.Data), "malformed JSON")

	m = req("submit", `{"name":"api job","tasks":[{"id":"a","op":"noop"}]}`)
	require.Empty(t, m.Header.Get("Nats-Service-Error-Code"), string(m.Data))
	var sr events.SubmitReply
	require.NoError(t, json.Unmarshal(m.Data, &sr))
	require.True(t, events.ValidToken(sr.JobID))
	waitJob(t, col, sr.JobID, events.JobSucceeded)

	var gr events.GetReply
	require.Eventually(t, func() bool { // the record follows the event
		m = req("get", fmt.Sprintf(`{"job_id":%q,"tasks":true}`, sr.JobID))
		return json.Unmarshal(m.Data, &gr) == nil && gr.Job.State == events.JobSucceeded
	}, 10*time.Second, 5*time.Millisecond)
	require.Len(t, gr.Tasks, 1)
	assert.JSONEq(t, `{"ok":true}`, string(gr.Tasks[0].Result))

	m = req("get", `{"job_id":"nope"}`)
	assert.Equal(t, "404", m.Header.Get("Nats-Service-Error-Code"))

	m = req("list", `{}`)
	var lr events.ListReply
	require.NoError(t, json.Unmarshal(m.Data, &lr))
	require.Len(t, lr.Jobs, 1)
	assert.Equal(t, "api job", lr.Jobs[0].Name)

	m = req("cancel", fmt.Sprintf(`{"job_id":%q}`, sr.JobID))
	assert.Equal(t, "409", m.Header.Get("Nats-Service-Error-Code"))
}

// TestRecoveryFinishesAJobWhoseDeadLetterWasHalfStored: a crash stored the
// dead task's record but not the rest of its transition; the next scheduler
// applies the job's failure policy from the records.
func TestRecoveryFinishesAJobWhoseDeadLetterWasHalfStored(t *testing.T) {
	t.Parallel()
	s, js := natstest.Provisioned(t, natstest.Topology())
	col := collect(t, s)
	ctx := context.Background()
	jobs, err := js.KeyValue(ctx, events.BucketJobs)
	require.NoError(t, err)
	tasks, err := js.KeyValue(ctx, events.BucketTasks)
	require.NoError(t, err)
	now := time.Now().UTC()
	put := func(kv jetstream.KeyValue, key string, v any) {
		data, err := json.Marshal(v)
		require.NoError(t, err)
		_, err = kv.Put(ctx, key, data)
		require.NoError(t, err)
	}
	spec := func(id string, deps ...string) events.TaskSpec {
		return events.TaskSpec{ID: id, Op: "noop", Deps: deps, Priority: events.PriorityNormal, Pool: "default", MaxAttempts: 1}
	}
	put(jobs, "default.half", events.JobRecord{V: 1, ID: "half", Tenant: "default", State: events.JobRunning, OnFailure: events.FailJob, Total: 2, SubmittedAt: now})
	put(tasks, "default.half.a", events.TaskRecord{V: 1, Spec: spec("a"), State: events.TaskFailed, Attempt: 1,
		Errors: []events.AttemptError{{Attempt: 1, Error: "boom", At: now}}})
	put(tasks, "default.half.b", events.TaskRecord{V: 1, Spec: spec("b", "a"), State: events.TaskPending})
	startScheduler(t, s, testConfig())
	ev := waitJob(t, col, "half", events.JobFailed)
	assert.Contains(t, ev.Error, "task a dead-lettered after 1 attempts: boom")
	assert.Equal(t, 1, ev.Counts.Cancelled)
}

func (fw *fakeWorker) runsOf(task string) int {
	fw.mu.Lock()
	defer fw.mu.Unlock()
	return fw.runs[task]
}

func (fw *fakeWorker) total() int {
	fw.mu.Lock()
	defer fw.mu.Unlock()
	n := 0
	for _, r := range fw.runs {
		n += r
	}
	return n
}
