package monitor_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/geocluster/geocluster/internal/onebox"
	"github.com/geocluster/geocluster/libs/events"
	"github.com/geocluster/geocluster/libs/natstest"
	"github.com/geocluster/geocluster/libs/pipeline"
	"github.com/geocluster/geocluster/libs/raster"
	"github.com/geocluster/geocluster/services/monitor"
	"github.com/geocluster/geocluster/services/worker"
)

// The dashboard tests drive a headless Chromium against a real cluster and
// monitor. Without a browser they are skipped, unless GEO_REQUIRE_CHROMIUM=1
// (CI) makes that a failure. Their screenshots go to GEO_ARTIFACTS_DIR when
// set, else to the test's temporary directory; the path is logged.
const (
	envRequireChromium = "GEO_REQUIRE_CHROMIUM"
	envArtifactsDir    = "GEO_ARTIFACTS_DIR"
)

// pageWait bounds every wait for the page to show something.
const pageWait = 90 * time.Second

func TestDashboardFollowsAJobLiveToCompletion(t *testing.T) {
	t.Parallel()
	browser := findChromium(t)
	g := newGates("prep", "map", "reduce")
	d := newDashboard(t, g)
	tab := d.open(t, browser, "")

	// The page is live before the job exists: the stream is open and both
	// workers are listed.
	tab.waitFor(t, `document.querySelector('#conn').dataset.conn === 'open'`)
	tab.waitFor(t, `document.querySelectorAll('#workers tr[data-worker]').length === 2`)

	// 1 + 8 + 20 + 4 + 1 tasks; the three middle layers wait on gates the
	// test opens one by one, so the progress the page must show is known at
	// every step.
	job := gatedJob("dash")
	require.Len(t, job.Tasks, 34)
	d.submit(t, job)

	progress := func(want float64) {
		t.Helper()
		expr := fmt.Sprintf(`(() => {
			const p = document.querySelector('#jobs tr[data-job=%q] [data-progress]');
			return p ? Number(p.dataset.progress) : -1;
		})()`, job.ID)
		var got float64
		require.Eventually(t, func() bool {
			got = evaluate[float64](tab.ctx, t, expr)
			return math.Abs(got-want) < 0.05
		}, pageWait, 50*time.Millisecond, "progress of %s: want %.1f %%, last read %.1f %%", job.ID, want, got)
		t.Logf("progress %.1f %%", got)
	}
	// The root ran; the preps are held: 1 of 34.
	progress(100 * 1.0 / 34)

	// Open the job: its graph has a node per task, the held preps running.
	require.NoError(t, chromedp.Do(tab.ctx, chromedp.Click(chromedp.CSS(fmt.Sprintf(`#jobs tr[data-job=%q]`, job.ID)))))
	tab.waitFor(t, `document.querySelectorAll('#dag g.task[data-task]').length === 34`)
	tab.waitFor(t, `document.querySelectorAll('#dag g.task[data-task^="prep-"][data-state="running"]').length === 8`)

	g.open("prep")
	progress(100 * 9.0 / 34)
	tab.waitFor(t, `document.querySelectorAll('#dag g.task[data-task^="map-"][data-state="running"]').length === 20`)

	g.open("map")
	progress(100 * 29.0 / 34)

	g.open("reduce")
	progress(100)
	tab.waitFor(t, `document.querySelectorAll('#dag g.task[data-state="succeeded"]').length === 34`)
	tab.waitFor(t, fmt.Sprintf(`document.querySelector('#jobs tr[data-job=%q]').dataset.state === 'succeeded'`, job.ID))
	tab.waitFor(t, `Number(document.querySelector('[data-stat="tasks.done"]').textContent.replace(/,/g, '')) >= 34`)
	tab.waitFor(t, `document.querySelectorAll('#queues [data-queue]').length > 0`)
	tab.waitFor(t, `document.querySelector('#chart-throughput path.line[data-series="throughput"]') !== null`)

	tab.screenshot(t, "dashboard.png")
	assert.Empty(t, tab.problems(), "the page reported errors")
}

