package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/schollz/progressbar/v3"

	"github.com/geocluster/geocluster/internal/onebox"
	"github.com/geocluster/geocluster/internal/progress"
	"github.com/geocluster/geocluster/libs/events"
)

// runDemo uploads the sample GeoTIFFs to geo_tiles, submits a fan-out /
// fan-in job over them through the public API, follows it with a progress
// bar, checks every result against a local computation and writes them out.
func runDemo(ctx context.Context, cl *onebox.Cluster, o options, stdout, stderr io.Writer) error {
	files, err := filepath.Glob(filepath.Join(o.demoData, "*.tif"))
	if err != nil || len(files) == 0 {
		return fmt.Errorf("no sample GeoTIFFs in %s: pass --demo-data DIR (the project's shared/data)", o.demoData)
	}
	sort.Strings(files)
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

	var total int64
	for _, f := range files {
		if st, err := os.Stat(f); err == nil {
			total += st.Size()
		}
	}
	var bar io.Writer = io.Discard
	if progress.IsTerminal(stderr) {
		pb := progressbar.NewOptions64(total, progressbar.OptionSetWriter(stderr), progressbar.OptionSetDescription("upload "),
			progressbar.OptionShowBytes(true), progressbar.OptionClearOnFinish())
		defer func() { _ = pb.Finish() }()
		bar = pb
	}
	want := map[string]string{}
	job := events.JobSpec{ID: "demo-" + events.NewID(), Name: "checksum the sample rasters", Retry: &events.RetryPolicy{InitialMS: 100}}
	var deps []string
	for i, f := range files {
		name := "samples/" + filepath.Base(f)
		sum, err := upload(ctx, store, f, name, bar)
		if err != nil {
			return err
		}
		want[name] = sum
		id := fmt.Sprintf("checksum-%02d", i)
		params, _ := json.Marshal(events.ChecksumParams{Object: name})
		job.Tasks = append(job.Tasks, events.TaskSpec{ID: id, Op: events.OpChecksum, Params: params, Inputs: []string{name}})
		deps = append(deps, id)
	}
	job.Tasks = append(job.Tasks, events.TaskSpec{ID: "manifest", Op: events.OpNoop, Deps: deps})
	fmt.Fprintf(stdout, "demo: uploaded %d GeoTIFFs (%.1f MiB) to object store %s\n", len(files), float64(total)/(1<<20), events.ObjectTiles)

	body, _ := json.Marshal(job)
	started := time.Now()
	var reply events.SubmitReply
	if err := request(nc, events.APISubject(events.DefaultTenant, events.APIVerbSubmit), body, &reply); err != nil {
		return fmt.Errorf("submit: %w", err)
	}
	fmt.Fprintf(stdout, "demo: submitted job %s (%d tasks: %d checksums fan out, 1 manifest fans in)\n", reply.JobID, len(job.Tasks), len(files))
	rec, err := follow(ctx, js, reply.JobID, stderr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "demo: job %s %s in %s\n", rec.ID, rec.State, time.Since(started).Round(time.Millisecond))
	if rec.State != events.JobSucceeded {
		return fmt.Errorf("job %s: %s", rec.State, rec.Error)
	}

	var got events.GetReply
	req, _ := json.Marshal(events.GetRequest{JobID: reply.JobID, Tasks: true})
	if err := request(nc, events.APISubject(events.DefaultTenant, events.APIVerbGet), req, &got); err != nil {
		return fmt.Errorf("get: %w", err)
	}
	return report(got, want, o.out, stdout)
}

// upload puts one file into the object store and returns its local SHA-256.
func upload(ctx context.Context, store jetstream.ObjectStore, path, name string, bar io.Writer) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	r := io.TeeReader(io.TeeReader(f, h), bar)
	if _, err := store.Put(ctx, jetstream.ObjectMeta{Name: name, Description: "sample raster " + filepath.Base(path)}, r); err != nil {
		return "", fmt.Errorf("upload %s: %w", name, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
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

func report(got events.GetReply, want map[string]string, outDir string, stdout io.Writer) error {
	type row struct {
		Task   string `json:"task"`
		Object string `json:"object"`
		Size   uint64 `json:"size"`
		SHA256 string `json:"sha256"`
		Worker string `json:"worker"`
		Match  bool   `json:"matches_local"`
	}
	var rows []row
	bad := 0
	for _, t := range got.Tasks {
		if t.Spec.Op != events.OpChecksum {
			continue
		}
		var res events.ChecksumResult
		if err := json.Unmarshal(t.Result, &res); err != nil {
			return fmt.Errorf("task %s: result: %w", t.Spec.ID, err)
		}
		r := row{Task: t.Spec.ID, Object: res.Object, Size: res.Size, SHA256: res.SHA256, Worker: t.WorkerID, Match: want[res.Object] == res.SHA256}
		if !r.Match {
			bad++
		}
		rows = append(rows, r)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "OBJECT\tBYTES\tSHA-256\tWORKER\tMATCHES LOCAL")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%d\t%s…\t%s\t%v\n", r.Object, r.Size, r.SHA256[:16], r.Worker, r.Match)
	}
	_ = tw.Flush()
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return err
	}
	data, _ := json.MarshalIndent(struct {
		Job     events.JobRecord `json:"job"`
		Results []row            `json:"results"`
	}{got.Job, rows}, "", "  ")
	path := filepath.Join(outDir, "results.json")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "demo: results written to %s\n", path)
	if bad > 0 || len(rows) != len(want) {
		return fmt.Errorf("%d of %d checksums disagree with the local computation", bad+len(want)-len(rows), len(want))
	}
	workers := map[string]bool{}
	for _, r := range rows {
		workers[r.Worker] = true
	}
	fmt.Fprintf(stdout, "demo: all %d checksums match, computed by %d worker(s): %s\n", len(rows), len(workers), strings.Join(keys(workers), ", "))
	return nil
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
