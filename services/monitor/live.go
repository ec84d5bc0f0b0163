package monitor

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/geocluster/geocluster/libs/events"
)

// The live views come from KV watches, not from the event counters: the
// registrations in geo_workers and the job records in geo_jobs are the
// current state, which the dashboard shows and the gauges report.

// liveWorkers are the registrations in geo_workers, by worker id.
type liveWorkers map[string]events.WorkerInfo

type poolLoad struct {
	pool              string
	byState           map[string]int
	running, capacity int
}

// pools sums the registrations by pool, in pool order.
func (l liveWorkers) pools() []poolLoad {
	by := map[string]*poolLoad{}
	for _, w := range l {
		p := by[w.Pool]
		if p == nil {
			p = &poolLoad{pool: w.Pool, byState: map[string]int{}}
			by[w.Pool] = p
		}
		st := string(w.State)
		if st == "" {
			st = string(events.WorkerRegistered)
		}
		p.byState[st]++
		p.running += w.Running
		p.capacity += w.Capacity
	}
	out := make([]poolLoad, 0, len(by))
	for _, p := range by {
		out = append(out, *p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].pool < out[j].pool })
	return out
}

// WorkerItem is a worker as the API shows it.
type WorkerItem struct {
	ID          string            `json:"id"`
	Pool        string            `json:"pool"`
	Zone        string            `json:"zone,omitempty"`
	State       string            `json:"state"`
	Running     int               `json:"running"`
	Capacity    int               `json:"capacity"`
	Completed   uint64            `json:"completed"`
	Failed      uint64            `json:"failed"`
	HeartbeatAt time.Time         `json:"heartbeat_at"`
	Ops         []string          `json:"ops"`
	Breakers    map[string]string `json:"breakers,omitempty"`
}

func workerItem(w events.WorkerInfo) WorkerItem {
	st := string(w.State)
	if st == "" {
		st = string(events.WorkerRegistered)
	}
	return WorkerItem{
		ID: w.ID, Pool: w.Pool, Zone: w.Zone, State: st, Running: w.Running, Capacity: w.Capacity,
		Completed: w.Completed, Failed: w.Failed, HeartbeatAt: w.HeartbeatAt, Ops: w.Ops, Breakers: w.Breakers,
	}
}

// watchWorkers follows geo_workers. A registration that lapses (its TTL
// passed without a heartbeat) leaves a delete marker: the worker is gone.
func (m *Monitor) watchWorkers(ctx context.Context) error {
	return m.watchBucket(ctx, events.BucketWorkers, func(key string, e jetstream.KeyValueEntry) {
		if e == nil {
			m.mu.Lock()
			w, ok := m.live[key]
			delete(m.live, key)
			m.mu.Unlock()
			if ok {
				w.State = events.WorkerLost
				m.hub.publish("worker", workerItem(w))
			}
			return
		}
		var w events.WorkerInfo
		if err := json.Unmarshal(e.Value(), &w); err != nil || w.ID == "" {
			m.log.Warn().Err(err).Str("key", key).Msg("unreadable worker registration")
			return
		}
		m.mu.Lock()
		m.live[key] = w
		m.mu.Unlock()
		m.hub.publish("worker", workerItem(w))
	})
}

// JobItem is a job as the API shows it.
type JobItem struct {
	Tenant    string            `json:"tenant"`
	ID        string            `json:"id"`
	Name      string            `json:"name,omitempty"`
	State     events.JobState   `json:"state"`
	Total     int               `json:"total"`
	Counts    events.TaskCounts `json:"counts"`
	Error     string            `json:"error,omitempty"`
	CreatedAt time.Time         `json:"created_at"`
	UpdatedAt time.Time         `json:"updated_at"`
}

func jobItem(r events.JobRecord) JobItem {
	return JobItem{
		Tenant: r.Tenant, ID: r.ID, Name: r.Name, State: r.State, Total: r.Total, Counts: r.Counts,
		Error: r.Error, CreatedAt: r.SubmittedAt, UpdatedAt: r.UpdatedAt,
	}
}

// jobIndex holds the newest job records, at most max; finished jobs are
// dropped before running ones.
type jobIndex struct {
	max  int
	byID map[string]JobItem // by JobKey
}

func newJobIndex(max int) jobIndex { return jobIndex{max: max, byID: map[string]JobItem{}} }