// A job that renders web-map tiles shows them in the map preview: every PNG
// of the chosen zoom loads, and the zoom selector switches the grid.
func TestDashboardPreviewsTheWebMapTilesOfAJob(t *testing.T) {
	t.Parallel()
	browser := findChromium(t)
	d := newDashboard(t, nil)

	dem := reliefDEM(t)
	var buf bytes.Buffer
	require.NoError(t, raster.Encode(&buf, dem, raster.EncodeOptions{}))
	d.putObject(t, "inputs/relief.tif", buf.Bytes())
	job, err := pipeline.Plan(pipeline.Spec{ID: "relief", Op: pipeline.Hillshade, TileSize: 256, Scale: 111120,
		Inputs: []pipeline.Input{{Object: "inputs/relief.tif", Width: dem.Width, Height: dem.Height}},
		XYZ:    &pipeline.XYZ{MinZoom: 10, MaxZoom: 12}})
	require.NoError(t, err)
	d.submit(t, job)

	tab := d.open(t, browser, "#/job/default/relief")
	tab.waitFor(t, `document.querySelector('#detail').dataset.state === 'succeeded'`)
	tab.waitFor(t, `!document.querySelector('#tiles-panel').hidden`)
	for _, z := range []int{12, 10} {
		want := d.objectCount(t, fmt.Sprintf("%s/%d/", job.Labels["xyz"], z))
		require.Positive(t, want, "zoom %d has tiles", z)
		require.NoError(t, chromedp.Do(tab.ctx, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => {
			const s = document.querySelector('#tile-zoom');
			s.value = '%d';
			s.dispatchEvent(new Event('change'));
			document.querySelector('#tiles-panel').scrollIntoView();
		})()`, z))))
		tab.waitFor(t, fmt.Sprintf(`(() => {
			const grid = document.querySelector('#tiles');
			const imgs = [...grid.querySelectorAll('img[data-tile^="%d/"]')];
			return grid.dataset.zoom === '%d' && imgs.length === %d &&
				imgs.every((i) => i.complete && i.naturalWidth === 256 && !i.classList.contains('missing'));
		})()`, z, z, want))
	}
	tab.screenshot(t, "dashboard-tiles.png")
	assert.Empty(t, tab.problems(), "the page reported errors")
}

// A graph of about 2000 tasks is drawn as one node per layer and op, with
// counts per state that reach the total.
func TestDashboardGroupsABigTaskGraph(t *testing.T) {
	t.Parallel()
	browser := findChromium(t)
	d := newDashboard(t, nil)
	job := fanOutJob("big", 1950, 50) // 1 + 1950 + 39 + 1 tasks
	require.Len(t, job.Tasks, 1991)
	d.submit(t, job)

	tab := d.open(t, browser, "#/job/default/big")
	tab.waitFor(t, `document.querySelector('#dag').dataset.tasks === '1991'`)
	tab.waitFor(t, `document.querySelectorAll('#dag g.group').length === 4 && document.querySelectorAll('#dag g.task').length === 0`)
	tab.waitFor(t, `document.querySelector('#jobs tr[data-job="big"] [data-progress]').dataset.progress === '100.0'`)
	tab.waitFor(t, `[...document.querySelectorAll('#dag g.group')]
		.reduce((n, g) => n + (JSON.parse(g.dataset.counts).succeeded || 0), 0) === 1991`)
	tab.screenshot(t, "dashboard-big.png")
	assert.Empty(t, tab.problems(), "the page reported errors")
}

// findChromium returns the path of a Chromium or Chrome binary, or skips
// the test when there is none (fails when GEO_REQUIRE_CHROMIUM=1).
func findChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "no chromium, chromium-browser or google-chrome on PATH (Debian: apt-get install chromium)"
	if os.Getenv(envRequireChromium) == "1" {
		t.Fatalf("%s, and %s=1", msg, envRequireChromium)
	}
	t.Skip(msg)
	return ""
}

// dashboard is a cluster (scheduler, cache node, two workers) with a
// monitor serving the dashboard on a free port.
type dashboard struct {
	cl   *onebox.Cluster
	js   jetstream.JetStream
	base string // http://host:port
}

// newDashboard starts the cluster and the monitor; with gates, the workers
// also run the op "gate".
func newDashboard(t *testing.T, g *gates) *dashboard {
	t.Helper()
	cfg := onebox.DefaultConfig()
	cfg.Port = -1
	cfg.Workers = 2
	cfg.Topology = natstest.Topology()
	cfg.Worker.DrainTimeout = time.Second
	if g != nil {
		ops := worker.PlatformRegistry()
		require.NoError(t, ops.Register("gate", g.op))
		cfg.Ops = ops
		cfg.Scheduler.Ops["gate"] = func(json.RawMessage) error { return nil }
	}
	cl, err := onebox.Start(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, cl.Stop()) })

	nc, err := nats.Connect(cl.URL(), nats.Name("monitor"), nats.Timeout(natstest.DialTimeout))
	require.NoError(t, err)
	mcfg := monitor.DefaultConfig()
	mcfg.HTTPAddr = "127.0.0.1:0"
	mcfg.Topology = cfg.Topology
	ctx, cancel := context.WithCancel(context.Background())
	m, err := monitor.Start(ctx, monitor.Deps{NC: nc, Log: zerolog.Nop()}, mcfg)
	if err != nil {
		cancel()
		nc.Close()
		require.NoError(t, err)
	}
	// Cleanups run last first: the monitor stops before the cluster.
	t.Cleanup(func() {
		cancel()
		assert.NoError(t, m.Wait())
		nc.Close()
	})

	client := natstest.Dial(t, cl.URL(), "dashboard-test")
	js, err := jetstream.New(client)
	require.NoError(t, err)
	return &dashboard{cl: cl, js: js, base: "http://" + m.Addr() + "/"}
}

func (d *dashboard) submit(t *testing.T, job events.JobSpec) {
	t.Helper()
	data, err := json.Marshal(job)
	require.NoError(t, err)
	_, err = d.js.Publish(t.Context(), events.JobSubmitSubject(events.DefaultTenant), data, jetstream.WithMsgID(job.ID))
	require.NoError(t, err)
}

func (d *dashboard) putObject(t *testing.T, name string, data []byte) {
	t.Helper()
	store, err := d.js.ObjectStore(t.Context(), events.ObjectTiles)
	require.NoError(t, err)
	_, err = store.PutBytes(t.Context(), name, data)
	require.NoError(t, err)
}

// objectCount counts the objects of geo_tiles whose name starts with prefix.
func (d *dashboard) objectCount(t *testing.T, prefix string) int {
	t.Helper()
	store, err := d.js.ObjectStore(t.Context(), events.ObjectTiles)
	require.NoError(t, err)
	infos, err := store.List(t.Context())
	require.NoError(t, err)
	n := 0
	for _, info := range infos {
		if strings.HasPrefix(info.Name, prefix) {
			n++
		}
	}
	return n
}

// tab is a headless browser showing the dashboard; it remembers what the
// page reported as errors (uncaught exceptions, console.error, failed
// loads, blocked by the Content Security Policy).
type tab struct {
	ctx  context.Context
	mu   sync.Mutex
	errs []string
}

// open starts a browser on the dashboard, at the hash route fragment.
func (d *dashboard) open(t *testing.T, browser, fragment string) *tab {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browser), chromedp.NoSandbox, chromedp.Headless, chromedp.WindowSize(1400, 1000))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	p := &tab{ctx: ctx}
	messages := chromedp.Console(ctx) // starts the browser, bound to ctx
	var wg sync.WaitGroup
	wg.Go(func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.IsException() || m.Type == "error" {
				p.mu.Lock()
				p.errs = append(p.errs, m.String())
				p.mu.Unlock()
			}
		}
	})
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
		wg.Wait()
	})
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(d.base+fragment)))
	return p
}

func (p *tab) problems() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.errs...)
}

// waitFor polls until the JavaScript expression cond is true in the page.
func (p *tab) waitFor(t *testing.T, cond string) {
	t.Helper()
	require.Eventually(t, func() bool {
		return evaluate[bool](p.ctx, t, "Boolean("+cond+")")
	}, pageWait, 50*time.Millisecond, "page never showed: %s; page errors: %s", cond, strings.Join(p.problems(), "; "))
}

// screenshot writes the whole page, from the top, as a PNG named name in
// GEO_ARTIFACTS_DIR or the test's temporary directory.
func (p *tab) screenshot(t *testing.T, name string) {
	t.Helper()
	require.NoError(t, chromedp.Do(p.ctx, chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`)))
	shot, err := chromedp.Run(p.ctx, chromedp.FullScreenshot(100))
	require.NoError(t, err)
	dir := os.Getenv(envArtifactsDir)
	if dir == "" {
		dir = t.TempDir()
	}
	require.NoError(t, os.MkdirAll(dir, 0o755))
	path := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(path, shot, 0o644))
	t.Logf("screenshot: %s", path)
}

