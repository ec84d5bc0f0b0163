package monitor_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/geocluster/geocluster/internal/onebox"
	"github.com/geocluster/geocluster/libs/events"
	"github.com/geocluster/geocluster/libs/natstest"
	"github.com/geocluster/geocluster/services/monitor"
)

// harness is a one-process cluster (embedded NATS, scheduler, workers)
// whose monitor the test starts and stops itself.
type harness struct {
	cl *onebox.Cluster
	nc *nats.Conn
	js jetstream.JetStream
}

func newHarness(t *testing.T, workers int) *harness {
	t.Helper()
	cfg := onebox.DefaultConfig()
	cfg.Port = -1
	cfg.Workers = workers
	cfg.CacheNodes = 0
	cfg.Topology = natstest.Topology()
	cfg.Worker.DrainTimeout = time.Second
	cl, err := onebox.Start(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, cl.Stop()) })
	nc := natstest.Dial(t, cl.URL(), "monitor-test")
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	return &harness{cl: cl, nc: nc, js: js}
}

// testConfig is a monitor config that samples and snapshots quickly.
func testConfig() monitor.Config {
	cfg := monitor.DefaultConfig()
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.Topology = natstest.Topology()
	cfg.SnapshotInterval = 100 * time.Millisecond
	cfg.PollInterval = 200 * time.Millisecond
	cfg.EvalInterval = 100 * time.Millisecond
	return cfg
}

// running is a monitor the test can stop.
type running struct {
	m      *monitor.Monitor
	cancel context.CancelFunc
	base   string
}

func (h *harness) startMonitor(t *testing.T, cfg monitor.Config) *running {
	t.Helper()
	nc, err := nats.Connect(h.cl.URL(), nats.Name("monitor"), nats.Timeout(natstest.DialTimeout))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	m, err := monitor.Start(ctx, monitor.Deps{NC: nc, Log: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)}, cfg)
	if err != nil {
		cancel()
		nc.Close()
		require.NoError(t, err)
	}
	r := &running{m: m, cancel: cancel, base: "http://" + m.Addr()}
	t.Cleanup(func() {
		r.stop(t)
		nc.Close()
	})
	return r
}

func (r *running) stop(t *testing.T) {
	t.Helper()
	if r.cancel == nil {
		return
	}
	r.cancel()
	r.cancel = nil
	require.NoError(t, r.m.Wait())
}

func (h *harness) submit(t *testing.T, job events.JobSpec) {
	t.Helper()
	data, err := json.Marshal(job)
	require.NoError(t, err)
	_, err = h.js.Publish(context.Background(), events.JobSubmitSubject(events.DefaultTenant), data, jetstream.WithMsgID(job.ID))
	require.NoError(t, err)
}

func (h *harness) waitJob(t *testing.T, id string) events.JobRecord {
	t.Helper()
	kv, err := h.js.KeyValue(context.Background(), events.BucketJobs)
	require.NoError(t, err)
	var rec events.JobRecord
	require.Eventually(t, func() bool {
		e, err := kv.Get(context.Background(), events.JobKey(events.DefaultTenant, id))
		if err != nil || json.Unmarshal(e.Value(), &rec) != nil {
			return false
		}
		return rec.State.Terminal()
	}, 60*time.Second, 20*time.Millisecond, "job %s did not finish", id)
	return rec
}

// scripted is a job with known outcomes: ok tasks succeed at once, one
// task fails once then succeeds, one fails on both its attempts and is
// dead-lettered (the job continues).
func scripted(id string, ok int) events.JobSpec {
	zero := 0.0
	job := events.JobSpec{ID: id, OnFailure: events.ContinueJob, Retry: &events.RetryPolicy{InitialMS: 10, Jitter: &zero}}
	for i := range ok {
		job.Tasks = append(job.Tasks, events.TaskSpec{ID: fmt.Sprintf("ok%d", i), Op: "noop"})
	}
	job.Tasks = append(job.Tasks,
		events.TaskSpec{ID: "flaky", Op: "fail", MaxAttempts: 3, Params: json.RawMessage(`{"succeed_on_attempt":2}`)},
		events.TaskSpec{ID: "broken", Op: "fail", MaxAttempts: 2, Priority: events.PriorityHigh, Params: json.RawMessage(`{"message":"scripted"}`)},
	)
	return job
}

// scrape reads /metrics and returns the families by name.
func scrape(t *testing.T, base string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(resp.Body)
	require.NoError(t, err)
	return mfs
}

