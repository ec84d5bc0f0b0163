package e2e_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
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
	"github.com/geocluster/geocluster/services/replicator"
	"github.com/geocluster/geocluster/services/scheduler"
	"github.com/geocluster/geocluster/services/worker"
)

// replWithin bounds every wait of the replication tests; nothing is timed.
const replWithin = 60 * time.Second

// TestLostNodeIsReplacedAndReplicationRestoredWithoutAnOperator stops one
// node of a three-node cluster for good. Tiles stay readable and jobs keep
// running on the two left; when a new node joins, the replicator moves the
// lost node's replicas to it and every replicated stream (the tiles, the
// KV buckets, the platform streams) is back at R3.
func TestLostNodeIsReplacedAndReplicationRestoredWithoutAnOperator(t *testing.T) {
	c := natstest.NewCluster(t, 3)
	topo := natstest.Topology()
	topo.Replicas = 3
	_, js := c.JetStream(t, "e2e-client")
	replProvision(t, js, topo)
	tiles := replPutTiles(t, js, 8)
	rec := replRecord(t, c.Connect(t, "e2e-events"))

	rcfg := replicator.DefaultConfig()
	rcfg.Topology = topo
	rcfg.LeaseTTL = 2 * time.Second
	rcfg.CheckEvery = 200 * time.Millisecond
	rcfg.OfflineGrace = time.Second
	rcfg.ScrubEvery = 0
	replServices(t, c, topo, 2, rcfg)

	want := map[string]string{}
	for name, b := range tiles {
		sum := sha256.Sum256(b)
		want[name] = hex.EncodeToString(sum[:])
	}
	assert.Equal(t, want, replChecksumJob(t, js, "before", tiles), "checksums before the loss")

	obj := events.ObjectStream(events.ObjectTiles)
	victim := replStreamLeader(t, c, js, obj)
	dead := c.Node(victim)
	lostAt := time.Now()
	c.Stop(victim)
	c.WaitMetaLeader()
	t.Logf("stopped %s, the leader of %s", dead, obj)

	for name, b := range tiles {
		require.Eventually(t, func() bool { return replReadable(js, name, b) }, replWithin, 50*time.Millisecond, "%s readable after the loss", name)
	}
	t.Logf("every tile read back %s after the loss", time.Since(lostAt).Round(10*time.Millisecond))
	jobAt := time.Now()
	assert.Equal(t, want, replChecksumJob(t, js, "during", tiles), "checksums with a node lost")
	t.Logf("a checksum job of %d tasks ran in %s with the node lost", len(tiles), time.Since(jobAt).Round(10*time.Millisecond))
	require.Eventually(t, func() bool {
		return rec.has(events.ReplicatorPeerLost, func(e events.ReplicatorEvent) bool { return e.Peer == dead })
	}, replWithin, 20*time.Millisecond, "peer_lost for %s", dead)

	addedAt := time.Now()
	c.AddNode()
	var replicated []string
	require.Eventually(t, func() bool {
		var ok bool
		replicated, ok = replAllWhole(js, dead)
		return ok
	}, replWithin, 100*time.Millisecond, "every R3 stream restored without %s", dead)
	t.Logf("R3 restored for %d streams %s after the node was added, %s after the loss (grace %s, check every %s)",
		len(replicated), time.Since(addedAt).Round(10*time.Millisecond), time.Since(lostAt).Round(10*time.Millisecond),
		rcfg.OfflineGrace, rcfg.CheckEvery)
	assert.Contains(t, replicated, obj)
	assert.Contains(t, replicated, events.StreamEvents)
	assert.Contains(t, replicated, "KV_"+events.BucketTasks)

	require.Eventually(t, func() bool {
		return rec.has(events.ReplicatorReplicationRestored, func(e events.ReplicatorEvent) bool { return e.Stream == obj })
	}, replWithin, 20*time.Millisecond, "replication_restored for %s", obj)
	assert.True(t, rec.has(events.ReplicatorReplicaMoved, func(e events.ReplicatorEvent) bool { return e.Stream == obj && e.Peer == dead }))

	for name, b := range tiles {
		require.Eventually(t, func() bool {
			_, got, err := replicator.ReadConsistent(context.Background(), js, events.ObjectTiles, name)
			return err == nil && bytes.Equal(b, got)
		}, replWithin, 50*time.Millisecond, "%s read through the leader", name)
	}
	assert.Equal(t, want, replChecksumJob(t, js, "after", tiles), "checksums after the restore")
}

