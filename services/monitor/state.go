package monitor

import (
	"encoding/json"
	"sort"
	"strings"

	"github.com/geocluster/geocluster/libs/events"
)

// The state is what the monitor derives from the EVENTS stream: counters
// and histograms that only grow, and the stream sequence of the last event
// they include. It is snapshotted to geo_monitor as JSON and restored at
// start, so that a restarted monitor neither loses nor double counts: an
// event at or below Seq is already counted and is skipped.

// durationBuckets are the upper bounds, in seconds, of the task duration,
// wait and job duration histograms.
var durationBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800}

// hist is a cumulative-free histogram: Counts[i] counts observations in
// (bounds[i-1], bounds[i]]; the last counts those above every bound.
type hist struct {
	Counts []uint64 `json:"counts"`
	Sum    float64  `json:"sum"`
	Count  uint64   `json:"count"`
}

func (h *hist) observe(v float64) {
	if len(h.Counts) != len(durationBuckets)+1 {
		h.Counts = make([]uint64, len(durationBuckets)+1)
	}
	i := sort.SearchFloat64s(durationBuckets, v)
	h.Counts[i]++
	h.Sum += v
	h.Count++
}

// cumulative returns the bucket counts as Prometheus wants them: by upper
// bound, counting every observation at or below it.
func (h *hist) cumulative() map[float64]uint64 {
	out := make(map[float64]uint64, len(durationBuckets))
	var run uint64
	for i, b := range durationBuckets {
		if i < len(h.Counts) {
			run += h.Counts[i]
		}
		out[b] = run
	}
	return out
}

// quantile estimates the q-quantile by linear interpolation in its bucket.
func (h *hist) quantile(q float64) (float64, bool) {
	if h.Count == 0 {
		return 0, false
	}
	rank := q * float64(h.Count)
	var run float64
	for i, c := range h.Counts {
		if run+float64(c) >= rank && c > 0 {
			lo := 0.0
			if i > 0 {
				lo = durationBuckets[i-1]
			}
			if i >= len(durationBuckets) {
				return lo, true
			}
			hi := durationBuckets[i]
			return lo + (hi-lo)*(rank-run)/float64(c), true
		}
		run += float64(c)
	}
	return durationBuckets[len(durationBuckets)-1], true
}

// taskCounters are the counts of one (tenant, op, priority).
type taskCounters struct {
	Started      uint64 `json:"started"`
	Done         uint64 `json:"done"`
	Failed       uint64 `json:"failed"`
	Retried      uint64 `json:"retried"`
	DeadLettered uint64 `json:"deadlettered"`
	Skipped      uint64 `json:"skipped"`
	Cancelled    uint64 `json:"cancelled"`
	Backups      uint64 `json:"backups"`
	Superseded   uint64 `json:"superseded"`
	Duration     hist   `json:"duration"`
	Wait         hist   `json:"wait"`
}

// taskLabels are the labels of the task metrics.
type taskLabels struct{ Tenant, Op, Priority string }

func (l taskLabels) key() string { return l.Tenant + "\x1f" + l.Op + "\x1f" + l.Priority }

func parseTaskLabels(k string) taskLabels {
	p := strings.SplitN(k, "\x1f", 3)
	for len(p) < 3 {
		p = append(p, "")
	}
	return taskLabels{Tenant: p[0], Op: p[1], Priority: p[2]}
}

// state is the monitor's derived state; the zero value is empty.
type state struct {
	// Seq is the EVENTS stream sequence of the last event applied.
	Seq uint64 `json:"seq"`
	// Tasks by taskLabels.key().
	Tasks map[string]*taskCounters `json:"tasks"`
	// Jobs counts job events by tenant and state.
	Jobs map[string]map[events.JobState]uint64 `json:"jobs"`
	// JobDuration by tenant: from submission to a final state.
	JobDuration map[string]*hist `json:"job_duration"`
	// Workers counts worker lifecycle events by state.
	Workers map[events.WorkerState]uint64 `json:"workers"`
	// Cache is the last statistics event of each cache node.
	Cache map[string]events.CacheStats `json:"cache"`
	// Replicator counts replicator events by kind.
	Replicator map[string]uint64 `json:"replicator"`
	// Rejected counts events that did not decode, by subject kind.
	Rejected map[string]uint64 `json:"rejected"`
}

func newState() *state {
	s := &state{}
	s.init()
	return s
}

// init makes every map of a decoded or new state usable.
func (s *state) init() {
	if s.Tasks == nil {
		s.Tasks = map[string]*taskCounters{}
	}
	if s.Jobs == nil {
		s.Jobs = map[string]map[events.JobState]uint64{}
	}
	if s.JobDuration == nil {
		s.JobDuration = map[string]*hist{}
	}
	if s.Workers == nil {
		s.Workers = map[events.WorkerState]uint64{}
	}
	if s.Cache == nil {
		s.Cache = map[string]events.CacheStats{}
	}
	if s.Replicator == nil {
		s.Replicator = map[string]uint64{}
	}
	if s.Rejected == nil {
		s.Rejected = map[string]uint64{}
	}
}

