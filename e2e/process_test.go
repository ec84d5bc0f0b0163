package e2e_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/geocluster/geocluster/libs/events"
)

// TestKilledWorkerProcessLosesNothing runs a worker as a real process (the
// cmd/worker binary), SIGKILLs it while it runs a task, and sees the task
// complete on another worker.
func TestKilledWorkerProcessLosesNothing(t *testing.T) {
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "worker")
	build := exec.Command("go", "build", "-o", bin, "../cmd/worker")
	build.Stderr = os.Stderr
	require.NoError(t, build.Run(), "build cmd/worker")

	cl := start(t, 0, nil, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	proc := exec.CommandContext(ctx, bin)
	proc.Env = append(os.Environ(),
		"NATS_URL="+cl.URL(), "GEO_WORKER_ID=doomed", "GEO_LOG_LEVEL=warn",
		"GEO_TASK_ACK_WAIT=2s", "GEO_WORKER_TTL=3s")
	proc.Stderr = os.Stderr
	require.NoError(t, proc.Start())
	t.Cleanup(func() { _ = proc.Process.Kill(); _ = proc.Wait() })

	sub, err := cl.nc.SubscribeSync(events.TaskEventSubject(events.DefaultTenant, "proc", events.TaskStarted))
	require.NoError(t, err)
	require.NoError(t, cl.nc.Flush())
	cl.submit(t, events.JobSpec{ID: "proc", Tasks: []events.TaskSpec{
		{ID: "slow", Op: "sleep", Params: []byte(`{"duration_ms":1500}`)},
	}})
	m, err := sub.NextMsg(30 * time.Second)
	require.NoError(t, err, "the worker process never started the task")
	ev, err := events.DecodeTaskEvent(m.Data)
	require.NoError(t, err)
	require.Equal(t, "doomed", ev.WorkerID)

	require.NoError(t, proc.Process.Signal(syscall.SIGKILL))
	_, _ = proc.Process.Wait()
	_, err = cl.AddWorker()
	require.NoError(t, err)

	rec := cl.waitJob(t, "proc", time.Minute)
	require.Equal(t, events.JobSucceeded, rec.State, rec.Error)
	var winner string
	for _, e := range taskEvents(t, cl.eventsOf(t, "proc"), events.TaskSucceeded) {
		winner = e.WorkerID
	}
	assert.NotEqual(t, "doomed", winner)
	assert.NotEmpty(t, winner)
}