// TestScrubRepairsACorruptTileFromTheCopyInACluster corrupts a chunk of a
// tile in an R3 cluster and sees the replicator rewrite it from the copy.
func TestScrubRepairsACorruptTileFromTheCopyInACluster(t *testing.T) {
	c := natstest.NewCluster(t, 3)
	topo := natstest.Topology()
	topo.Replicas = 3
	_, js := c.JetStream(t, "e2e-client")
	replProvision(t, js, topo)
	rec := replRecord(t, c.Connect(t, "e2e-events"))

	rcfg := replicator.DefaultConfig()
	rcfg.Topology = topo
	rcfg.LeaseTTL = 2 * time.Second
	rcfg.ScrubEvery = 300 * time.Millisecond
	rcfg.ChunkWait = time.Second
	rcfg.Mirror = replicator.Mirror{Bucket: events.ObjectTilesMirror, Replicas: 3}
	replServices(t, c, topo, 0, rcfg)

	ctx := context.Background()
	var copyStore jetstream.ObjectStore
	require.Eventually(t, func() bool {
		var err error
		copyStore, err = js.ObjectStore(ctx, events.ObjectTilesMirror)
		return err == nil
	}, replWithin, 20*time.Millisecond)
	tiles := replPutTiles(t, js, 3)
	require.Eventually(t, func() bool {
		l, err := copyStore.List(ctx)
		return err == nil && len(l) == len(tiles)
	}, replWithin, 20*time.Millisecond, "the copy holds every tile")

	name := "tiles/10/1/1.tif"
	store, err := js.ObjectStore(ctx, events.ObjectTiles)
	require.NoError(t, err)
	info, err := store.GetInfo(ctx, name)
	require.NoError(t, err)
	s, err := js.Stream(ctx, events.ObjectStream(events.ObjectTiles))
	require.NoError(t, err)
	last, err := s.GetLastMsgForSubject(ctx, events.ObjectChunkSubject(events.ObjectTiles, info.NUID))
	require.NoError(t, err)
	require.NoError(t, s.DeleteMsg(ctx, last.Sequence))
	_, err = js.Publish(ctx, last.Subject, bytes.Repeat([]byte{0xEE}, len(last.Data)))
	require.NoError(t, err)
	// A consistent read sees the corruption (unless the scrub repaired it
	// first); a transient cluster error ("no responders" while a leader
	// moves) is read again.
	require.Eventually(t, func() bool {
		_, _, err := replicator.ReadConsistent(ctx, js, events.ObjectTiles, name)
		return errors.Is(err, replicator.ErrDigestMismatch) ||
			rec.has(events.ReplicatorObjectRepaired, func(e events.ReplicatorEvent) bool { return e.Object == name })
	}, replWithin, 20*time.Millisecond, "the corruption of %s is seen", name)

	require.Eventually(t, func() bool {
		return rec.has(events.ReplicatorObjectRepaired, func(e events.ReplicatorEvent) bool {
			return e.Object == name && e.Source == events.ObjectTilesMirror
		})
	}, replWithin, 20*time.Millisecond, "%s repaired", name)
	assert.True(t, rec.has(events.ReplicatorObjectCorrupt, func(e events.ReplicatorEvent) bool { return e.Object == name }))
	for n, b := range tiles {
		require.Eventually(t, func() bool { return replReadable(js, n, b) }, replWithin, 50*time.Millisecond, n)
	}
}

// replProvision provisions topo, retrying while the cluster settles.
func replProvision(t *testing.T, js jetstream.JetStream, topo events.Topology) {
	t.Helper()
	var err error
	require.Eventually(t, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		err = events.EnsureTopology(ctx, js, topo)
		return err == nil
	}, replWithin, 200*time.Millisecond, "provision: %v", err)
	// Services bind their streams at start: let every stream and consumer
	// elect a leader and catch up first.
	require.Eventually(t, func() bool {
		_, ok := replAllWhole(js, "")
		return ok
	}, replWithin, 50*time.Millisecond, "the provisioned streams settle")
}