func (x *jobIndex) put(key string, j JobItem) {
	x.byID[key] = j
	for len(x.byID) > x.max {
		var victim string
		var vFinal bool
		var vAt time.Time
		for k, it := range x.byID {
			final := it.State.Terminal()
			if victim == "" || (final && !vFinal) || (final == vFinal && it.UpdatedAt.Before(vAt)) {
				victim, vFinal, vAt = k, final, it.UpdatedAt
			}
		}
		delete(x.byID, victim)
	}
}

// list returns up to limit jobs, newest first.
func (x *jobIndex) list(limit int) []JobItem {
	out := make([]JobItem, 0, len(x.byID))
	for _, j := range x.byID {
		out = append(out, j)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.After(out[j].CreatedAt)
		}
		return out[i].ID > out[j].ID
	})
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out
}

// watchJobs follows geo_jobs.
func (m *Monitor) watchJobs(ctx context.Context) error {
	return m.watchBucket(ctx, events.BucketJobs, func(key string, e jetstream.KeyValueEntry) {
		if e == nil {
			m.mu.Lock()
			delete(m.jobs.byID, key)
			m.mu.Unlock()
			return
		}
		var r events.JobRecord
		if err := json.Unmarshal(e.Value(), &r); err != nil || r.ID == "" {
			m.log.Warn().Err(err).Str("key", key).Msg("unreadable job record")
			return
		}
		it := jobItem(r)
		m.mu.Lock()
		m.jobs.put(key, it)
		m.mu.Unlock()
		m.hub.publish("job", it)
	})
}

// watchBucket calls f for every current value of bucket and every change
// after it, e nil for a deletion, until ctx is done. A watch that breaks
// (the connection was lost long enough for the server to drop it) is made
// again; replaying current values then is harmless to f.
func (m *Monitor) watchBucket(ctx context.Context, bucket string, f func(key string, e jetstream.KeyValueEntry)) error {
	for ctx.Err() == nil {
		kv, err := m.js.KeyValue(ctx, bucket)
		if err != nil {
			m.log.Warn().Err(err).Str("bucket", bucket).Msg("bind bucket")
			sleep(ctx, time.Second)
			continue
		}
		w, err := kv.WatchAll(ctx)
		if err != nil {
			m.log.Warn().Err(err).Str("bucket", bucket).Msg("watch bucket")
			sleep(ctx, time.Second)
			continue
		}
		watchLoop(ctx, w, f)
		_ = w.Stop()
	}
	return nil
}

func watchLoop(ctx context.Context, w jetstream.KeyWatcher, f func(string, jetstream.KeyValueEntry)) {
	for {
		select {
		case <-ctx.Done():
			return
		case e, ok := <-w.Updates():
			if !ok {
				return
			}
			if e == nil {
				continue // the initial values are all in
			}
			if op := e.Operation(); op == jetstream.KeyValueDelete || op == jetstream.KeyValuePurge {
				f(e.Key(), nil)
				continue
			}
			f(e.Key(), e)
		}
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// TaskItem is a task of a job as the API shows it.
type TaskItem struct {
	ID        string           `json:"id"`
	Op        string           `json:"op"`
	State     events.TaskState `json:"state"`
	Deps      []string         `json:"deps"`
	Attempt   int              `json:"attempt"`
	WorkerID  string           `json:"worker_id,omitempty"`
	UpdatedAt time.Time        `json:"updated_at"`
}

// jobTasks reads every task record of a job with one filtered watch.
func (m *Monitor) jobTasks(ctx context.Context, tenant, jobID string) ([]events.TaskRecord, error) {
	kv, err := m.js.KeyValue(ctx, events.BucketTasks)
	if err != nil {
		return nil, fmt.Errorf("bind %s: %w", events.BucketTasks, err)
	}
	entries, err := events.Latest(ctx, kv, events.TaskKeysOfJob(tenant, jobID))
	if err != nil {
		return nil, fmt.Errorf("read tasks: %w", err)
	}
	out := make([]events.TaskRecord, 0, len(entries))
	for _, e := range entries {
		var r events.TaskRecord
		if err := json.Unmarshal(e.Value(), &r); err != nil {
			continue
		}
		out = append(out, r)
	}
	return out, nil
}