func (s *state) task(l taskLabels) *taskCounters {
	k := l.key()
	c := s.Tasks[k]
	if c == nil {
		c = &taskCounters{}
		s.Tasks[k] = c
	}
	return c
}

// applied says what an event changed, for the live feed.
type applied struct {
	task   *events.TaskEvent
	job    *events.JobEvent
	worker *events.WorkerEvent
}

// apply counts the event at stream sequence seq on subject. Events at or
// below s.Seq were counted before (a redelivery after a restart) and are
// skipped; so is anything that does not decode, counted in Rejected.
func (s *state) apply(seq uint64, subject string, data []byte) (applied, bool) {
	if seq <= s.Seq {
		return applied{}, false
	}
	s.Seq = seq
	tokens := strings.Split(subject, ".")
	switch {
	case len(tokens) == 6 && tokens[1] == "events" && tokens[3] == "task":
		e, err := events.DecodeTaskEvent(data)
		if err != nil {
			s.Rejected["task"]++
			return applied{}, true
		}
		s.applyTask(e)
		return applied{task: &e}, true
	case len(tokens) == 6 && tokens[1] == "events" && tokens[3] == "job":
		e, err := events.DecodeJobEvent(data)
		if err != nil {
			s.Rejected["job"]++
			return applied{}, true
		}
		s.applyJob(e)
		return applied{job: &e}, true
	case len(tokens) == 4 && tokens[1] == "workers":
		var e events.WorkerEvent
		if err := json.Unmarshal(data, &e); err != nil || e.State == "" {
			s.Rejected["worker"]++
			return applied{}, true
		}
		s.Workers[e.State]++
		return applied{worker: &e}, true
	case len(tokens) == 4 && tokens[1] == "cache" && tokens[3] == "stats":
		st, err := events.DecodeCacheStats(data)
		if err != nil {
			s.Rejected["cache"]++
			return applied{}, true
		}
		s.Cache[st.Node] = st
	case len(tokens) >= 3 && tokens[1] == "replicator":
		s.Replicator[tokens[2]]++
	}
	return applied{}, true
}

func (s *state) applyTask(e events.TaskEvent) {
	prio := string(e.Priority)
	if prio == "" {
		prio = "unknown"
	}
	c := s.task(taskLabels{Tenant: e.Tenant, Op: e.Op, Priority: prio})
	switch e.State {
	case events.TaskStarted:
		c.Started++
		if e.WaitMS > 0 {
			c.Wait.observe(e.WaitMS / 1000)
		}
	case events.TaskSucceeded:
		c.Done++
		c.Duration.observe(e.DurationMS / 1000)
	case events.TaskFailed:
		c.Failed++
		if e.DurationMS > 0 {
			c.Duration.observe(e.DurationMS / 1000)
		}
	case events.TaskRetrying:
		c.Retried++
	case events.TaskDeadLettered:
		c.DeadLettered++
	case events.TaskSkipped:
		c.Skipped++
	case events.TaskCancelled:
		c.Cancelled++
	case events.TaskBackup:
		c.Backups++
	case events.TaskSuperseded:
		c.Superseded++
	}
}

func (s *state) applyJob(e events.JobEvent) {
	byState := s.Jobs[e.Tenant]
	if byState == nil {
		byState = map[events.JobState]uint64{}
		s.Jobs[e.Tenant] = byState
	}
	byState[e.State]++
	switch e.State {
	case events.JobSucceeded, events.JobFailed, events.JobCancelled:
		if e.SubmittedAt != nil {
			h := s.JobDuration[e.Tenant]
			if h == nil {
				h = &hist{}
				s.JobDuration[e.Tenant] = h
			}
			h.observe(max(0, e.At.Sub(*e.SubmittedAt).Seconds()))
		}
	}
}

// totals sums the task counters over every label set.
func (s *state) totals() taskCounters {
	var t taskCounters
	for _, c := range s.Tasks {
		t.Started += c.Started
		t.Done += c.Done
		t.Failed += c.Failed
		t.Retried += c.Retried
		t.DeadLettered += c.DeadLettered
		t.Skipped += c.Skipped
		t.Cancelled += c.Cancelled
		t.Backups += c.Backups
		t.Superseded += c.Superseded
	}
	return t
}

// durationTotal merges the task duration histograms of every label set.
func (s *state) durationTotal() hist {
	var h hist
	h.Counts = make([]uint64, len(durationBuckets)+1)
	for _, c := range s.Tasks {
		for i, n := range c.Duration.Counts {
			h.Counts[i] += n
		}
		h.Sum += c.Duration.Sum
		h.Count += c.Duration.Count
	}
	return h
}