// sum adds the values of family name whose labels include want.
func sum(mfs map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	mf, ok := mfs[name]
	if !ok {
		return 0
	}
	var total float64
next:
	for _, m := range mf.GetMetric() {
		have := map[string]string{}
		for _, lp := range m.GetLabel() {
			have[lp.GetName()] = lp.GetValue()
		}
		for k, v := range want {
			if have[k] != v {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			total += m.GetCounter().GetValue()
		case m.Gauge != nil:
			total += m.GetGauge().GetValue()
		case m.Histogram != nil:
			total += float64(m.GetHistogram().GetSampleCount())
		}
	}
	return total
}

type counts struct {
	done, started, failed, retried, deadlettered, durations, jobsAccepted float64
}

func readCounts(mfs map[string]*dto.MetricFamily) counts {
	return counts{
		done:         sum(mfs, "geo_task_done_total", nil),
		started:      sum(mfs, "geo_task_started_total", nil),
		failed:       sum(mfs, "geo_task_failed_total", nil),
		retried:      sum(mfs, "geo_task_retried_total", nil),
		deadlettered: sum(mfs, "geo_task_deadlettered_total", nil),
		durations:    sum(mfs, "geo_task_duration_seconds", nil),
		jobsAccepted: sum(mfs, "geo_jobs_total", map[string]string{"state": "accepted"}),
	}
}

// expected is what n scripted jobs of ok tasks each produce: ok + 1
// successes, 1 + 2 failed attempts, 1 + 1 retries, one dead letter.
func expected(n, ok int) counts {
	f := float64(n)
	return counts{
		done: f * float64(ok+1), started: f * float64(ok+4), failed: 3 * f, retried: 2 * f, deadlettered: f,
		durations: f * float64(ok+4), jobsAccepted: f,
	}
}

// seqCaughtUp: the monitor has counted every event the stream holds.
func (h *harness) seqCaughtUp(t *testing.T, mfs map[string]*dto.MetricFamily) bool {
	s, err := h.js.Stream(context.Background(), events.StreamEvents)
	require.NoError(t, err)
	info, err := s.Info(context.Background())
	require.NoError(t, err)
	return sum(mfs, "geo_monitor_events_seq", nil) == float64(info.State.LastSeq)
}

func TestScriptedJobGivesExpectedMetrics(t *testing.T) {
	h := newHarness(t, 2)
	mon := h.startMonitor(t, testConfig())
	h.submit(t, scripted("scripted", 7))
	rec := h.waitJob(t, "scripted")
	require.Equal(t, events.JobFailed, rec.State, "a dead-lettered task under on_failure=continue fails the job at the end")

	want := expected(1, 7)
	var mfs map[string]*dto.MetricFamily
	require.Eventually(t, func() bool {
		mfs = scrape(t, mon.base)
		return h.seqCaughtUp(t, mfs) && readCounts(mfs) == want
	}, 30*time.Second, 50*time.Millisecond, "metrics never reached %+v", want)

	// Labels: the flaky and broken tasks ran the fail op; broken ran at high priority.
	assert.Equal(t, 3.0, sum(mfs, "geo_task_failed_total", map[string]string{"op": "fail"}))
	assert.Equal(t, 2.0, sum(mfs, "geo_task_failed_total", map[string]string{"op": "fail", "priority": "high"}))
	assert.Equal(t, 7.0, sum(mfs, "geo_task_done_total", map[string]string{"op": "noop", "tenant": "default", "priority": "normal"}))
	assert.Equal(t, 1.0, sum(mfs, "geo_jobs_total", map[string]string{"state": "failed"}))
	assert.Equal(t, 1.0, sum(mfs, "geo_job_duration_seconds", map[string]string{"tenant": "default"}))
	assert.Equal(t, 0.0, sum(mfs, "geo_events_rejected_total", nil))
	// Gauges from the JetStream API and the registrations.
	require.Eventually(t, func() bool {
		mfs = scrape(t, mon.base)
		return sum(mfs, "geo_workers", nil) == 2 && sum(mfs, "geo_worker_capacity", nil) > 0 &&
			mfs["geo_queue_pending"] != nil && sum(mfs, "geo_queue_pending", nil) == 0
	}, 30*time.Second, 50*time.Millisecond, "two workers, nothing left queued")
	assert.Positive(t, sum(mfs, "geo_stream_messages", map[string]string{"stream": events.StreamEvents}))

	// The overview the dashboard reads says the same.
	var ov monitor.Overview
	getJSON(t, mon.base+"/api/overview", &ov)
	assert.EqualValues(t, 8, ov.Tasks["done"])
	assert.EqualValues(t, 1, ov.Tasks["deadlettered"])
	assert.Equal(t, 2, ov.Workers["total"])
	var detail monitor.JobDetail
	getJSON(t, mon.base+"/api/jobs/default/scripted", &detail)
	assert.Len(t, detail.Tasks, 9)
	assert.Equal(t, events.JobFailed, detail.Job.State)
}

func TestRestartNeitherLosesNorDoubleCounts(t *testing.T) {
	h := newHarness(t, 2)
	cfg := testConfig()
	mon := h.startMonitor(t, cfg)
	h.submit(t, scripted("before", 5))
	h.waitJob(t, "before")
	require.Eventually(t, func() bool {
		mfs := scrape(t, mon.base)
		return h.seqCaughtUp(t, mfs) && readCounts(mfs) == expected(1, 5)
	}, 30*time.Second, 50*time.Millisecond)
	mon.stop(t)

	// Events that happen while the monitor is down are counted when it
	// comes back, and the ones it counted before are not counted again.
	h.submit(t, scripted("while-down", 5))
	h.waitJob(t, "while-down")
	mon = h.startMonitor(t, cfg)
	var mfs map[string]*dto.MetricFamily
	require.Eventually(t, func() bool {
		mfs = scrape(t, mon.base)
		return h.seqCaughtUp(t, mfs)
	}, 30*time.Second, 50*time.Millisecond)
	assert.Equal(t, expected(2, 5), readCounts(mfs))

	// And once more, after the consumer redelivered what the first monitor
	// had not acked (it acks after each snapshot): still exact.
	h.submit(t, scripted("after", 5))
	h.waitJob(t, "after")
	require.Eventually(t, func() bool {
		mfs = scrape(t, mon.base)
		return h.seqCaughtUp(t, mfs) && readCounts(mfs) == expected(3, 5)
	}, 30*time.Second, 50*time.Millisecond, "counts after restart: %+v", readCounts(mfs))
	cons, err := h.js.Consumer(context.Background(), events.StreamEvents, events.ConsumerMonitor+"_"+cfg.ID)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		info, err := cons.Info(context.Background())
		return err == nil && info.NumAckPending == 0 && info.NumPending == 0
	}, 30*time.Second, 50*time.Millisecond, "every event acked")
	assert.Equal(t, expected(3, 5), readCounts(scrape(t, mon.base)))
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s: %s", url, body)
	require.NoError(t, json.Unmarshal(body, v), "%s: %s", url, strings.TrimSpace(string(body)))
}