// replPutTiles writes n tiles of three chunks each to geo_tiles.
func replPutTiles(t *testing.T, js jetstream.JetStream, n int) map[string][]byte {
	t.Helper()
	ctx := context.Background()
	store, err := js.ObjectStore(ctx, events.ObjectTiles)
	require.NoError(t, err)
	tiles := map[string][]byte{}
	for i := range n {
		r := rand.New(rand.NewPCG(uint64(i), 42))
		b := make([]byte, 300_000+i)
		for j := range b {
			b[j] = byte(r.UintN(256))
		}
		name := fmt.Sprintf("tiles/10/%d/1.tif", i)
		_, err := store.PutBytes(ctx, name, b)
		require.NoError(t, err)
		tiles[name] = b
	}
	return tiles
}

// replReadable reads a tile the plain way and compares it.
func replReadable(js jetstream.JetStream, name string, want []byte) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	store, err := js.ObjectStore(ctx, events.ObjectTiles)
	if err != nil {
		return false
	}
	r, err := store.Get(ctx, name)
	if err != nil {
		return false
	}
	defer r.Close()
	got, err := io.ReadAll(r)
	return err == nil && bytes.Equal(got, want)
}

// replServices runs the scheduler, workers and the replicator on their
// own connections to the cluster until the test ends. Like an orchestrator,
// it restarts a scheduler or worker that exits with an error (they give up
// when provisioning times out on a busy cluster) and logs why; the
// replicator must never fail, and every service must stop cleanly.
func replServices(t *testing.T, c *natstest.Cluster, topo events.Topology, workers int, rcfg replicator.Config) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	errs := make(chan error, workers+2)
	run := func(name string, restart bool, f func(context.Context, *nats.Conn) error) {
		nc := c.Connect(t, name)
		wg.Go(func() {
			for {
				err := f(ctx, nc)
				if err == nil || ctx.Err() != nil || !restart {
					if err != nil {
						errs <- fmt.Errorf("%s: %w", name, err)
					}
					return
				}
				t.Logf("%s exited, restarting it: %v", name, err)
				select {
				case <-ctx.Done():
					return
				case <-time.After(100 * time.Millisecond): // restart backoff
				}
			}
		})
	}
	if workers > 0 {
		scfg := scheduler.DefaultConfig()
		scfg.Topology = topo
		run("scheduler", true, func(ctx context.Context, nc *nats.Conn) error {
			return scheduler.Run(ctx, scheduler.Deps{NC: nc, Log: zerolog.Nop()}, scfg)
		})
	}
	for i := range workers {
		wcfg := worker.DefaultConfig()
		wcfg.Topology = topo
		wcfg.DrainTimeout = time.Second
		run(fmt.Sprintf("worker-%d", i), true, func(ctx context.Context, nc *nats.Conn) error {
			js, err := jetstream.New(nc)
			if err != nil {
				return err
			}
			return worker.Run(ctx, worker.Deps{NC: nc, JS: js, Log: zerolog.Nop()}, wcfg)
		})
	}
	log := zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.InfoLevel).With().Timestamp().Str("service", "replicator").Logger()
	run("replicator", false, func(ctx context.Context, nc *nats.Conn) error {
		return replicator.Run(ctx, replicator.Deps{NC: nc, Log: log}, rcfg)
	})
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		close(errs)
		for err := range errs {
			assert.NoError(t, err)
		}
	})
}

