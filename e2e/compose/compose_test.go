package compose_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/geocluster/geocluster/libs/events"
	"github.com/geocluster/geocluster/libs/raster"
)

// demoDEM is the real DEM of the demo (Colorado, EPSG:4269), in the shared
// data folder beside the project.
const demoDEM = "localtileserver_co_elevation_roi.tif"

// Tiles of 16 pixels make the demo hillshade a job of about 2500 tile tasks:
// one worker running one tile at a time (GEO_WORKER_OP_LIMITS) needs most of
// a minute for it, long enough to scale and break the cluster under it.
const tileSize = 16

// TestComposeClusterSurvivesScalingAndKillsWithCorrectOutput is issue 7 end
// to end: the offline image (static binaries FROM scratch, non-root) built
// from this checkout, docker-compose.yml brought up with a 3-node NATS
// cluster and one container per service, every stream R3, the demo
// hillshade submitted from the host with geoctl on an input the workers read
// by path from the read-only data mount; while the job runs workers scale
// from 1 to 3, one NATS node and one worker are killed, and the COG the
// cluster writes equals the single-process hillshade pixel for pixel. The
// project, its volumes and its image are always removed.
func TestComposeClusterSurvivesScalingAndKillsWithCorrectOutput(t *testing.T) {
	needDocker(t)
	dataDir, err := filepath.Abs(filepath.Join(repoRoot, "..", "shared", "data"))
	require.NoError(t, err)
	dem := filepath.Join(dataDir, demoDEM)
	if _, err := os.Stat(dem); err != nil {
		t.Skipf("real raster %s not found (the project's shared/data): %v", dem, err)
	}
	p := newProject(t, dataDir)
	t.Logf("compose project %s, image %s, data %s", p.name, p.image(), dataDir)

	// Build: the binaries on the host (module cache, no network), then the
	// image from a context holding only them.
	out, err := p.docker(time.Minute, "version", "--format", "{{.Server.Version}}")
	require.NoError(t, err)
	t.Logf("docker engine %s", strings.TrimSpace(out))
	t.Cleanup(func() {
		if t.Failed() {
			p.dumpLogs()
		}
		p.down()
	})
	buildCtx, buildCancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer buildCancel()
	out, err = p.run(buildCtx, filepath.Join(p.root, "deploy", "build.sh"))
	require.NoError(t, err)
	t.Log(strings.TrimSpace(out))
	geoctl := filepath.Join(t.TempDir(), "geoctl")
	_, err = p.run(buildCtx, "go", "build", "-o", geoctl, "./cmd/geoctl")
	require.NoError(t, err)
	p.phase("build binaries and image")

	// Up with one worker, and wait for every health check.
	p.mustCompose(5*time.Minute, "up", "-d", "--scale", "worker=1")
	p.phase("compose up")
	p.waitHealthy(4 * time.Minute)
	p.phase("healthy (3 nats, 5 services)")
	users, err := p.docker(time.Minute, append([]string{"inspect", "-f", "{{.Name}} {{.Config.User}}"}, p.containers("")...)...)
	require.NoError(t, err)
	for _, line := range strings.Split(strings.TrimSpace(users), "\n") {
		assert.True(t, strings.HasSuffix(line, " 65532:65532"), "container runs as root: %s", line)
	}

	urls := make([]string, 3)
	for i := range urls {
		urls[i] = "nats://" + p.port(fmt.Sprintf("nats-%d", i+1), 4222)
	}
	server := strings.Join(urls, ",")
	nc, err := nats.Connect(server, nats.Name("compose-test"), nats.MaxReconnects(-1), nats.ReconnectWait(250*time.Millisecond))
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	requireR3(t, js)
	requireDashboard(t, "http://"+p.port("monitor", 8090))
	p.phase("streams R3, dashboard answers")

	// The expected output, computed in this process from the same file.
	src, err := raster.ReadFile(dem)
	require.NoError(t, err)
	params := raster.DefaultHillshadeParams()
	params.Scale = 111120
	want, err := raster.Hillshade(src, 0, params)
	require.NoError(t, err)

	// Submit from the host with geoctl; it follows the job and downloads
	// the COG when it ends.
	jobID := "compose-" + events.NewID()
	outDir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	cli := exec.CommandContext(ctx, geoctl, "--server", server, "--timeout", "30s",
		"pipeline", "hillshade", "--input", dem, "--path", "--scale", "111120",
		"--tile-size", fmt.Sprint(tileSize), "--id", jobID, "--out", outDir, "--progress", "plain")
	var cliOut syncBuffer
	cli.Stdout, cli.Stderr = &cliOut, &cliOut
	cli.WaitDelay = 5 * time.Second
	require.NoError(t, cli.Start())
	cliDone := make(chan error, 1)
	go func() { cliDone <- cli.Wait() }()
	defer func() {
		if t.Failed() {
			t.Logf("geoctl output:\n%s", cliOut.String())
		}
	}()

	job := func() (events.JobRecord, error) { return jobRecord(js, jobID) }
	var rec events.JobRecord
	require.True(t, assertEventually(2*time.Minute, 100*time.Millisecond, func() bool {
		rec, err = job()
		return err == nil && rec.State == events.JobRunning && rec.Counts.Succeeded >= 50
	}), "job %s not running with progress: %+v %v\n%s", jobID, rec, err, cliOut.String())
	p.phase(fmt.Sprintf("job running (%d tasks)", rec.Total))
	// stillRunning asserts the job had not ended when a disruption landed.
	stillRunning := func(what string) {
		t.Helper()
		var rec events.JobRecord
		require.True(t, assertEventually(time.Minute, 200*time.Millisecond, func() bool {
			rec, err = job()
			return err == nil
		}), "read job record after %s: %v", what, err)
		require.False(t, rec.State.Terminal(), "job ended (%s) before %s landed: make it bigger", rec.State, what)
		t.Logf("after %s: job %s, %d/%d succeeded", what, rec.State, rec.Counts.Succeeded, rec.Total)
	}

	// Scale workers from 1 to 3 while it runs.
	p.mustCompose(3*time.Minute, "up", "-d", "--no-recreate", "--scale", "worker=3", "worker")
	require.Len(t, p.containers("worker"), 3)
	var live int
	require.True(t, assertEventually(2*time.Minute, 200*time.Millisecond, func() bool {
		live, err = liveWorkers(js)
		return err == nil && live >= 3
	}), "3 workers not registered: %d %v", live, err)
	stillRunning("scaling workers to 3")
	p.phase("scaled workers 1 -> 3")

	// Kill one NATS node and one worker (each worker holds a task now).
	nats3 := p.containers("nats-3")
	require.Len(t, nats3, 1)
	_, err = p.docker(time.Minute, "kill", nats3[0])
	require.NoError(t, err)
	stillRunning("killing nats-3")
	workers := p.containers("worker")
	_, err = p.docker(time.Minute, "kill", workers[0])
	require.NoError(t, err)
	stillRunning("killing a worker")
	p.phase("killed nats-3 and a worker")

	// The killed node comes back and rejoins (a killed container is not
	// restarted by its restart policy: docker kill counts as a stop).
	_, err = p.docker(time.Minute, "start", nats3[0])
	require.NoError(t, err)
	p.waitHealthy(3*time.Minute, nats3[0])
	p.phase("nats-3 restarted and healthy")

	select {
	case err := <-cliDone:
		require.NoError(t, err, "geoctl pipeline:\n%s", cliOut.String())
	case <-ctx.Done():
		t.Fatalf("geoctl pipeline did not finish: %v\n%s", ctx.Err(), cliOut.String())
	}
	p.phase("job finished, COG downloaded")

	rec, err = job()
	require.NoError(t, err)
	assert.Equal(t, events.JobSucceeded, rec.State)
	assert.Equal(t, rec.Total, rec.Counts.Succeeded)
	ran, retried, err := workersOfJob(js, jobID)
	require.NoError(t, err)
	t.Logf("job %s: %d tasks on %d workers %v, %d tasks retried", jobID, rec.Total, len(ran), ran, len(retried))
	for _, r := range retried {
		t.Logf("retried: %s", r)
	}
	assert.GreaterOrEqual(t, len(ran), 3, "tasks ran on the scaled workers")

	got, err := raster.ReadFile(filepath.Join(outDir, "hillshade.tif"))
	require.NoError(t, err)
	requireSamePixels(t, want, got)
	p.phase("output equals the single process")
}

