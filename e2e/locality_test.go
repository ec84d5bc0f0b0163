package e2e_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/geocluster/geocluster/internal/onebox"
	"github.com/geocluster/geocluster/libs/events"
	"github.com/geocluster/geocluster/libs/pipeline"
)

// taskRecords returns the stored records of a job's tasks by task id.
func taskRecords(t *testing.T, js jetstream.JetStream, jobID string) map[string]events.TaskRecord {
	t.Helper()
	ctx := context.Background()
	kv, err := js.KeyValue(ctx, events.BucketTasks)
	require.NoError(t, err)
	lister, err := kv.ListKeysFiltered(ctx, events.TaskKeysOfJob(events.DefaultTenant, jobID))
	require.NoError(t, err)
	out := map[string]events.TaskRecord{}
	for k := range lister.Keys() {
		e, err := kv.Get(ctx, k)
		require.NoError(t, err)
		var rec events.TaskRecord
		require.NoError(t, json.Unmarshal(e.Value(), &rec))
		out[rec.Spec.ID] = rec
	}
	return out
}

// tileBytesMoved waits for every worker's heartbeat after since and returns
// the bytes their tile reads fetched over the network (cache nodes and
// object store), summed.
func (c *testCluster) tileBytesMoved(t *testing.T, workers int, since time.Time) uint64 {
	t.Helper()
	ctx := context.Background()
	kv, err := c.js.KeyValue(ctx, events.BucketWorkers)
	require.NoError(t, err)
	var total uint64
	require.Eventually(t, func() bool {
		lister, err := kv.ListKeys(ctx)
		if err != nil {
			return false
		}
		total = 0
		fresh := 0
		for k := range lister.Keys() {
			e, err := kv.Get(ctx, k)
			if err != nil {
				return false
			}
			var info events.WorkerInfo
			if json.Unmarshal(e.Value(), &info) != nil || info.Tiles == nil {
				return false
			}
			if info.HeartbeatAt.After(since) {
				fresh++
			}
			total += info.Tiles.RemoteBytes + info.Tiles.StoreBytes
		}
		return fresh == workers
	}, 30*time.Second, 50*time.Millisecond)
	return total
}

// runLocalityPipeline runs the hillshade pipeline of the real DEM on a
// fresh 2-worker cluster with the given locality wait and worker capacity,
// and returns its task records and the tile bytes moved.
func runLocalityPipeline(t *testing.T, wait time.Duration, capacity int) (map[string]events.TaskRecord, uint64) {
	dem := needData(t, "localtileserver_co_elevation_roi.tif")
	cl := start(t, 2, nil, func(c *onebox.Config) {
		c.Scheduler.LocalityWait = wait
		c.Worker.Capacity = capacity
	})
	in := cl.upload(t, dem, "inputs/dem.tif")
	job, err := pipeline.Plan(pipeline.Spec{ID: "loc", Op: pipeline.Hillshade, Inputs: []pipeline.Input{in}, TileSize: 128, Scale: 111120})
	require.NoError(t, err)
	cl.submit(t, job)
	rec := cl.waitJob(t, job.ID, 2*time.Minute)
	require.Equal(t, events.JobSucceeded, rec.State, rec.Error)
	return taskRecords(t, cl.js, job.ID), cl.tileBytesMoved(t, 2, time.Now())
}

// ranOn counts the tile tasks of a pipeline by the worker that ran them.
func ranOn(recs map[string]events.TaskRecord) map[string]int {
	n := map[string]int{}
	for id, r := range recs {
		if strings.HasPrefix(id, "tile-") {
			n[r.WorkerID]++
		}
	}
	return n
}

// TestTasksRunWhereTheirTilesAreAndLocalityCutsBytesMoved: the cut task's
// worker holds every input tile in its near-cache; with data locality on and
// that worker free, every tile task runs there and reads its tile from
// memory. With locality off the tasks spread over both workers and the
// other worker fetches its tiles from the object store. With the holder
// busy (capacity 1), offers lapse after the wait and the other worker takes
// them: locality never starves throughput.
func TestTasksRunWhereTheirTilesAreAndLocalityCutsBytesMoved(t *testing.T) {
	t.Parallel()
	recs, withLocality := runLocalityPipeline(t, 10*time.Second, 32)
	holder := recs["cut-0"].WorkerID
	require.NotEmpty(t, holder)
	assert.Equal(t, map[string]int{holder: 40}, ranOn(recs), "every tile task ran on the worker holding its tile")
	assert.Equal(t, holder, recs["assemble"].WorkerID, "the assemble task ran where the result tiles are")

	recs, without := runLocalityPipeline(t, 0, 32)
	require.Len(t, ranOn(recs), 2, "without locality both workers ran tile tasks")

	t.Logf("tile bytes moved for the 1007x633 DEM hillshade in 40 tiles of 128: %d with locality, %d without (%.2f)",
		withLocality, without, float64(withLocality)/float64(without))
	assert.Less(t, withLocality, without)

	recs, _ = runLocalityPipeline(t, 100*time.Millisecond, 1)
	busy := ranOn(recs)
	require.Len(t, busy, 2, "offers to a busy holder lapsed to the other worker: %v", busy)
}
