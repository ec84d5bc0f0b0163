package scheduler_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/geocluster/geocluster/libs/events"
	"github.com/geocluster/geocluster/libs/natstest"
	"github.com/geocluster/geocluster/services/scheduler"
)

// TestStandbyTakesOverWhenTheLeaderDies: two replicas; the one holding the
// scheduler lease releases tasks, the other only answers the API. The
// leader's connection dies in the middle of a chain of tasks (it cannot
// renew nor release its lease); the standby takes the lease after its TTL,
// recovers the job from KV and finishes it: every task ran exactly once.
func TestStandbyTakesOverWhenTheLeaderDies(t *testing.T) {
	t.Parallel()
	s, js := natstest.Provisioned(t, natstest.Topology())
	col := collect(t, s)
	fw := runFakeWorker(t, s)
	cfg := testConfig()
	cfg.LeaseTTL = 3 * time.Second

	leaderNC := natstest.Connect(t, s, "scheduler-a")
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	aDone := make(chan error, 1)
	a := cfg
	a.ID = "s-a"
	go func() {
		aDone <- scheduler.Run(ctx, scheduler.Deps{NC: leaderNC, Log: zerolog.New(zerolog.NewTestWriter(t)).With().Str("r", "a").Logger()}, a)
	}()
	kv, err := js.KeyValue(context.Background(), events.BucketLeases)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		e, err := kv.Get(context.Background(), events.LeaseScheduler)
		return err == nil && string(e.Value()) == "s-a"
	}, 10*time.Second, 10*time.Millisecond, "the first replica leads")
	b := cfg
	b.ID = "s-b"
	startScheduler(t, s, b)

	var tasks []string
	for i := range 40 {
		dep := ""
		if i > 0 {
			dep = fmt.Sprintf(`,"deps":["t%d"]`, i-1)
		}
		tasks = append(tasks, fmt.Sprintf(`{"id":"t%d","op":"noop"%s}`, i, dep))
	}
	publishJob(t, js, `{"id":"chain","tasks":[`+strings.Join(tasks, ",")+`]}`)
	require.Eventually(t, func() bool { return fw.runsOf("t10") > 0 }, 30*time.Second, 5*time.Millisecond)
	before := fw.total()
	leaderNC.Close() // the leader is gone: no renewal, no release
	died := time.Now()
	require.Eventually(t, func() bool { return fw.total() > before+1 }, 60*time.Second, time.Millisecond)
	t.Logf("leader death to the next release run by a worker: %s (lease TTL %s, scheduler ack wait %s)", time.Since(died).Round(time.Millisecond), cfg.LeaseTTL, events.SchedulerAckWait)
	waitJob(t, col, "chain", events.JobSucceeded)
	for i := range 40 {
		assert.Equal(t, 1, fw.runsOf(fmt.Sprintf("t%d", i)), "t%d ran once", i)
	}
	e, err := kv.Get(context.Background(), events.LeaseScheduler)
	require.NoError(t, err)
	assert.Equal(t, "s-b", string(e.Value()), "the standby leads now")
	cancel()
	<-aDone
}
