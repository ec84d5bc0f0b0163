package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/geocluster/geocluster/libs/events"
	"github.com/geocluster/geocluster/libs/natstest"
	"github.com/geocluster/geocluster/services/scheduler"
	"github.com/geocluster/geocluster/services/worker"
)

// chaosResults is the bucket where each task of the chaos job writes its
// result (its own key, so a task that runs twice writes the same value
// twice: the effect is idempotent, and the test can see every result).
const chaosResults = "chaos_results"

// chaosOp writes the task's result and takes a little while.
func chaosOp(ctx context.Context, t worker.Task) (json.RawMessage, error) {
	kv, err := t.JS.KeyValue(ctx, chaosResults)
	if err != nil {
		return nil, err
	}
	d := time.Duration(2+len(t.TaskID)%7) * time.Millisecond
	select {
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	case <-time.After(d):
	}
	if _, err := kv.Put(ctx, t.TaskID, []byte(t.JobID+"/"+t.TaskID)); err != nil {
		return nil, err
	}
	return json.RawMessage(`{"written":"` + t.TaskID + `"}`), nil
}

// chaosProc is one scheduler or worker process of the chaos test: its own
// connection, killed by closing it (no drain, no goodbye).
type chaosProc struct {
	name string
	nc   *nats.Conn
	stop context.CancelFunc
	done chan struct{}
}

type chaosCluster struct {
	t     *testing.T
	c     *natstest.Cluster
	topo  events.Topology
	ops   *worker.Registry
	mu    sync.Mutex
	procs []*chaosProc
	ctx   context.Context
}

func (cc *chaosCluster) start(name string, run func(context.Context, *nats.Conn) error) *chaosProc {
	nc, err := nats.Connect(cc.c.URLs(), natstest.FailoverOptions(name)...)
	require.NoError(cc.t, err)
	ctx, cancel := context.WithCancel(cc.ctx)
	p := &chaosProc{name: name, nc: nc, stop: cancel, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		defer nc.Close()
		for ctx.Err() == nil && !nc.IsClosed() {
			// Like an orchestrator: a service that gives up (its servers
			// unreachable for too long) is started again.
			started := time.Now()
			err := run(ctx, nc)
			if err == nil || nc.IsClosed() {
				return
			}
			cc.t.Logf("%s exited after %s, restarting it: %v", name, time.Since(started).Round(time.Millisecond), err)
			time.Sleep(100 * time.Millisecond)
		}
	}()
	cc.mu.Lock()
	cc.procs = append(cc.procs, p)
	cc.mu.Unlock()
	return p
}

func (cc *chaosCluster) scheduler(id string) *chaosProc {
	cfg := scheduler.DefaultConfig()
	cfg.ID, cfg.Topology, cfg.LeaseTTL = id, cc.topo, 2*time.Second
	cfg.Ops["chaos"] = func(json.RawMessage) error { return nil }
	return cc.start(id, func(ctx context.Context, nc *nats.Conn) error {
		log := zerolog.New(zerolog.NewTestWriter(cc.t)).Level(zerolog.InfoLevel).With().Timestamp().Str("service", id).Logger()
		return scheduler.Run(ctx, scheduler.Deps{NC: nc, Log: log}, cfg)
	})
}

func (cc *chaosCluster) worker(id string) *chaosProc {
	cfg := worker.DefaultConfig()
	cfg.ID, cfg.Topology, cfg.DrainTimeout, cfg.Capacity = id, cc.topo, time.Second, 16
	return cc.start(id, func(ctx context.Context, nc *nats.Conn) error {
		js, err := jetstream.New(nc)
		if err != nil {
			return err
		}
		return worker.Run(ctx, worker.Deps{NC: nc, JS: js, Log: zerolog.Nop(), Ops: cc.ops}, cfg)
	})
}

// kill closes p's connection: whatever it held is left to the cluster.
// The process notices and ends on its own (the test's cleanup waits).
func (p *chaosProc) kill() { p.nc.Close() }

