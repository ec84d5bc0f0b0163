package e2e_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/geocluster/geocluster/internal/onebox"
	"github.com/geocluster/geocluster/libs/events"
	"github.com/geocluster/geocluster/services/worker"
)

func TestKilledWorkerTaskCompletesElsewhere(t *testing.T) {
	t.Parallel()
	c := newCounter()
	var mu sync.Mutex
	firstWorker := ""
	holding := make(chan string, 1)
	// The first run blocks (the worker that holds it gets killed); any later
	// run completes at once.
	c.block = func(ctx context.Context, tk worker.Task) error {
		mu.Lock()
		first := firstWorker == ""
		if first {
			firstWorker = tk.WorkerID
		}
		mu.Unlock()
		if !first {
			return nil
		}
		holding <- tk.WorkerID
		<-ctx.Done()
		return ctx.Err()
	}
	cl := start(t, 2, c.registry(t), nil)
	cl.submit(t, events.JobSpec{ID: "survivor", Tasks: []events.TaskSpec{
		{ID: "long", Op: "record"}, {ID: "after", Op: "record", Deps: []string{"long"}},
	}})
	var victim string
	select {
	case victim = <-holding:
	case <-time.After(30 * time.Second):
		t.Fatal("no worker started the task")
	}
	killedAt := time.Now()
	require.NoError(t, cl.KillService(victim))

	rec := cl.waitJob(t, "survivor", time.Minute)
	require.Equal(t, events.JobSucceeded, rec.State, rec.Error)
	t.Logf("task back on another worker %s after the kill (ack wait %s)", time.Since(killedAt).Round(time.Millisecond), natstestAckWait)
	evs := cl.eventsOf(t, "survivor")
	var winner string
	for _, ev := range taskEvents(t, evs, events.TaskSucceeded) {
		if ev.TaskID == "long" {
			winner = ev.WorkerID
		}
	}
	assert.NotEmpty(t, winner)
	assert.NotEqual(t, victim, winner, "the task completed on the killed worker")
	runs, _ := c.snapshot()
	assert.Equal(t, 1, runs["survivor/long"], "exactly one run completed")
	assert.Equal(t, 1, runs["survivor/after"])
}

const natstestAckWait = "2s"

func TestHigherPrioritiesFinishFirstAndLowStillProgresses(t *testing.T) {
	t.Parallel()
	c := newCounter()
	// Each run takes a moment so that the backlog stays a backlog.
	c.block = func(ctx context.Context, _ worker.Task) error {
		select {
		case <-time.After(2 * time.Millisecond):
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	cl := start(t, 0, c.registry(t), func(cfg *onebox.Config) {
		cfg.Worker.Capacity = 1 // one task at a time makes the order the policy's
	})
	const per = 40
	for _, p := range events.Priorities {
		job := events.JobSpec{ID: "prio-" + string(p), Priority: p}
		for i := range per {
			job.Tasks = append(job.Tasks, events.TaskSpec{ID: fmt.Sprintf("t%02d", i), Op: "record"})
		}
		cl.submit(t, job)
	}
	// Wait until every task is queued, then start the only worker.
	require.Eventually(t, func() bool {
		for _, p := range events.Priorities {
			r, ok := cl.job(t, "prio-"+string(p))
			if !ok || r.Counts.Queued != per {
				return false
			}
		}
		return true
	}, 30*time.Second, 20*time.Millisecond)
	_, err := cl.AddWorker()
	require.NoError(t, err)
	for _, p := range events.Priorities {
		require.Equal(t, events.JobSucceeded, cl.waitJob(t, "prio-"+string(p), time.Minute).State)
	}
	_, order := c.snapshot()
	require.Equal(t, 4*per, len(order))
	first, last := map[string]int{}, map[string]int{}
	for i, k := range order {
		job := k[:len(k)-4]
		if _, ok := first[job]; !ok {
			first[job] = i
		}
		last[job] = i
	}
	t.Logf("completion index first/last: critical %d/%d high %d/%d normal %d/%d low %d/%d",
		first["prio-critical"], last["prio-critical"], first["prio-high"], last["prio-high"],
		first["prio-normal"], last["prio-normal"], first["prio-low"], last["prio-low"])
	// Higher priorities finish first…
	assert.Less(t, last["prio-critical"], last["prio-high"])
	assert.Less(t, last["prio-high"], last["prio-normal"])
	assert.Less(t, last["prio-normal"], last["prio-low"])
	// …and low priority still progresses while urgent work is waiting.
	assert.Less(t, first["prio-low"], last["prio-critical"], "low priority starved until critical was done")
	assert.Less(t, first["prio-normal"], last["prio-critical"])
}

// TestFailedJobStopsItsRunningTasks: under on_failure=fail, a dead-lettered
// task fails the job and the workers stop the job's other running tasks
// instead of finishing work nobody will use.
func TestFailedJobStopsItsRunningTasks(t *testing.T) {
	t.Parallel()
	c := newCounter()
	open := make(chan struct{})
	// The gate opens only once the long task is known to run.
	c.block = func(ctx context.Context, _ worker.Task) error {
		select {
		case <-open:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	cl := start(t, 2, c.registry(t), nil)
	started, err := cl.nc.SubscribeSync(events.TaskEventSubject(events.DefaultTenant, "doomed", events.TaskStarted))
	require.NoError(t, err)
	stopped, err := cl.nc.SubscribeSync(events.TaskEventSubject(events.DefaultTenant, "doomed", events.TaskCancelled))
	require.NoError(t, err)
	require.NoError(t, cl.nc.Flush())
	cl.submit(t, events.JobSpec{ID: "doomed", Tasks: []events.TaskSpec{
		{ID: "long", Op: "sleep", Params: []byte(`{"duration_ms":60000}`)},
		{ID: "gate", Op: "record"},
		{ID: "bad", Op: "fail", MaxAttempts: 1, Deps: []string{"gate"}},
	}})
	require.Eventually(t, func() bool {
		m, err := started.NextMsg(10 * time.Millisecond)
		if err != nil {
			return false
		}
		ev, err := events.DecodeTaskEvent(m.Data)
		return err == nil && ev.TaskID == "long"
	}, 30*time.Second, time.Millisecond)
	close(open)
	rec := cl.waitJob(t, "doomed", 30*time.Second)
	assert.Equal(t, events.JobFailed, rec.State)
	m, err := stopped.NextMsg(10 * time.Second)
	require.NoError(t, err, "the running task of the failed job was not stopped")
	ev, err := events.DecodeTaskEvent(m.Data)
	require.NoError(t, err)
	assert.Equal(t, "long", ev.TaskID)
}
