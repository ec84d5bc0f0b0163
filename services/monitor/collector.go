package monitor

import (
	"github.com/prometheus/client_golang/prometheus"
)

// collector exposes the monitor's state as Prometheus metrics. It is a
// custom collector rather than client_golang's counter vectors because the
// values are restored from a snapshot at start, which those cannot take.
type collector struct{ m *Monitor }

var (
	taskLabelNames = []string{"tenant", "op", "priority"}

	descTaskCounters = map[string]*prometheus.Desc{}
	taskCounterNames = []string{"started", "done", "failed", "retried", "deadlettered", "skipped", "cancelled", "backups", "superseded"}

	descTaskDuration = prometheus.NewDesc("geo_task_duration_seconds", "Run time of task attempts that finished (succeeded or failed), from the workers' events.", taskLabelNames, nil)
	descTaskWait     = prometheus.NewDesc("geo_task_wait_seconds", "Time task attempts waited between release and start.", taskLabelNames, nil)
	descJobs         = prometheus.NewDesc("geo_jobs_total", "Job events by tenant and state.", []string{"tenant", "state"}, nil)
	descJobDuration  = prometheus.NewDesc("geo_job_duration_seconds", "Time from a job's acceptance to its final state.", []string{"tenant"}, nil)
	descWorkerEvents = prometheus.NewDesc("geo_worker_events_total", "Worker lifecycle events by state.", []string{"state"}, nil)
	descWorkers      = prometheus.NewDesc("geo_workers", "Live workers by pool and state (geo_workers bucket).", []string{"pool", "state"}, nil)
	descWorkerRun    = prometheus.NewDesc("geo_worker_running_tasks", "Tasks running on the live workers of a pool.", []string{"pool"}, nil)
	descWorkerCap    = prometheus.NewDesc("geo_worker_capacity", "Task slots of the live workers of a pool.", []string{"pool"}, nil)
	descWorkerUtil   = prometheus.NewDesc("geo_worker_utilization", "Running tasks over task slots of a pool's live workers (0..1).", []string{"pool"}, nil)
	descQueuePending = prometheus.NewDesc("geo_queue_pending", "Released tasks not yet delivered, by priority stream and pool consumer (JetStream API).", []string{"priority", "pool"}, nil)
	descQueueAck     = prometheus.NewDesc("geo_queue_ack_pending", "Tasks delivered to workers and not yet acked, by priority stream and pool consumer.", []string{"priority", "pool"}, nil)
	descStreamMsgs   = prometheus.NewDesc("geo_stream_messages", "Messages held by a stream.", []string{"stream"}, nil)
	descStreamBytes  = prometheus.NewDesc("geo_stream_bytes", "Bytes held by a stream.", []string{"stream"}, nil)
	descCacheHits    = prometheus.NewDesc("geo_cache_hits_total", "Reads served from a cache node's memory, as its last statistics say.", []string{"node"}, nil)
	descCacheMisses  = prometheus.NewDesc("geo_cache_misses_total", "Reads a cache node read through to the object store.", []string{"node"}, nil)
	descCacheEvict   = prometheus.NewDesc("geo_cache_evictions_total", "Entries a cache node evicted for room.", []string{"node"}, nil)
	descCacheInval   = prometheus.NewDesc("geo_cache_invalidations_total", "Entries a cache node dropped because a newer version was written.", []string{"node"}, nil)
	descCacheBytes   = prometheus.NewDesc("geo_cache_bytes", "Memory held by a cache node's entries.", []string{"node"}, nil)
	descCacheEntries = prometheus.NewDesc("geo_cache_entries", "Entries held by a cache node.", []string{"node"}, nil)
	descCacheRatio   = prometheus.NewDesc("geo_cache_compression_ratio", "Held bytes over raw bytes of a cache node's entries (1: none).", []string{"node"}, nil)
	descReplicator   = prometheus.NewDesc("geo_replicator_events_total", "Replicator events by kind.", []string{"kind"}, nil)
	descRejected     = prometheus.NewDesc("geo_events_rejected_total", "Events the monitor could not decode, by kind.", []string{"kind"}, nil)
	descSeq          = prometheus.NewDesc("geo_monitor_events_seq", "EVENTS stream sequence of the last event the monitor counted.", nil, nil)
	descAlerts       = prometheus.NewDesc("geo_alerts_active", "Alerts pending or firing, by severity and state.", []string{"severity", "state"}, nil)
)