// requireR3 checks that every stream of the platform, its buckets and its
// object store have three replicas.
func requireR3(t *testing.T, js jetstream.JetStream) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	names := js.ListStreams(ctx)
	n := 0
	for info := range names.Info() {
		n++
		assert.Equal(t, 3, info.Config.Replicas, "stream %s replicas", info.Config.Name)
	}
	require.NoError(t, names.Err())
	for _, s := range []string{events.StreamJobs, events.StreamEvents, events.StreamDLQ,
		"KV_" + events.BucketJobs, "KV_" + events.BucketTasks, "KV_" + events.BucketWorkers, "OBJ_" + events.ObjectTiles} {
		info, err := js.Stream(ctx, s)
		if assert.NoError(t, err, "stream %s", s) {
			assert.Equal(t, 3, info.CachedInfo().Config.Replicas, "stream %s replicas", s)
		}
	}
	t.Logf("%d streams, every one R3", n)
}

// jobRecord reads the job's record from geo_jobs.
func jobRecord(js jetstream.JetStream, id string) (events.JobRecord, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	kv, err := js.KeyValue(ctx, events.BucketJobs)
	if err != nil {
		return events.JobRecord{}, err
	}
	e, err := kv.Get(ctx, events.JobKey(events.DefaultTenant, id))
	if err != nil {
		return events.JobRecord{}, err
	}
	var rec events.JobRecord
	return rec, json.Unmarshal(e.Value(), &rec)
}