// chaosSeed is GEO_CHAOS_SEED, or a fresh seed.
func chaosSeed(t *testing.T) uint64 {
	if v := os.Getenv("GEO_CHAOS_SEED"); v != "" {
		s, err := strconv.ParseUint(v, 10, 64)
		require.NoError(t, err)
		return s
	}
	return uint64(time.Now().UnixNano())
}

// TestChaosJobSucceedsExactlyOnceWhileProcessesAndANodeDie: a 3-node
// JetStream cluster with R3 streams runs a job of 2,000 tasks in 20 layers
// (each task depends on two of the layer before) while the test kills and
// starts workers at random, kills the scheduler leader twice (a standby
// takes over each time) and stops one NATS node for good. The job succeeds,
// every task's result is written, its record holds its result, and the
// EVENTS stream holds the accepted and succeeded events of the job and a
// succeeded event of every task. GEO_CHAOS_SEED=<seed> replays a run.
func TestChaosJobSucceedsExactlyOnceWhileProcessesAndANodeDie(t *testing.T) {
	if testing.Short() {
		t.Skip("chaos test: long")
	}
	seed := chaosSeed(t)
	t.Logf("chaos seed %d (GEO_CHAOS_SEED=%d replays it)", seed, seed)
	rnd := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))

	c := natstest.NewCluster(t, 3)
	topo := natstest.Topology()
	topo.Replicas = 3
	_, js := c.JetStream(t, "chaos-client")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	require.NoError(t, events.EnsureTopology(ctx, js, topo))
	results, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: chaosResults, Replicas: 3, Storage: jetstream.FileStorage})
	require.NoError(t, err)

	ops := worker.PlatformRegistry()
	require.NoError(t, ops.Register("chaos", chaosOp))
	runCtx, stopAll := context.WithCancel(context.Background())
	cc := &chaosCluster{t: t, c: c, topo: topo, ops: ops, ctx: runCtx}
	t.Cleanup(func() {
		stopAll()
		cc.mu.Lock()
		defer cc.mu.Unlock()
		for _, p := range cc.procs {
			<-p.done
		}
	})
	schedulers := []*chaosProc{cc.scheduler("s-0"), cc.scheduler("s-1")}
	var workers []*chaosProc
	for i := range 4 {
		workers = append(workers, cc.worker(fmt.Sprintf("w-%d", i)))
	}

	const layers, width = 20, 100
	job := events.JobSpec{ID: "chaos"}
	for l := range layers {
		for i := range width {
			spec := events.TaskSpec{ID: fmt.Sprintf("t%02d-%03d", l, i), Op: "chaos", MaxAttempts: 20}
			if l > 0 {
				spec.Deps = []string{fmt.Sprintf("t%02d-%03d", l-1, i), fmt.Sprintf("t%02d-%03d", l-1, (i+1)%width)}
			}
			job.Tasks = append(job.Tasks, spec)
		}
	}
	body, err := json.Marshal(job)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		pctx, pcancel := context.WithTimeout(ctx, 5*time.Second)
		defer pcancel()
		_, err := js.Publish(pctx, events.JobSubmitSubject(events.DefaultTenant), body, jetstream.WithMsgID(events.JobMsgID(events.DefaultTenant, job.ID)))
		return err == nil
	}, time.Minute, 100*time.Millisecond)

	jobsKV, err := js.KeyValue(ctx, events.BucketJobs)
	require.NoError(t, err)
	leases, err := js.KeyValue(ctx, events.BucketLeases)
	require.NoError(t, err)
	progress := func() (events.JobRecord, bool) {
		var rec events.JobRecord
		e, err := jobsKV.Get(ctx, events.JobKey(events.DefaultTenant, job.ID))
		if err != nil || json.Unmarshal(e.Value(), &rec) != nil {
			return rec, false
		}
		return rec, true
	}
	// Chaos at the job's quarter marks: a node at the half, the leader at
	// a quarter and three quarters, workers in between.
	leaderKills, nodeStopped, next := 0, false, 1
	start := time.Now()
	for {
		rec, ok := progress()
		if ok && rec.State.Terminal() {
			break
		}
		if time.Since(start) > 150*time.Second {
			chaosDiagnose(t, ctx, js, job.ID)
			require.Fail(t, "the job did not finish", "last record %+v", rec)
		}
		done := rec.Counts.Succeeded
		switch {
		case leaderKills == 0 && done >= layers*width/4, leaderKills == 1 && done >= 3*layers*width/4:
			e, err := leases.Get(ctx, events.LeaseScheduler)
			if err != nil {
				break
			}
			for i, s := range schedulers {
				if s.name == string(e.Value()) {
					t.Logf("%s: killing the scheduler leader %s at %d tasks done", time.Since(start).Round(time.Millisecond), s.name, done)
					s.kill()
					schedulers[i] = cc.scheduler(fmt.Sprintf("s-%d", 2+leaderKills))
					leaderKills++
				}
			}
		case !nodeStopped && done >= layers*width/2:
			n := rnd.IntN(3)
			t.Logf("%s: stopping NATS node %s for good at %d tasks done", time.Since(start).Round(time.Millisecond), c.Node(n), done)
			c.Stop(n)
			nodeStopped = true
		case rnd.IntN(8) == 0:
			i := rnd.IntN(len(workers))
			t.Logf("%s: killing worker %s at %d tasks done", time.Since(start).Round(time.Millisecond), workers[i].name, done)
			workers[i].kill()
			workers[i] = cc.worker(fmt.Sprintf("w-%d", 4+next))
			next++
		}
		time.Sleep(time.Duration(200+rnd.IntN(300)) * time.Millisecond)
	}
	rec, _ := progress()
	require.Equal(t, events.JobSucceeded, rec.State, rec.Error)
	assert.Equal(t, 2, leaderKills)
	assert.True(t, nodeStopped)
	t.Logf("job of %d tasks succeeded in %s through %d worker kills, %d leader kills and a node stop",
		len(job.Tasks), time.Since(start).Round(time.Millisecond), next-1, leaderKills)

	// Every task's result is written, once per key, with its own value.
	recs := taskRecords(t, js, job.ID)
	for _, spec := range job.Tasks {
		e, err := results.Get(ctx, spec.ID)
		require.NoError(t, err, "result of %s", spec.ID)
		assert.Equal(t, job.ID+"/"+spec.ID, string(e.Value()))
		tr := recs[spec.ID]
		assert.Equal(t, events.TaskSucceeded, tr.State, spec.ID)
		assert.JSONEq(t, `{"written":"`+spec.ID+`"}`, string(tr.Result), spec.ID)
	}
	keys, err := results.ListKeys(ctx)
	require.NoError(t, err)
	n := 0
	for range keys.Keys() {
		n++
	}
	assert.Equal(t, len(job.Tasks), n, "one result per task, no other")

	// No event of the accepted job is lost: its accepted and succeeded
	// events, and a succeeded event of every task.
	succeeded := map[string]int{}
	jobStates := map[events.JobState]bool{}
	// Read every stored event of the job: as many as the consumer had
	// pending when created (a fetch can come back empty for a moment while
	// the degraded cluster moves a leader, so emptiness proves nothing).
	cons, err := js.OrderedConsumer(ctx, events.StreamEvents, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{events.JobEventsFilter(events.DefaultTenant, job.ID)},
	})
	require.NoError(t, err)
	info, err := cons.Info(ctx)
	require.NoError(t, err)
	read := uint64(0)
	for read < info.NumPending {
		require.NoError(t, ctx.Err(), "read %d of %d events", read, info.NumPending)
		batch, err := cons.Fetch(1000, jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			continue
		}
		for m := range batch.Messages() {
			read++
			if ev, err := events.DecodeTaskEvent(m.Data()); err == nil && ev.State == events.TaskSucceeded {
				succeeded[ev.TaskID]++
				continue
			}
			if ev, err := events.DecodeJobEvent(m.Data()); err == nil {
				jobStates[ev.State] = true
			}
		}
	}
	assert.True(t, jobStates[events.JobAccepted], "accepted event")
	assert.True(t, jobStates[events.JobSucceeded], "succeeded event")
	missing := 0
	for _, spec := range job.Tasks {
		if succeeded[spec.ID] == 0 {
			missing++
		}
	}
	assert.Zero(t, missing, "tasks without a succeeded event")
}

