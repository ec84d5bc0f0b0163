package monitor_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/geocluster/geocluster/libs/events"
	"github.com/geocluster/geocluster/libs/natstest"
	"github.com/geocluster/geocluster/services/monitor"
)

// alertLog collects what a plain nats.go subscriber receives on the
// alert subjects.
type alertLog struct {
	mu   sync.Mutex
	msgs []monitor.AlertMessage
	subs []string
}

func subscribeAlerts(t *testing.T, h *harness) *alertLog {
	t.Helper()
	nc := natstest.Dial(t, h.cl.URL(), "alert-subscriber")
	l := &alertLog{}
	_, err := nc.Subscribe("geo.alerts.>", func(m *nats.Msg) {
		var a monitor.AlertMessage
		if json.Unmarshal(m.Data, &a) != nil {
			return
		}
		l.mu.Lock()
		l.msgs = append(l.msgs, a)
		l.subs = append(l.subs, m.Subject)
		l.mu.Unlock()
	})
	require.NoError(t, err)
	require.NoError(t, nc.Flush())
	return l
}

func (l *alertLog) snapshot() ([]monitor.AlertMessage, []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]monitor.AlertMessage{}, l.msgs...), append([]string{}, l.subs...)
}

func putRule(t *testing.T, h *harness, name, def string) {
	t.Helper()
	kv, err := h.js.KeyValue(context.Background(), events.BucketRules)
	require.NoError(t, err)
	_, err = kv.Put(context.Background(), name, []byte(def))
	require.NoError(t, err)
}

func failingJob(id string, n int) events.JobSpec {
	job := events.JobSpec{ID: id, OnFailure: events.ContinueJob}
	for i := range n {
		job.Tasks = append(job.Tasks, events.TaskSpec{ID: fmt.Sprintf("f%d", i), Op: "fail", MaxAttempts: 1})
	}
	return job
}

// A rule over the failure rate fires while tasks fail and resolves when
// they stop; a plain subscriber sees one firing and one resolved message
// on geo.alerts.<severity>.<rule>, with the evidence value.
func TestRuleFiresAndResolvesOnAlertSubject(t *testing.T) {
	h := newHarness(t, 2)
	mon := h.startMonitor(t, testConfig())
	alerts := subscribeAlerts(t, h)
	putRule(t, h, "task_failures", `{"name": "task_failures", "expr": "increase(geo_task_failed_total{op=\"fail\"}[3s]) > 0",
		"for": "500ms", "severity": "warning", "labels": {"team": "ops"}, "summary": "tasks are failing"}`)
	require.Eventually(t, func() bool {
		var rules []map[string]any
		getJSON(t, mon.base+"/api/rules", &rules)
		return len(rules) == 1 && rules[0]["error"] == nil
	}, 10*time.Second, 20*time.Millisecond, "the rule is loaded")

	// The counter's series starts with the first failure; an increase is
	// seen from the second sample on. Warm it up, then wait until it has
	// been quiet for the whole window: nothing may have fired by then
	// except for the warm-up itself.
	h.submit(t, failingJob("warmup", 1))
	h.waitJob(t, "warmup")
	require.Eventually(t, func() bool {
		return sum(scrape(t, mon.base), "geo_task_failed_total", nil) == 1
	}, 10*time.Second, 20*time.Millisecond)
	time.Sleep(4 * time.Second) // let the warm-up leave the 3s window (not an assertion)
	before, _ := alerts.snapshot()

	// Five failures, one burst: fewer than a worker's circuit breaker needs
	// to open (10 outcomes), which would delay some of them into a second
	// burst and a second, legitimate, firing.
	h.submit(t, failingJob("failing", 5))
	h.waitJob(t, "failing")
	var msgs []monitor.AlertMessage
	var subjects []string
	require.Eventually(t, func() bool {
		msgs, subjects = alerts.snapshot()
		msgs, subjects = msgs[len(before):], subjects[len(before):]
		return len(msgs) >= 2
	}, 30*time.Second, 20*time.Millisecond, "firing then resolved")
	require.Len(t, msgs, 2, "one firing and one resolved, deduplicated")
	assert.Equal(t, "firing", string(msgs[0].State))
	assert.Equal(t, "resolved", string(msgs[1].State))
	for i, m := range msgs {
		assert.Equal(t, "geo.alerts.warning.task_failures", subjects[i])
		assert.Equal(t, "task_failures", m.Rule)
		assert.Equal(t, "ops", m.Labels["team"])
		assert.Equal(t, msgs[0].ID, m.ID)
	}
	assert.Greater(t, msgs[0].Value, 0.0, "the evidence: the increase that fired it")
	assert.False(t, msgs[1].At.Before(msgs[0].At))
	// The firing lasted at least the rule's for (measured on the monitor's
	// own evaluation clock, not a wall-clock assertion of this test).
	assert.GreaterOrEqual(t, msgs[0].At.Sub(msgs[0].StartedAt), 500*time.Millisecond)

	// ALERTS keeps them for subscribers that come later.
	s, err := h.js.Stream(context.Background(), events.StreamAlerts)
	require.NoError(t, err)
	info, err := s.Info(context.Background())
	require.NoError(t, err)
	assert.GreaterOrEqual(t, info.State.Msgs, uint64(2))
}

