package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/geocluster/geocluster/internal/onebox"
	"github.com/geocluster/geocluster/libs/events"
	"github.com/geocluster/geocluster/libs/pipeline"
	"github.com/geocluster/geocluster/libs/raster"
)

// clusterRun is one cluster measurement: the whole (upload the DEM to the
// object store, run the job, download the COG) and the job alone.
type clusterRun struct {
	total, job time.Duration
	tasks      int
	// cpu is the CPU time of this process (the server, the scheduler and
	// the workers) over the whole.
	cpu part
}

// timeCluster shades the DEM at in on a one-process cluster (embedded NATS,
// scheduler and workers in this process; its start-up is not timed) through
// the tile pipeline: upload, cut into tiles with a 1-pixel halo, one task
// per tile, assemble into a COG, download to out.
//
// With byPath the DEM is not uploaded and the COG not downloaded: the
// workers' data directory is the DEM's and each tile task reads its own
// window of the file (no cut task); their output directory is out's, and
// the assemble task writes the COG there itself.
// The tile size, the workers' capacity and the output COG's Deflate level
// are c's.
func timeCluster(ctx context.Context, in, out string, c config, byPath bool) (clusterRun, error) {
	cfg := onebox.DefaultConfig()
	cfg.Port, cfg.Workers = -1, c.cluster
	cfg.Worker.Capacity = c.capacity
	in, err := filepath.Abs(in)
	if err != nil {
		return clusterRun{}, err
	}
	if out, err = filepath.Abs(out); err != nil {
		return clusterRun{}, err
	}
	if byPath {
		cfg.Worker.DataDirs = []string{filepath.Dir(in)}
		cfg.Worker.OutputDirs = []string{filepath.Dir(out)}
	}
	cl, err := onebox.Start(ctx, cfg)
	if err != nil {
		return clusterRun{}, err
	}
	defer func() { _ = cl.Stop() }()
	nc, err := nats.Connect(cl.URL(), nats.Name("bench-hillshade"))
	if err != nil {
		return clusterRun{}, err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return clusterRun{}, err
	}
	store, err := js.ObjectStore(ctx, events.ObjectTiles)
	if err != nil {
		return clusterRun{}, err
	}
	info, err := raster.ReadInfo(in)
	if err != nil {
		return clusterRun{}, err
	}
	kv, err := js.KeyValue(ctx, events.BucketJobs)
	if err != nil {
		return clusterRun{}, err
	}

	startCPU := now()
	start := startCPU.at
	input := pipeline.Input{Path: in, Width: info.Width, Height: info.Height}
	if !byPath {
		f, err := os.Open(in)
		if err != nil {
			return clusterRun{}, err
		}
		_, err = store.Put(ctx, jetstream.ObjectMeta{Name: "bench/dem.tif"}, f)
		f.Close()
		if err != nil {
			return clusterRun{}, fmt.Errorf("upload the DEM: %w", err)
		}
		input = pipeline.Input{Object: "bench/dem.tif", Width: info.Width, Height: info.Height}
	}
	level := c.cogLevel
	if c.cogCompression == events.COGNone {
		level = 0 // an uncompressed COG has no level
	}
	spec := pipeline.Spec{ID: "hillshade-" + events.NewID(), Op: pipeline.Hillshade,
		Inputs: []pipeline.Input{input}, TileSize: c.clusterTile, Scale: gdaldemScale, COGLevel: level, COGCompression: c.cogCompression}
	if byPath {
		spec.OutputPath = out
	}
	job, err := pipeline.Plan(spec)
	if err != nil {
		return clusterRun{}, err
	}
	body, _ := json.Marshal(job)
	w, err := kv.Watch(ctx, events.JobKey(events.DefaultTenant, job.ID))
	if err != nil {
		return clusterRun{}, err
	}
	defer func() { _ = w.Stop() }()
	jobStart := time.Now()
	var (
		mu       sync.Mutex
		timeline []string
	)
	if c.timeline != nil {
		sub, err := nc.Subscribe(events.TaskEventSubject(events.DefaultTenant, job.ID, "*"), func(m *nats.Msg) {
			var e events.TaskEvent
			if json.Unmarshal(m.Data, &e) == nil {
				mu.Lock()
				defer mu.Unlock()
				timeline = append(timeline, fmt.Sprintf("%7.3f s  %-10s %-14s %s %s", time.Since(jobStart).Seconds(), e.State, e.Op, e.TaskID, e.WorkerID))
			}
		})
		if err != nil {
			return clusterRun{}, err
		}
		defer func() {
			_ = sub.Unsubscribe()
			mu.Lock()
			defer mu.Unlock()
			for _, l := range timeline {
				fmt.Fprintln(c.timeline, l)
			}
		}()
	}
	jobStart = time.Now()
	if _, err := js.Publish(ctx, events.JobSubmitSubject(events.DefaultTenant), body, jetstream.WithMsgID(events.JobMsgID(events.DefaultTenant, job.ID))); err != nil {
		return clusterRun{}, err
	}
	for e := range w.Updates() {
		if e == nil {
			continue
		}
		var rec events.JobRecord
		if err := json.Unmarshal(e.Value(), &rec); err != nil {
			return clusterRun{}, err
		}
		if rec.State.Terminal() {
			if rec.State != events.JobSucceeded {
				return clusterRun{}, fmt.Errorf("cluster job %s: %s", rec.State, rec.Error)
			}
			break
		}
	}
	jobTime := time.Since(jobStart)
	if !byPath {
		if err := store.GetFile(ctx, job.Labels[pipeline.LabelOutput], out); err != nil {
			return clusterRun{}, fmt.Errorf("download the result: %w", err)
		}
	}
	cpu, _ := startCPU.since()
	return clusterRun{total: time.Since(start), job: jobTime, tasks: len(job.Tasks), cpu: cpu}, nil
}
