package monitor_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/geocluster/geocluster/libs/events"
)

// A steady load of small jobs is not flagged by either anomaly detector;
// when the load stops (an injected throughput drop) both flag it and the
// alerts reach a plain subscriber.
func TestThroughputDropIsFlaggedAndSteadyLoadIsNot(t *testing.T) {
	h := newHarness(t, 2)
	mon := h.startMonitor(t, testConfig())
	alerts := subscribeAlerts(t, h)
	// Steady load: a job of 10 no-op tasks every 100 ms.
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	var submitted atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ctx.Err() == nil; i++ {
			job := events.JobSpec{ID: fmt.Sprintf("steady-%d", i)}
			for k := range 10 {
				job.Tasks = append(job.Tasks, events.TaskSpec{ID: fmt.Sprintf("t%d", k), Op: "noop"})
			}
			h.submit(t, job)
			submitted.Add(1)
			select {
			case <-ctx.Done():
			case <-tick.C:
			}
		}
	}()
	// Run steady until each detector has warmed up (2 s) and judged 10 s
	// of samples after it: the monitor evaluates every 100 ms.
	require.Eventually(t, func() bool {
		return sum(scrape(t, mon.base), "geo_task_done_total", nil) > 0
	}, 30*time.Second, 50*time.Millisecond)
	time.Sleep(3 * time.Second) // the load settles (not an assertion)
	// The rules come once the load runs, so that the detectors learn the
	// steady level, not the ramp up to it. Both watch the task throughput
	// over 2s windows. A floor of a fifth of the baseline on the spread
	// keeps the ordinary jitter of a shared CI machine below the
	// thresholds; a stop goes five floors down (the EWMA, which follows the
	// 2 s decline for a while, is given a threshold of 3 and a slow alpha).
	putRule(t, h, "throughput_z", `{"name": "throughput_z", "expr": "rate(geo_task_done_total[2s])", "severity": "warning",
		"detector": {"type": "robust_z", "window": "30s", "threshold": 4, "direction": "down", "min_samples": 20, "spread_floor": 0.2}}`)
	putRule(t, h, "throughput_ewma", `{"name": "throughput_ewma", "expr": "rate(geo_task_done_total[2s])", "severity": "warning",
		"detector": {"type": "ewma", "alpha": 0.02, "threshold": 3, "direction": "down", "min_samples": 20, "spread_floor": 0.2}}`)
	require.Eventually(t, func() bool {
		var rules []map[string]any
		getJSON(t, mon.base+"/api/rules", &rules)
		return len(rules) == 2 && rules[0]["error"] == nil && rules[1]["error"] == nil
	}, 10*time.Second, 20*time.Millisecond)

	time.Sleep(12 * time.Second) // the steady phase (its length is not an assertion)
	steady, _ := alerts.snapshot()
	assert.Empty(t, steady, "a steady load raised alerts")

	stop()
	<-done
	require.Eventually(t, func() bool {
		msgs, _ := alerts.snapshot()
		fired := map[string]bool{}
		for _, m := range msgs {
			if m.State == "firing" {
				fired[m.Rule] = true
			}
		}
		return fired["throughput_z"] && fired["throughput_ewma"]
	}, 30*time.Second, 50*time.Millisecond, "the drop was not flagged by both detectors")
	msgs, _ := alerts.snapshot()
	for _, m := range msgs {
		if m.State != "firing" {
			continue
		}
		require.NotNil(t, m.Evidence, m.Rule)
		assert.Greater(t, m.Evidence.Baseline, 0.0, "the baseline throughput")
		assert.LessOrEqual(t, m.Evidence.Score, -3.0, "a score below the threshold (down)")
		assert.Less(t, m.Value, m.Evidence.Baseline, "the throughput dropped")
	}
	t.Logf("%d jobs submitted; alerts: %+v", submitted.Load(), msgs)
}
