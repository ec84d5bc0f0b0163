package e2e_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/geocluster/geocluster/libs/events"
)

// fanJob builds root -> maps -> reducers (one per group of maps) -> sink: a
// DAG with fan-out and fan-in.
func fanJob(id, op string, maps, group int) events.JobSpec {
	job := events.JobSpec{ID: id, Tasks: []events.TaskSpec{{ID: "root", Op: op}}}
	var reducers []string
	for r := 0; r*group < maps; r++ {
		rid := fmt.Sprintf("reduce-%03d", r)
		var deps []string
		for m := r * group; m < min((r+1)*group, maps); m++ {
			mid := fmt.Sprintf("map-%04d", m)
			job.Tasks = append(job.Tasks, events.TaskSpec{ID: mid, Op: op, Deps: []string{"root"}})
			deps = append(deps, mid)
		}
		job.Tasks = append(job.Tasks, events.TaskSpec{ID: rid, Op: op, Deps: deps})
		reducers = append(reducers, rid)
	}
	job.Tasks = append(job.Tasks, events.TaskSpec{ID: "sink", Op: op, Deps: reducers})
	return job
}

func TestThousandTaskDAGRunsEveryTaskExactlyOnce(t *testing.T) {
	t.Parallel()
	c := newCounter()
	cl := start(t, 3, c.registry(t), nil)
	job := fanJob("dag1000", "record", 950, 20) // 1 + 950 + 48 + 1 = 1000 tasks
	require.Equal(t, 1000, len(job.Tasks))
	cl.submit(t, job)
	rec := cl.waitJob(t, job.ID, 2*time.Minute)
	require.Equal(t, events.JobSucceeded, rec.State, rec.Error)
	assert.Equal(t, 1000, rec.Counts.Succeeded)
	assert.Equal(t, 1000, rec.Total)

	runs, order := c.snapshot()
	require.Equal(t, 1000, len(runs))
	for id, n := range runs {
		assert.Equal(t, 1, n, "task %s ran %d times", id, n)
	}
	// Dependencies held: every task completed after all of its deps.
	pos := map[string]int{}
	for i, k := range order {
		pos[k] = i
	}
	for _, ts := range job.Tasks {
		for _, d := range ts.Deps {
			assert.Less(t, pos[job.ID+"/"+d], pos[job.ID+"/"+ts.ID], "%s ran before its dep %s", ts.ID, d)
		}
	}
	// One succeeded event per task in the EVENTS stream, and the job's.
	evs := cl.eventsOf(t, job.ID)
	succeeded := taskEvents(t, evs, events.TaskSucceeded)
	perTask := map[string]int{}
	for _, ev := range succeeded {
		perTask[ev.TaskID]++
	}
	assert.Equal(t, 1000, len(perTask))
	for id, n := range perTask {
		assert.Equal(t, 1, n, "task %s has %d succeeded events", id, n)
	}
	// Several workers shared the work.
	workers := map[string]bool{}
	for _, ev := range succeeded {
		workers[ev.WorkerID] = true
	}
	assert.GreaterOrEqual(t, len(workers), 2)
}