// evaluate runs a JavaScript expression in the page; an error (the page
// is still loading, say) reads as T's zero value and the caller polls
// again.
func evaluate[T any](ctx context.Context, t *testing.T, expr string) T {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Logf("evaluate: %v", err)
	}
	return v
}

// gates hold the tasks of the op "gate" until the test opens theirs.
type gates struct {
	mu sync.Mutex
	ch map[string]chan struct{}
}

type gateParams struct {
	Gate string `json:"gate"`
}

func newGates(names ...string) *gates {
	g := &gates{ch: map[string]chan struct{}{}}
	for _, n := range names {
		g.ch[n] = make(chan struct{})
	}
	return g
}

func (g *gates) open(name string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	close(g.ch[name])
}

// op is the worker op "gate": it succeeds once its gate is open.
func (g *gates) op(ctx context.Context, tk worker.Task) (json.RawMessage, error) {
	var p gateParams
	if err := json.Unmarshal(tk.Params, &p); err != nil {
		return nil, worker.Permanent(err)
	}
	g.mu.Lock()
	ch, ok := g.ch[p.Gate]
	g.mu.Unlock()
	if !ok {
		return nil, worker.Permanent(fmt.Errorf("no gate %q", p.Gate))
	}
	select {
	case <-ch:
		return nil, nil
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
}

// gatedJob is root -> 8 preps -> 20 maps -> 4 reduces -> sink; preps, maps
// and reduces wait on the gate of their layer.
func gatedJob(id string) events.JobSpec {
	job := events.JobSpec{ID: id, Name: "dashboard test", Tasks: []events.TaskSpec{{ID: "root", Op: events.OpNoop}}}
	layer := func(name string, n int, deps func(i int) []string) []string {
		var ids []string
		for i := range n {
			tid := fmt.Sprintf("%s-%02d", name, i)
			params, _ := json.Marshal(gateParams{Gate: name})
			job.Tasks = append(job.Tasks, events.TaskSpec{ID: tid, Op: "gate", Params: params, Deps: deps(i)})
			ids = append(ids, tid)
		}
		return ids
	}
	preps := layer("prep", 8, func(int) []string { return []string{"root"} })
	maps := layer("map", 20, func(i int) []string { return []string{preps[i%len(preps)]} })
	reduces := layer("reduce", 4, func(i int) []string { return maps[i*5 : (i+1)*5] })
	job.Tasks = append(job.Tasks, events.TaskSpec{ID: "sink", Op: events.OpNoop, Deps: reduces})
	return job
}

// fanOutJob is root -> maps -> one reduce per group of maps -> sink, all
// noop.
func fanOutJob(id string, maps, group int) events.JobSpec {
	job := events.JobSpec{ID: id, Tasks: []events.TaskSpec{{ID: "root", Op: events.OpNoop}}}
	var reduces []string
	for r := 0; r*group < maps; r++ {
		var deps []string
		for m := r * group; m < min((r+1)*group, maps); m++ {
			mid := fmt.Sprintf("map-%04d", m)
			job.Tasks = append(job.Tasks, events.TaskSpec{ID: mid, Op: events.OpNoop, Deps: []string{"root"}})
			deps = append(deps, mid)
		}
		rid := fmt.Sprintf("reduce-%03d", r)
		job.Tasks = append(job.Tasks, events.TaskSpec{ID: rid, Op: events.OpNoop, Deps: deps})
		reduces = append(reduces, rid)
	}
	job.Tasks = append(job.Tasks, events.TaskSpec{ID: "sink", Op: events.OpNoop, Deps: reduces})
	return job
}

// reliefDEM is a 512 x 512 elevation model of rolling hills in the Alps
// (EPSG:4326, 0.0005 degree pixels).
func reliefDEM(t *testing.T) *raster.Raster {
	t.Helper()
	r, err := raster.New(512, 512, 1, raster.Float32)
	require.NoError(t, err)
	r.EPSG = 4326
	r.Transform = raster.GeoTransform{7.0, 0.0005, 0, 46.5, 0, -0.0005}
	for row := range r.Height {
		for col := range r.Width {
			x, y := float64(col), float64(row)
			r.Set(0, col, row, 1500+400*math.Sin(x/37)*math.Cos(y/53)+200*math.Sin((x+y)/91)+0.8*x)
		}
	}
	return r
}