func init() {
	for _, n := range taskCounterNames {
		descTaskCounters[n] = prometheus.NewDesc("geo_task_"+n+"_total", "Task events "+n+", by tenant, op and priority.", taskLabelNames, nil)
	}
}

func (c collector) Describe(ch chan<- *prometheus.Desc) { prometheus.DescribeByCollect(c, ch) }

func (c collector) Collect(ch chan<- prometheus.Metric) {
	m := c.m
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.st
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	histogram := func(d *prometheus.Desc, h *hist, labels ...string) {
		ch <- prometheus.MustNewConstHistogram(d, h.Count, h.Sum, h.cumulative(), labels...)
	}
	for k, t := range s.Tasks {
		l := parseTaskLabels(k)
		lv := []string{l.Tenant, l.Op, l.Priority}
		for _, n := range taskCounterNames {
			counter(descTaskCounters[n], t.field(n), lv...)
		}
		histogram(descTaskDuration, &t.Duration, lv...)
		histogram(descTaskWait, &t.Wait, lv...)
	}
	for tenant, byState := range s.Jobs {
		for st, n := range byState {
			counter(descJobs, n, tenant, string(st))
		}
	}
	for tenant, h := range s.JobDuration {
		histogram(descJobDuration, h, tenant)
	}
	for st, n := range s.Workers {
		counter(descWorkerEvents, n, string(st))
	}
	for node, st := range s.Cache {
		counter(descCacheHits, st.Hits, node)
		counter(descCacheMisses, st.Misses, node)
		counter(descCacheEvict, st.Evictions, node)
		counter(descCacheInval, st.Invalidations, node)
		gauge(descCacheBytes, float64(st.Bytes), node)
		gauge(descCacheEntries, float64(st.Entries), node)
		gauge(descCacheRatio, st.CompressionRatio, node)
	}
	for kind, n := range s.Replicator {
		counter(descReplicator, n, kind)
	}
	for kind, n := range s.Rejected {
		counter(descRejected, n, kind)
	}
	gauge(descSeq, float64(s.Seq))

	for _, p := range m.live.pools() {
		for st, n := range p.byState {
			gauge(descWorkers, float64(n), p.pool, st)
		}
		gauge(descWorkerRun, float64(p.running), p.pool)
		gauge(descWorkerCap, float64(p.capacity), p.pool)
		util := 0.0
		if p.capacity > 0 {
			util = float64(p.running) / float64(p.capacity)
		}
		gauge(descWorkerUtil, util, p.pool)
	}
	for _, q := range m.queues {
		gauge(descQueuePending, float64(q.Pending), q.Priority, q.Pool)
		gauge(descQueueAck, float64(q.AckPending), q.Priority, q.Pool)
	}
	for _, st := range m.streams {
		gauge(descStreamMsgs, float64(st.msgs), st.name)
		gauge(descStreamBytes, float64(st.bytes), st.name)
	}
	for k, n := range m.alertCounts {
		gauge(descAlerts, float64(n), k.severity, k.state)
	}
}

func (t *taskCounters) field(name string) uint64 {
	switch name {
	case "started":
		return t.Started
	case "done":
		return t.Done
	case "failed":
		return t.Failed
	case "retried":
		return t.Retried
	case "deadlettered":
		return t.DeadLettered
	case "skipped":
		return t.Skipped
	case "cancelled":
		return t.Cancelled
	case "backups":
		return t.Backups
	case "superseded":
		return t.Superseded
	}
	return 0
}