func TestFailingTaskIsRetriedThenDeadLetteredWithItsError(t *testing.T) {
	t.Parallel()
	cl := start(t, 2, nil, nil)
	job := events.JobSpec{ID: "failing", MaxAttempts: 4, Retry: &events.RetryPolicy{InitialMS: 20, MaxMS: 100},
		Tasks: []events.TaskSpec{
			{ID: "ok", Op: "noop"},
			{ID: "bad", Op: "fail", Params: json.RawMessage(`{"message":"disk on fire"}`), Deps: []string{"ok"}},
			{ID: "never", Op: "noop", Deps: []string{"bad"}},
		}}
	cl.submit(t, job)
	rec := cl.waitJob(t, job.ID, time.Minute)
	assert.Equal(t, events.JobFailed, rec.State)
	assert.Contains(t, rec.Error, "task bad dead-lettered after 4 attempts: disk on fire")
	evs := cl.eventsOf(t, job.ID)
	assert.Len(t, taskEvents(t, evs, events.TaskFailed), 4, "one failed event per attempt")
	assert.Len(t, taskEvents(t, evs, events.TaskRetrying), 3)
	assert.Len(t, taskEvents(t, evs, events.TaskDeadLettered), 1)

	// The dead letter holds the task, every attempt's error and the last one.
	st, err := cl.js.Stream(t.Context(), events.StreamDLQ)
	require.NoError(t, err)
	var dl events.DeadLetter
	require.Eventually(t, func() bool {
		m, err := st.GetLastMsgForSubject(t.Context(), events.DLQSubject(events.DefaultTenant, events.PriorityNormal))
		return err == nil && json.Unmarshal(m.Data, &dl) == nil
	}, 10*time.Second, 20*time.Millisecond)
	assert.Equal(t, "bad", dl.Task.TaskID)
	assert.Equal(t, 4, dl.Attempts)
	assert.Equal(t, "disk on fire", dl.LastError)
	require.Len(t, dl.Errors, 4)
	for i, e := range dl.Errors {
		assert.Equal(t, i+1, e.Attempt)
		assert.NotEmpty(t, e.WorkerID)
	}
}

func TestBadJobsAreRejectedAndTheClusterKeepsServing(t *testing.T) {
	t.Parallel()
	cl := start(t, 1, nil, nil)
	// Through the API: a synchronous error naming the problem.
	for _, c := range []struct{ body, field, text string }{
		{`{"tasks":[{"id":"a","op":"noop","deps":["b"]},{"id":"b","op":"noop","deps":["a"]}]}`, "tasks[0].deps", "dependency cycle: a -> b -> a"},
		{`{"tasks":[{"id":"a","op":"warp"}]}`, "tasks[0].op", `unknown op "warp"`},
		{`{"tasks":[{"id":"a","op":"noop"}`, "", "malformed JSON"},
	} {
		m := cl.api(t, events.APIVerbSubmit, []byte(c.body))
		assert.Equal(t, "400", m.Header.Get("Nats-Service-Error-Code"), c.body)
		var e events.APIError
		require.NoError(t, json.Unmarshal(m.Data, &e))
		assert.Equal(t, c.field, e.Field)
		assert.Contains(t, e.Error, c.text)
	}
	// Through the stream: a rejected event on the job's subject.
	sub, err := cl.nc.SubscribeSync("geo.events.default.job.*.rejected")
	require.NoError(t, err)
	require.NoError(t, cl.nc.Flush())
	for _, body := range []string{
		`{"id":"cyc","tasks":[{"id":"a","op":"noop","deps":["a2"]},{"id":"a2","op":"noop","deps":["a"]}]}`,
		`{"id":"unk","tasks":[{"id":"a","op":"warp"}]}`,
	} {
		_, err := cl.js.Publish(t.Context(), events.JobSubmitSubject("default"), []byte(body))
		require.NoError(t, err)
	}
	_, err = cl.js.Publish(t.Context(), events.JobSubmitSubject("default"), []byte(`{{{`), jetstream.WithMsgID("garbled"))
	require.NoError(t, err)
	want := map[string]string{"cyc": "dependency cycle", "unk": `unknown op "warp"`, "garbled": "malformed JSON"}
	for range want {
		m, err := sub.NextMsg(10 * time.Second)
		require.NoError(t, err)
		ev, err := events.DecodeJobEvent(m.Data)
		require.NoError(t, err)
		assert.Contains(t, ev.Error, want[ev.JobID], ev.JobID)
	}
	// Nothing rejected was stored, and a good job still runs.
	_, stored := cl.job(t, "cyc")
	assert.False(t, stored)
	cl.submit(t, events.JobSpec{ID: "good", Tasks: []events.TaskSpec{{ID: "a", Op: "noop"}}})
	assert.Equal(t, events.JobSucceeded, cl.waitJob(t, "good", 30*time.Second).State)
}