// replChecksumJob runs one checksum task per tile and returns the sums.
func replChecksumJob(t *testing.T, js jetstream.JetStream, id string, tiles map[string][]byte) map[string]string {
	t.Helper()
	job := events.JobSpec{ID: id}
	names := make(map[string]string) // task id -> object
	for name := range tiles {
		tid := fmt.Sprintf("t%d", len(job.Tasks))
		params, err := json.Marshal(events.ChecksumParams{Object: name})
		require.NoError(t, err)
		job.Tasks = append(job.Tasks, events.TaskSpec{ID: tid, Op: events.OpChecksum, Params: params})
		names[tid] = name
	}
	data, err := json.Marshal(job)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err := js.Publish(ctx, events.JobSubmitSubject(events.DefaultTenant), data,
			jetstream.WithMsgID(events.JobMsgID(events.DefaultTenant, id)))
		return err == nil
	}, replWithin, 50*time.Millisecond, "submit %s", id)

	ctx := context.Background()
	jobs, err := js.KeyValue(ctx, events.BucketJobs)
	require.NoError(t, err)
	var rec events.JobRecord
	require.Eventually(t, func() bool {
		e, err := jobs.Get(ctx, events.JobKey(events.DefaultTenant, id))
		if err != nil || json.Unmarshal(e.Value(), &rec) != nil {
			return false
		}
		return rec.State.Terminal()
	}, replWithin, 50*time.Millisecond, "job %s finished", id)
	require.Equal(t, events.JobSucceeded, rec.State, rec.Error)

	tasks, err := js.KeyValue(ctx, events.BucketTasks)
	require.NoError(t, err)
	sums := map[string]string{}
	for tid, name := range names {
		var tr events.TaskRecord
		require.Eventually(t, func() bool {
			e, err := tasks.Get(ctx, events.TaskKey(events.DefaultTenant, id, tid))
			return err == nil && json.Unmarshal(e.Value(), &tr) == nil
		}, replWithin, 50*time.Millisecond)
		var res events.ChecksumResult
		require.NoError(t, json.Unmarshal(tr.Result, &res))
		assert.Equal(t, name, res.Object)
		sums[name] = res.SHA256
	}
	return sums
}

// replStreamLeader returns the index of the node leading stream.
func replStreamLeader(t *testing.T, c *natstest.Cluster, js jetstream.JetStream, stream string) int {
	t.Helper()
	s, err := js.Stream(context.Background(), stream)
	require.NoError(t, err)
	leader := s.CachedInfo().Cluster.Leader
	for i := range c.Size() {
		if c.Node(i) == leader {
			return i
		}
	}
	t.Fatalf("leader %q of %s is not a node", leader, stream)
	return -1
}

// replAllWhole reports whether every stream of the account that wants
// more than one replica has all of them, current, none on server dead, and
// so have its durable consumers.
func replAllWhole(js jetstream.JetStream, dead string) ([]string, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var names []string
	l := js.ListStreams(ctx)
	for info := range l.Info() {
		if info.Config.Replicas <= 1 {
			continue
		}
		c := info.Cluster
		if c == nil || c.Leader == "" || c.Leader == dead || len(c.Replicas)+1 != info.Config.Replicas {
			return nil, false
		}
		for _, r := range c.Replicas {
			if r.Name == dead || r.Offline || !r.Current {
				return nil, false
			}
		}
		if !replConsumersWhole(ctx, js, info.Config.Name, dead) {
			return nil, false
		}
		names = append(names, info.Config.Name)
	}
	slices.Sort(names)
	return names, l.Err() == nil && len(names) > 0
}

// replConsumersWhole reports whether every durable consumer of stream has
// its replicas, current, none on server dead.
func replConsumersWhole(ctx context.Context, js jetstream.JetStream, stream, dead string) bool {
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return false
	}
	l := s.ListConsumers(ctx)
	for ci := range l.Info() {
		if ci.Config.Durable == "" {
			continue
		}
		c := ci.Cluster
		if c == nil || c.Leader == "" || c.Leader == dead {
			return false
		}
		for _, r := range c.Replicas {
			if r.Name == dead || r.Offline || !r.Current {
				return false
			}
		}
	}
	return l.Err() == nil
}

// replRecorder collects replicator events from core NATS.
type replRecorder struct {
	mu  sync.Mutex
	evs []events.ReplicatorEvent
}

func replRecord(t *testing.T, nc *nats.Conn) *replRecorder {
	t.Helper()
	r := &replRecorder{}
	sub, err := nc.Subscribe(events.ReplicatorEventsFilter, func(m *nats.Msg) {
		if e, err := events.DecodeReplicatorEvent(m.Data); err == nil {
			r.mu.Lock()
			r.evs = append(r.evs, e)
			r.mu.Unlock()
		}
	})
	require.NoError(t, err)
	require.NoError(t, nc.Flush())
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	return r
}

func (r *replRecorder) has(kind string, f func(events.ReplicatorEvent) bool) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.evs {
		if e.Kind == kind && f(e) {
			return true
		}
	}
	return false
}