// chaosDiagnose logs where the unfinished tasks of a stuck job are.
func chaosDiagnose(t *testing.T, ctx context.Context, js jetstream.JetStream, jobID string) {
	for _, p := range events.Priorities {
		if si, err := js.Stream(ctx, events.TaskStream(p)); err == nil {
			t.Logf("stream %s: %d messages", events.TaskStream(p), si.CachedInfo().State.Msgs)
		}
		if c, err := js.Consumer(ctx, events.TaskStream(p), events.PoolConsumer(events.DefaultPool)); err == nil {
			if ci, err := c.Info(ctx); err == nil {
				t.Logf("consumer %s on %s: pending %d, ack pending %d, redelivered %d, waiting %d, cluster %+v", ci.Name, ci.Stream, ci.NumPending, ci.NumAckPending, ci.NumRedelivered, ci.NumWaiting, ci.Cluster)
			} else {
				t.Logf("consumer info: %v", err)
			}
		}
	}
	if leases, err := js.KeyValue(ctx, events.BucketLeases); err == nil {
		e, err := leases.Get(ctx, events.LeaseScheduler)
		if err == nil {
			t.Logf("scheduler lease: %s rev %d at %s", e.Value(), e.Revision(), e.Created().Format(time.TimeOnly))
		} else {
			t.Logf("scheduler lease: %v", err)
		}
	}
	if c, err := js.Consumer(ctx, events.StreamEvents, events.ConsumerSchedulerTasks); err == nil {
		if ci, err := c.Info(ctx); err == nil {
			t.Logf("consumer %s: pending %d, ack pending %d, redelivered %d, waiting %d", ci.Name, ci.NumPending, ci.NumAckPending, ci.NumRedelivered, ci.NumWaiting)
		}
	}
	stuck := map[string]bool{}
	for id, tr := range taskRecords(t, js, jobID) {
		if (tr.State == events.TaskQueued || tr.State == events.TaskRunning) && len(stuck) < 10 {
			stuck[id] = true
			t.Logf("task %s: %s attempt %d worker %q directed %q errors %d updated %s", id, tr.State, tr.Attempt, tr.WorkerID, tr.DirectedTo, len(tr.Errors), tr.UpdatedAt.Format(time.TimeOnly))
		}
	}
	cons, err := js.OrderedConsumer(ctx, events.StreamEvents, jetstream.OrderedConsumerConfig{FilterSubjects: []string{events.JobEventsFilter(events.DefaultTenant, jobID)}})
	if err != nil {
		return
	}
	seen := map[string][]string{}
	for {
		batch, err := cons.Fetch(1000, jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			break
		}
		got := 0
		for m := range batch.Messages() {
			got++
			if ev, err := events.DecodeTaskEvent(m.Data()); err == nil && stuck[ev.TaskID] {
				md, _ := m.Metadata()
				seen[ev.TaskID] = append(seen[ev.TaskID], fmt.Sprintf("%s/%d by %s at %s seq %d", ev.State, ev.Attempt, ev.WorkerID, md.Timestamp.Format("15:04:05.000"), md.Sequence.Stream))
			}
		}
		if got == 0 {
			break
		}
	}
	for id, evs := range seen {
		t.Logf("events of %s: %v", id, evs)
	}
}
