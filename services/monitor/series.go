package monitor

import (
	"context"
	"time"
)

// Every EvalInterval the monitor takes a sample: the Prometheus registry
// goes into the rules' store and the alert rules are evaluated; the
// dashboard's overview is computed and its chart series extended.

// rateWindow is the window of the overview's throughput and latency.
const rateWindow = time.Minute

// seriesNames are the chart series /api/series serves.
var seriesNames = []string{"throughput", "latency_p50", "latency_p99", "queue_pending", "workers_busy"}

// seriesSet keeps the chart series and the recent totals the rates come
// from.
type seriesSet struct {
	retention time.Duration
	points    map[string][][2]float64 // name -> [unix ms, value]
	totals    []totalsAt
}

type totalsAt struct {
	at   time.Time
	done uint64
	dur  hist
}

func newSeriesSet(retention time.Duration) *seriesSet {
	return &seriesSet{retention: retention, points: map[string][][2]float64{}}
}

func (s *seriesSet) add(name string, at time.Time, v float64) {
	p := append(s.points[name], [2]float64{float64(at.UnixMilli()), v})
	cut := float64(at.Add(-s.retention).UnixMilli())
	i := 0
	for i < len(p) && p[i][0] < cut {
		i++
	}
	s.points[name] = p[i:]
}

// since returns the points of name newer than from.
func (s *seriesSet) since(name string, from time.Time) [][2]float64 {
	cut := float64(from.UnixMilli())
	out := [][2]float64{}
	for _, p := range s.points[name] {
		if p[0] >= cut {
			out = append(out, p)
		}
	}
	return out
}

// Overview is the dashboard's header: what the cluster does now.
type Overview struct {
	At             time.Time        `json:"at"`
	Jobs           map[string]int   `json:"jobs"`
	Tasks          map[string]int64 `json:"tasks"`
	ThroughputPerS float64          `json:"throughput_per_s"`
	LatencyMS      map[string]any   `json:"latency_ms"`
	Workers        map[string]int   `json:"workers"`
	Queues         []QueueDepth     `json:"queues"`
	Cache          map[string]any   `json:"cache"`
	AlertsFiring   int              `json:"alerts_firing"`
}

// sampleLoop takes a sample every EvalInterval.
func (m *Monitor) sampleLoop(ctx context.Context) error {
	t := time.NewTicker(m.cfg.EvalInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case now := <-t.C:
			m.sample(ctx, now)
		}
	}
}

func (m *Monitor) sample(ctx context.Context, now time.Time) {
	if mfs, err := m.reg.Gather(); err != nil {
		m.log.Warn().Err(err).Msg("gather metrics")
	} else if err := m.alerts.store.AppendGathered(mfs, now); err != nil {
		m.log.Warn().Err(err).Msg("store samples")
	}
	if m.leading.Load() {
		m.alerts.eval(ctx, now) // one monitor per ID publishes alerts
	}

	m.mu.Lock()
	tot := m.st.totals()
	m.series.totals = append(m.series.totals, totalsAt{at: now, done: tot.Done, dur: m.st.durationTotal()})
	i := 0
	for i < len(m.series.totals)-1 && now.Sub(m.series.totals[i+1].at) >= rateWindow {
		i++
	}
	m.series.totals = m.series.totals[i:]
	m.mu.Unlock()

	ov := m.overview()
	m.mu.Lock()
	m.series.add("throughput", now, ov.ThroughputPerS)
	if v, ok := ov.LatencyMS["p50"].(float64); ok {
		m.series.add("latency_p50", now, v)
	}
	if v, ok := ov.LatencyMS["p99"].(float64); ok {
		m.series.add("latency_p99", now, v)
	}
	var pending uint64
	for _, q := range ov.Queues {
		pending += q.Pending
	}
	m.series.add("queue_pending", now, float64(pending))
	m.series.add("workers_busy", now, float64(ov.Workers["busy"]))
	m.mu.Unlock()
	m.hub.publish("overview", ov)
}

// overview computes the overview from the current state.
func (m *Monitor) overview() Overview {
	m.mu.Lock()
	defer m.mu.Unlock()
	ov := Overview{At: time.Now().UTC(), Jobs: map[string]int{}, Tasks: map[string]int64{}, LatencyMS: map[string]any{},
		Workers: map[string]int{}, Queues: append([]QueueDepth{}, m.queues...), Cache: map[string]any{}}
	for _, st := range []string{"accepted", "running", "succeeded", "failed", "cancelled", "rejected"} {
		ov.Jobs[st] = 0
	}
	for _, j := range m.jobs.byID {
		ov.Jobs[string(j.State)]++
	}
	tot := m.st.totals()
	ov.Tasks["started"] = int64(tot.Started)
	ov.Tasks["done"] = int64(tot.Done)
	ov.Tasks["failed"] = int64(tot.Failed)
	ov.Tasks["retried"] = int64(tot.Retried)
	ov.Tasks["deadlettered"] = int64(tot.DeadLettered)
	if n := len(m.series.totals); n >= 2 {
		first, last := m.series.totals[0], m.series.totals[n-1]
		if secs := last.at.Sub(first.at).Seconds(); secs > 0 {
			ov.ThroughputPerS = float64(last.done-first.done) / secs
		}
		var window hist
		window.Counts = make([]uint64, len(durationBuckets)+1)
		for i := range window.Counts {
			window.Counts[i] = at(last.dur.Counts, i) - at(first.dur.Counts, i)
			window.Count += window.Counts[i]
		}
		if p, ok := window.quantile(0.5); ok {
			ov.LatencyMS["p50"] = p * 1000
		}
		if p, ok := window.quantile(0.99); ok {
			ov.LatencyMS["p99"] = p * 1000
		}
	}
	for _, k := range []string{"total", "busy", "running_tasks", "capacity"} {
		ov.Workers[k] = 0
	}
	for _, w := range m.live {
		ov.Workers["total"]++
		if w.Running > 0 {
			ov.Workers["busy"]++
		}
		ov.Workers["running_tasks"] += w.Running
		ov.Workers["capacity"] += w.Capacity
	}
	var hits, misses uint64
	for _, c := range m.st.Cache {
		hits += c.Hits
		misses += c.Misses
	}
	ov.Cache["hits"], ov.Cache["misses"] = hits, misses
	if hits+misses > 0 {
		ov.Cache["hit_rate"] = float64(hits) / float64(hits+misses)
	}
	for k, n := range m.alertCounts {
		if k.state == "firing" {
			ov.AlertsFiring += n
		}
	}
	return ov
}

func at(c []uint64, i int) uint64 {
	if i < len(c) {
		return c[i]
	}
	return 0
}
