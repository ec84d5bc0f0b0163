package monitor

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/geocluster/geocluster/libs/events"
	"github.com/geocluster/geocluster/services/monitor/web"
)

// routes is the monitor's HTTP surface: the dashboard, /metrics, the JSON
// API the dashboard reads, its event stream, and output tiles.
func (m *Monitor) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorLog: promLogger{m}}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		if !m.nc.IsConnected() {
			http.Error(w, "nats disconnected", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /api/overview", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, m.overview()) })
	mux.HandleFunc("GET /api/jobs", m.apiJobs)
	mux.HandleFunc("GET /api/jobs/{tenant}/{id}", m.apiJob)
	mux.HandleFunc("GET /api/workers", m.apiWorkers)
	mux.HandleFunc("GET /api/alerts", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, m.alerts.active()) })
	mux.HandleFunc("GET /api/rules", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, m.alerts.ruleList()) })
	mux.HandleFunc("GET /api/series", m.apiSeries)
	mux.HandleFunc("GET /api/stream", m.serveSSE)
	mux.HandleFunc("GET /tiles/", m.tile)
	mux.Handle("GET /", web.Handler())
	return mux
}

type promLogger struct{ m *Monitor }

func (l promLogger) Println(v ...any) {
	l.m.log.Warn().Interface("detail", v).Msg("metrics exposition")
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func apiError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

func (m *Monitor) apiJobs(w http.ResponseWriter, r *http.Request) {
	limit := 50
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10000 {
			apiError(w, http.StatusBadRequest, "limit: must be a number in 1..10000")
			return
		}
		limit = n
	}
	m.mu.Lock()
	list := m.jobs.list(limit)
	m.mu.Unlock()
	writeJSON(w, http.StatusOK, list)
}

// JobDetail is a job with its tasks and the web-map tiles it produced.
type JobDetail struct {
	Job   JobItem    `json:"job"`
	Tasks []TaskItem `json:"tasks"`
	Tiles []TileSet  `json:"tiles"`
}

// TileSet is a web-map tile pyramid a tile_xyz task wrote.
type TileSet struct {
	TaskID  string              `json:"task_id"`
	Prefix  string              `json:"prefix"`
	MinZoom int                 `json:"min_zoom"`
	MaxZoom int                 `json:"max_zoom"`
	Zooms   map[string][][2]int `json:"zooms"`
}