// A rule written to geo_rules by some other client that does not validate
// is refused with an error naming the field and the bad token; the other
// rules keep running.
func TestBadStoredRuleIsRefusedWithItsError(t *testing.T) {
	h := newHarness(t, 1)
	mon := h.startMonitor(t, testConfig())
	putRule(t, h, "good", `{"name": "good", "expr": "rate(geo_task_done_total[1m]) > 100", "severity": "info"}`)
	putRule(t, h, "bad", `{"name": "bad", "expr": "rte(geo_task_done_total[1m]) > 1", "severity": "info"}`)
	var rules []map[string]any
	require.Eventually(t, func() bool {
		getJSON(t, mon.base+"/api/rules", &rules)
		return len(rules) == 2
	}, 10*time.Second, 20*time.Millisecond)
	assert.Equal(t, "bad", rules[0]["name"])
	assert.Contains(t, rules[0]["error"], "expr")
	assert.Contains(t, rules[0]["error"], "column 1")
	assert.Contains(t, rules[0]["error"], "rte")
	assert.Equal(t, "good", rules[1]["name"])
	assert.Nil(t, rules[1]["error"])
}

// A monitor that restarts while an alert fires does not announce it again,
// and resolves one whose condition cleared while it was down.
func TestRestartKeepsAlertsDeduplicated(t *testing.T) {
	h := newHarness(t, 1)
	cfg := testConfig()
	mon := h.startMonitor(t, cfg)
	alerts := subscribeAlerts(t, h)
	putRule(t, h, "workers_up", `{"name": "workers_up", "expr": "geo_workers > 0", "severity": "info"}`)
	firings := func() (n int, resolved int) {
		msgs, _ := alerts.snapshot()
		for _, m := range msgs {
			switch m.State {
			case "firing":
				n++
			case "resolved":
				resolved++
			}
		}
		return n, resolved
	}
	require.Eventually(t, func() bool { n, _ := firings(); return n == 1 }, 20*time.Second, 20*time.Millisecond)
	mon.stop(t)

	mon = h.startMonitor(t, cfg)
	// The restarted monitor finds the alert firing again…
	require.Eventually(t, func() bool {
		var active []map[string]any
		getJSON(t, mon.base+"/api/alerts", &active)
		return len(active) == 1 && active[0]["state"] == "firing"
	}, 20*time.Second, 20*time.Millisecond)
	// …and has said nothing new: still one firing, none resolved.
	n, r := firings()
	assert.Equal(t, 1, n)
	assert.Equal(t, 0, r)

	// Cleared while the monitor is down: resolved after it comes back.
	mon.stop(t)
	putRule(t, h, "workers_up", `{"name": "workers_up", "expr": "geo_workers > 1000", "severity": "info"}`)
	h.startMonitor(t, cfg)
	require.Eventually(t, func() bool { _, r := firings(); return r == 1 }, 30*time.Second, 20*time.Millisecond)
	n, _ = firings()
	assert.Equal(t, 1, n, "never announced twice")
}