// liveWorkers counts the registrations in geo_workers.
func liveWorkers(js jetstream.JetStream) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	kv, err := js.KeyValue(ctx, events.BucketWorkers)
	if err != nil {
		return 0, err
	}
	keys, err := kv.Keys(ctx)
	if errors.Is(err, jetstream.ErrNoKeysFound) {
		return 0, nil
	}
	return len(keys), err
}

// workersOfJob returns the workers that ran the job's tasks and the tasks
// that needed more than one attempt, from their records in geo_tasks.
func workersOfJob(js jetstream.JetStream, jobID string) (map[string]int, []string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	kv, err := js.KeyValue(ctx, events.BucketTasks)
	if err != nil {
		return nil, nil, err
	}
	w, err := kv.Watch(ctx, events.TaskKeysOfJob(events.DefaultTenant, jobID), jetstream.IgnoreDeletes())
	if err != nil {
		return nil, nil, err
	}
	defer func() { _ = w.Stop() }()
	ran := map[string]int{}
	var retried []string
	for e := range w.Updates() {
		if e == nil {
			return ran, retried, nil
		}
		var rec events.TaskRecord
		if err := json.Unmarshal(e.Value(), &rec); err != nil {
			return nil, nil, err
		}
		if rec.WorkerID != "" {
			ran[rec.WorkerID]++
		}
		if rec.Attempt > 1 || len(rec.Errors) > 0 {
			msg := fmt.Sprintf("%s attempt %d", rec.Spec.ID, rec.Attempt)
			for _, a := range rec.Errors {
				msg += fmt.Sprintf("; attempt %d on %s: %s", a.Attempt, a.WorkerID, a.Error)
			}
			retried = append(retried, msg)
		}
	}
	return nil, nil, ctx.Err()
}

// requireDashboard checks that the monitor serves its dashboard and API.
func requireDashboard(t *testing.T, base string) {
	t.Helper()
	for _, path := range []string{"/", "/api/overview"} {
		resp, err := http.Get(base + path)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, "GET %s%s", base, path)
	}
	t.Logf("monitor dashboard at %s/", base)
}

func requireSamePixels(t *testing.T, want, got *raster.Raster) {
	t.Helper()
	require.Equal(t, want.Width, got.Width)
	require.Equal(t, want.Height, got.Height)
	require.Equal(t, want.Bands(), got.Bands())
	assert.Equal(t, want.Type, got.Type)
	assert.Equal(t, want.Transform, got.Transform)
	assert.Equal(t, want.EPSG, got.EPSG)
	diff := 0
	for b := range want.Pix {
		for i, v := range want.Pix[b] {
			if g := got.Pix[b][i]; g != v && !(math.IsNaN(g) && math.IsNaN(v)) {
				diff++
			}
		}
	}
	assert.Zero(t, diff, "pixels differ between the compose cluster and the single process")
}