// Monitors sharing an ID share one consumer and one snapshot: one counts
// (it holds the lease), the other serves the live views; when the counting
// one stops, the other takes over from its snapshot and counts stay exact.
func TestMonitorsSharingAnIDCountOnce(t *testing.T) {
	h := newHarness(t, 2)
	cfg := testConfig()
	cfg.LeaseTTL = 2 * time.Second
	a := h.startMonitor(t, cfg)
	b := h.startMonitor(t, cfg)
	h.submit(t, scripted("shared-1", 5))
	h.waitJob(t, "shared-1")
	var leader, standby *running
	require.Eventually(t, func() bool {
		ma, mb := scrape(t, a.base), scrape(t, b.base)
		switch {
		case h.seqCaughtUp(t, ma) && readCounts(ma) == expected(1, 5):
			leader, standby = a, b
		case h.seqCaughtUp(t, mb) && readCounts(mb) == expected(1, 5):
			leader, standby = b, a
		default:
			return false
		}
		return true
	}, 30*time.Second, 50*time.Millisecond)
	assert.Equal(t, counts{}, readCounts(scrape(t, standby.base)), "only one monitor counts")
	var ov monitor.Overview
	getJSON(t, standby.base+"/api/overview", &ov)
	assert.Equal(t, 2, ov.Workers["total"], "the standby still serves the live views")

	leader.stop(t)
	h.submit(t, scripted("shared-2", 5))
	h.waitJob(t, "shared-2")
	require.Eventually(t, func() bool {
		mfs := scrape(t, standby.base)
		return h.seqCaughtUp(t, mfs) && readCounts(mfs) == expected(2, 5)
	}, 30*time.Second, 50*time.Millisecond, "the standby took over from the snapshot")
}