func (m *Monitor) apiJob(w http.ResponseWriter, r *http.Request) {
	tenant, id := r.PathValue("tenant"), r.PathValue("id")
	if !events.ValidToken(tenant) {
		apiError(w, http.StatusBadRequest, "tenant: not a valid token")
		return
	}
	if !events.ValidToken(id) {
		apiError(w, http.StatusBadRequest, "id: not a valid token")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	key := events.JobKey(tenant, id)
	m.mu.Lock()
	job, ok := m.jobs.byID[key]
	m.mu.Unlock()
	if !ok {
		kv, err := m.js.KeyValue(ctx, events.BucketJobs)
		if err != nil {
			apiError(w, http.StatusServiceUnavailable, err.Error())
			return
		}
		e, err := kv.Get(ctx, key)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			apiError(w, http.StatusNotFound, "job "+tenant+"/"+id+" not found")
			return
		}
		var rec events.JobRecord
		if err == nil {
			err = json.Unmarshal(e.Value(), &rec)
		}
		if err != nil {
			apiError(w, http.StatusServiceUnavailable, err.Error())
			return
		}
		job = jobItem(rec)
	}
	recs, err := m.jobTasks(ctx, tenant, id)
	if err != nil {
		apiError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	d := JobDetail{Job: job, Tasks: make([]TaskItem, 0, len(recs)), Tiles: []TileSet{}}
	var sets []TileSet
	for _, t := range recs {
		deps := t.Spec.Deps
		if deps == nil {
			deps = []string{}
		}
		d.Tasks = append(d.Tasks, TaskItem{ID: t.Spec.ID, Op: t.Spec.Op, State: t.State, Deps: deps,
			Attempt: t.Attempt, WorkerID: t.WorkerID, UpdatedAt: t.UpdatedAt})
		if t.Spec.Op == events.OpTileXYZ && t.State == events.TaskSucceeded {
			var p events.TileXYZParams
			if json.Unmarshal(t.Spec.Params, &p) == nil && p.Prefix != "" {
				sets = append(sets, TileSet{TaskID: t.Spec.ID, Prefix: p.Prefix, MinZoom: p.MinZoom, MaxZoom: p.MaxZoom, Zooms: map[string][][2]int{}})
			}
		}
	}
	sort.Slice(d.Tasks, func(i, j int) bool { return d.Tasks[i].ID < d.Tasks[j].ID })
	if len(sets) > 0 {
		if err := m.listTiles(ctx, sets); err != nil {
			m.log.Warn().Err(err).Str("job", id).Msg("list output tiles")
		}
		d.Tiles = sets
	}
	writeJSON(w, http.StatusOK, d)
}

// maxListedTiles bounds the tiles one job view lists.
const maxListedTiles = 20_000

// listTiles fills the zooms of sets from the object names in geo_tiles
// (<prefix>/<z>/<x>/<y>.png).
func (m *Monitor) listTiles(ctx context.Context, sets []TileSet) error {
	store, err := m.js.ObjectStore(ctx, events.ObjectTiles)
	if err != nil {
		return err
	}
	infos, err := store.List(ctx)
	if errors.Is(err, jetstream.ErrNoObjectsFound) {
		return nil
	}
	if err != nil {
		return err
	}
	n := 0
	for _, info := range infos {
		for i := range sets {
			rest, ok := strings.CutPrefix(info.Name, sets[i].Prefix+"/")
			if !ok {
				continue
			}
			p := strings.Split(strings.TrimSuffix(rest, ".png"), "/")
			if len(p) != 3 || !strings.HasSuffix(rest, ".png") {
				continue
			}
			z, e1 := strconv.Atoi(p[0])
			x, e2 := strconv.Atoi(p[1])
			y, e3 := strconv.Atoi(p[2])
			if e1 != nil || e2 != nil || e3 != nil {
				continue
			}
			k := strconv.Itoa(z)
			sets[i].Zooms[k] = append(sets[i].Zooms[k], [2]int{x, y})
			if n++; n >= maxListedTiles {
				return nil
			}
		}
	}
	return nil
}

func (m *Monitor) apiWorkers(w http.ResponseWriter, _ *http.Request) {
	m.mu.Lock()
	out := make([]WorkerItem, 0, len(m.live))
	for _, wi := range m.live {
		out = append(out, workerItem(wi))
	}
	m.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	writeJSON(w, http.StatusOK, out)
}

func (m *Monitor) apiSeries(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Query().Get("name")
	known := false
	for _, n := range seriesNames {
		known = known || n == name
	}
	if !known {
		apiError(w, http.StatusBadRequest, "name: must be one of "+strings.Join(seriesNames, ", "))
		return
	}
	window := 15 * time.Minute
	if v := r.URL.Query().Get("window"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			apiError(w, http.StatusBadRequest, "window: must be a positive duration such as 15m")
			return
		}
		window = d
	}
	m.mu.Lock()
	pts := m.series.since(name, time.Now().Add(-window))
	m.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"name": name, "points": pts})
}

// tile serves a PNG object of geo_tiles: the dashboard's map preview.
// Only .png objects are served.
func (m *Monitor) tile(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/tiles/")
	if name == "" || path.Ext(name) != ".png" || strings.Contains(name, "..") {
		apiError(w, http.StatusBadRequest, "tile: must name a .png object")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	store, err := m.js.ObjectStore(ctx, events.ObjectTiles)
	if err != nil {
		apiError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	data, err := store.GetBytes(ctx, name)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		apiError(w, http.StatusNotFound, "tile "+name+" not found")
		return
	}
	if err != nil {
		apiError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "max-age=60")
	_, _ = w.Write(data)
}
