package rules

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func mustRule(t *testing.T, js string) Rule {
	t.Helper()
	r, err := ParseRule([]byte(js))
	require.NoError(t, err)
	return r
}

func newTestEngine(t *testing.T, s *Store, rules ...Rule) *Engine {
	t.Helper()
	e, err := NewEngine(s)
	require.NoError(t, err)
	require.NoError(t, e.SetRules(rules))
	return e
}

// tick records the transitions of one evaluation.
type tick struct {
	secs float64
	tr   []Transition
}

// run evaluates e every step seconds in [from, to], calling before(secs)
// ahead of each evaluation, and returns the ticks that had transitions.
func run(e *Engine, from, to, step float64, before func(secs float64)) []tick {
	var out []tick
	for s := from; s <= to; s += step {
		if before != nil {
			before(s)
		}
		if tr := e.Eval(at(s)); len(tr) > 0 {
			out = append(out, tick{s, tr})
		}
	}
	return out
}

func TestAlertFiresAfterForAndResolvesOnce(t *testing.T) {
	s := newTestStore(t)
	e := newTestEngine(t, s, mustRule(t, `{"name": "deep_queue", "expr": "queue_depth > 10", "for": "2m", "severity": "warning", "summary": "queue deep"}`))
	// Deep from t=100s to t=290s, shallow from t=300s.
	ticks := run(e, 0, 600, 10, func(secs float64) {
		v := 5.0
		if secs >= 100 && secs < 300 {
			v = 20
		}
		require.NoError(t, s.Append("queue_depth", nil, at(secs), v))
		if secs == 150 {
			active := e.Active()
			require.Len(t, active, 1)
			assert.Equal(t, StatePending, active[0].State)
			assert.Equal(t, at(100), active[0].StartedAt)
		}
	})
	require.Len(t, ticks, 2, "one firing, one resolved: %v", ticks)

	assert.Equal(t, 220.0, ticks[0].secs, "fires when the condition has held for exactly 2m")
	require.Len(t, ticks[0].tr, 1)
	fired := ticks[0].tr[0]
	assert.Equal(t, StateFiring, fired.State)
	assert.Equal(t, "deep_queue", fired.Rule)
	assert.Equal(t, SeverityWarning, fired.Severity)
	assert.Equal(t, "queue deep", fired.Summary)
	assert.Equal(t, 20.0, fired.Value)
	assert.Equal(t, at(100), fired.StartedAt)
	assert.Equal(t, at(220), fired.FiredAt)
	assert.Equal(t, at(220), fired.At)
	assert.Equal(t, AlertID("deep_queue", nil), fired.ID)
	assert.Nil(t, fired.Evidence)

	assert.Equal(t, 300.0, ticks[1].secs, "resolves at the first false tick")
	require.Len(t, ticks[1].tr, 1)
	resolved := ticks[1].tr[0]
	assert.Equal(t, StateResolved, resolved.State)
	assert.Equal(t, fired.ID, resolved.ID)
	assert.Equal(t, at(100), resolved.StartedAt)
	assert.Equal(t, 20.0, resolved.Value, "last value while firing")
	assert.Empty(t, e.Active())
}

func TestPendingAlertThatClearsIsNotReported(t *testing.T) {
	s := newTestStore(t)
	e := newTestEngine(t, s, mustRule(t, `{"name": "deep_queue", "expr": "queue_depth > 10", "for": "2m", "severity": "info"}`))
	ticks := run(e, 0, 600, 10, func(secs float64) {
		v := 5.0
		if secs >= 100 && secs < 210 { // holds 110s < 2m
			v = 20
		}
		require.NoError(t, s.Append("queue_depth", nil, at(secs), v))
	})
	assert.Empty(t, ticks)
	assert.Empty(t, e.Active())
}

func TestAlertWithoutForFiresAtTheFirstTrueTick(t *testing.T) {
	s := newTestStore(t)
	e := newTestEngine(t, s, mustRule(t, `{"name": "down", "expr": "up == 0", "severity": "critical"}`))
	ticks := run(e, 0, 100, 10, func(secs float64) {
		v := 1.0
		if secs >= 50 {
			v = 0
		}
		require.NoError(t, s.Append("up", nil, at(secs), v))
	})
	require.Len(t, ticks, 1)
	assert.Equal(t, 50.0, ticks[0].secs)
	assert.Equal(t, StateFiring, ticks[0].tr[0].State)
	assert.Equal(t, 0.0, ticks[0].tr[0].Value)
}

func TestStaleMetricResolvesAnAlert(t *testing.T) {
	s := newTestStore(t)
	e, err := NewEngine(s, WithStaleness(time.Minute))
	require.NoError(t, err)
	require.NoError(t, e.SetRules([]Rule{mustRule(t, `{"name": "hot", "expr": "temp > 50", "severity": "info"}`)}))
	require.NoError(t, s.Append("temp", nil, at(0), 60))
	tr := e.Eval(at(0))
	require.Len(t, tr, 1)
	assert.Empty(t, e.Eval(at(59)))
	tr = e.Eval(at(60))
	require.Len(t, tr, 1)
	assert.Equal(t, StateResolved, tr[0].State)
}

func TestGroupedRuleYieldsOneAlertPerGroup(t *testing.T) {
	s := newTestStore(t)
	e := newTestEngine(t, s, mustRule(t, `{"name": "op_failures",
		"expr": "sum by (op) (rate(task_failed[1m])) / sum by (op) (rate(task_done[1m])) > 0.1",
		"for": "30s", "severity": "critical", "labels": {"team": "raster", "op": "overridden"}}`))
	failing := map[string]bool{"hillshade": true, "reproject": true}
	ticks := run(e, 0, 300, 10, func(secs float64) {
		for _, op := range []string{"hillshade", "reproject", "tile"} {
			n := secs // 1 task/s done per op
			f := 0.0
			if failing[op] && secs >= 100 {
				f = (secs - 100) * 0.5 // half of them fail from t=100
			}
			if op == "reproject" && secs >= 200 {
				f = 50 // stops failing at t=200
			}
			labels := map[string]string{"op": op, "worker": "w1"}
			require.NoError(t, s.Append("task_done", labels, at(secs), n))
			require.NoError(t, s.Append("task_failed", labels, at(secs), f))
		}
	})
	var got []string
	for _, tk := range ticks {
		for _, tr := range tk.tr {
			got = append(got, fmt.Sprintf("%v %s %s", tk.secs, tr.Group["op"], tr.State))
			assert.Equal(t, map[string]string{"team": "raster", "op": tr.Group["op"]}, tr.Labels)
			assert.Equal(t, AlertID("op_failures", map[string]string{"op": tr.Group["op"]}), tr.ID)
		}
	}
	// Samples every 10s; rate over (t-60, t] spans 50s. At t=110 failures
	// rose 5 while 50 tasks were done: 0.1, not above. At t=120 the ratio is
	// 0.2: pending, firing 30s later at t=150. reproject's failures stop
	// after t=190 (45 → 50); at t=240 its window (180, 240] holds 45 → 50
	// over 50 done = 0.1: resolved.
	assert.Equal(t, []string{
		"150 hillshade firing",
		"150 reproject firing",
		"240 reproject resolved",
	}, got)
	active := e.Active()
	require.Len(t, active, 1)
	assert.Equal(t, "hillshade", active[0].Group["op"])
	assert.InDelta(t, 0.5, active[0].Value, 1e-9)
	assert.NotEqual(t, AlertID("op_failures", map[string]string{"op": "hillshade"}),
		AlertID("op_failures", map[string]string{"op": "reproject"}))
}

func TestHillshadeFailureRatioEndToEndFromARegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	failed := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "task_failed"}, []string{"op"})
	done := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "task_done"}, []string{"op"})
	reg.MustRegister(failed, done)

	s := newTestStore(t)
	e := newTestEngine(t, s, mustRule(t, `{"name": "hillshade_failures",
		"expr": "rate(task_failed{op=\"hillshade\"}[1m]) / rate(task_done[1m]) > 0.1",
		"for": "2m", "severity": "critical"}`))

	// Each second: 10 tasks done across two ops; hillshade failures are 1/s
	// (ratio 0.1, not above) until t=300, then 3/s (0.3) until t=600.
	var ticks []tick
	for sec := 0; sec <= 900; sec++ {
		done.WithLabelValues("hillshade").Add(5)
		done.WithLabelValues("reproject").Add(5)
		switch {
		case sec < 300:
			failed.WithLabelValues("hillshade").Add(1)
		case sec < 600:
			failed.WithLabelValues("hillshade").Add(3)
		}
		mfs, err := reg.Gather()
		require.NoError(t, err)
		require.NoError(t, s.AppendGathered(mfs, at(float64(sec))))
		if sec%10 == 0 { // evaluation tick every 10s
			if tr := e.Eval(at(float64(sec))); len(tr) > 0 {
				ticks = append(ticks, tick{float64(sec), tr})
			}
		}
	}
	require.Len(t, ticks, 2, "%v", ticks)
	// The ratio exceeds 0.1 as soon as the 1m window (t-60, t] holds one
	// increase of 3: at t=300. It fires 2m later.
	assert.Equal(t, 420.0, ticks[0].secs)
	assert.Equal(t, StateFiring, ticks[0].tr[0].State)
	assert.Equal(t, at(300), ticks[0].tr[0].StartedAt)
	assert.InDelta(t, 0.3, ticks[0].tr[0].Value, 1e-9)
	// Failures stop after t=599. At t=630 the window (570, 630] holds the
	// samples 571..630: 59 intervals, 28 of them (ending 572..599) with 3
	// failures: 84/590 > 0.1. At t=640 only 18 are: 54/590 <= 0.1, resolved.
	assert.Equal(t, 640.0, ticks[1].secs)
	assert.Equal(t, StateResolved, ticks[1].tr[0].State)
}

func TestSetRulesKeepsUnchangedStateAndResolvesRemovedRules(t *testing.T) {
	s := newTestStore(t)
	deep := mustRule(t, `{"name": "deep", "expr": "q > 10", "for": "1m", "severity": "warning"}`)
	hot := mustRule(t, `{"name": "hot", "expr": "temp > 50", "severity": "critical"}`)
	e := newTestEngine(t, s, deep, hot)
	feed := func(secs float64) {
		require.NoError(t, s.Append("q", nil, at(secs), 20))
		require.NoError(t, s.Append("temp", nil, at(secs), 60))
	}
	feed(0)
	tr := e.Eval(at(0))
	require.Len(t, tr, 1)
	assert.Equal(t, "hot", tr[0].Rule)

	// Same rules again (re-read from KV): the pending timer keeps running.
	require.NoError(t, e.SetRules([]Rule{mustRule(t, `{"name": "deep", "expr": "q > 10", "for": "1m", "severity": "warning"}`), hot}))
	feed(30)
	assert.Empty(t, e.Eval(at(30)))

	// A changed summary and for keep the alert; for is now 40s so it fires.
	require.NoError(t, e.SetRules([]Rule{mustRule(t, `{"name": "deep", "expr": "q > 10", "for": "40s", "severity": "warning", "summary": "new"}`), hot}))
	feed(40)
	tr = e.Eval(at(40))
	require.Len(t, tr, 1)
	assert.Equal(t, "deep", tr[0].Rule)
	assert.Equal(t, at(0), tr[0].StartedAt)
	assert.Equal(t, "new", tr[0].Summary)

	// Removing hot and changing deep's expression resolve their firing alerts
	// at the next evaluation; the new deep starts pending afresh.
	require.NoError(t, e.SetRules([]Rule{mustRule(t, `{"name": "deep", "expr": "q > 15", "for": "40s", "severity": "warning"}`)}))
	feed(50)
	tr = e.Eval(at(50))
	require.Len(t, tr, 2)
	assert.Equal(t, []string{"deep resolved", "hot resolved"}, []string{
		tr[0].Rule + " " + string(tr[0].State), tr[1].Rule + " " + string(tr[1].State)})
	assert.Equal(t, at(50), tr[1].At)
	active := e.Active()
	require.Len(t, active, 1)
	assert.Equal(t, StatePending, active[0].State)
	assert.Equal(t, at(50), active[0].StartedAt)

	feed(60)
	assert.Empty(t, e.Eval(at(60)), "resolutions are reported once")
}

func TestSetRulesSkipsInvalidAndDuplicateRules(t *testing.T) {
	s := newTestStore(t)
	e, err := NewEngine(s)
	require.NoError(t, err)
	good := Rule{Name: "good", Expr: "up == 0", Severity: SeverityInfo}
	err = e.SetRules([]Rule{
		good,
		{Name: "bad", Expr: "up ==", Severity: SeverityInfo},
		{Name: "good", Expr: "up == 1", Severity: SeverityInfo},
	})
	require.ErrorIs(t, err, ErrInvalidRule)
	assert.Contains(t, err.Error(), `rule "bad": expr: column 6`)
	assert.Contains(t, err.Error(), `rule "good": name: defined more than once`)
	require.NoError(t, s.Append("up", nil, at(0), 0))
	tr := e.Eval(at(0))
	require.Len(t, tr, 1)
	assert.Equal(t, "good", tr[0].Rule)
}

func TestEngineRejectsBadOptions(t *testing.T) {
	_, err := NewEngine(nil)
	assert.Error(t, err)
	_, err = NewEngine(newTestStore(t), WithStaleness(0))
	assert.Error(t, err)
}

func TestDetectorRuleFlagsThroughputDropWithEvidence(t *testing.T) {
	for _, det := range []string{
		`{"type": "ewma", "direction": "down", "threshold": 4, "min_samples": 30}`,
		`{"type": "robust_z", "direction": "down", "threshold": 4, "window": "30m", "min_samples": 30}`,
	} {
		t.Run(det, func(t *testing.T) {
			s := newTestStore(t)
			e := newTestEngine(t, s, mustRule(t, `{"name": "throughput", "expr": "sum by (op) (rate(task_done[1m]))",
				"for": "30s", "severity": "warning", "detector": `+det+`}`))
			rng := rand.New(rand.NewPCG(11, 12))
			count := map[string]float64{}
			var ticks []tick
			for sec := 0; sec <= 3*3600; sec++ {
				for _, op := range []string{"hillshade", "tile"} {
					per := 40 + rng.Float64()*20 // 40–60 tasks/s
					if op == "hillshade" && sec >= 3*3600-600 {
						per /= 4 // throughput drop in the last 10 minutes
					}
					count[op] += per
					require.NoError(t, s.Append("task_done", map[string]string{"op": op}, at(float64(sec)), count[op]))
				}
				if sec%10 == 0 {
					if tr := e.Eval(at(float64(sec))); len(tr) > 0 {
						ticks = append(ticks, tick{float64(sec), tr})
					}
				}
			}
			require.Len(t, ticks, 1, "only the drop fires: %v", ticks)
			tr := ticks[0].tr
			require.Len(t, tr, 1)
			assert.Equal(t, "hillshade", tr[0].Group["op"])
			assert.Equal(t, StateFiring, tr[0].State)
			// Flagged within the minute the drop shows in rate, fires 30s later.
			assert.InDelta(t, 3*3600-600+30+30, ticks[0].secs, 40)
			require.NotNil(t, tr[0].Evidence)
			ev := tr[0].Evidence
			assert.InDelta(t, 50, ev.Baseline, 5, "baseline is the usual throughput")
			assert.Positive(t, ev.Spread)
			assert.Less(t, ev.Score, -4.0)
			assert.Less(t, tr[0].Value, 40.0)
		})
	}
}

func TestDetectorObservesEachInstantOnce(t *testing.T) {
	s := newTestStore(t)
	e := newTestEngine(t, s, mustRule(t, `{"name": "sig", "expr": "g", "severity": "info",
		"detector": {"type": "robust_z", "min_samples": 3}}`))
	for i, v := range []float64{10, 11, 9} {
		require.NoError(t, s.Append("g", nil, at(float64(i)), v))
		e.Eval(at(float64(i)))
		e.Eval(at(float64(i))) // a repeated instant must not count as a sample
	}
	rs := e.rules["sig"].detectors[""].state.(*robustZ)
	assert.Len(t, rs.window, 3)
}

func TestEngineIsSafeForConcurrentUse(t *testing.T) {
	s := newTestStore(t)
	rules := []Rule{
		mustRule(t, `{"name": "a", "expr": "sum by (op) (g) > 0", "severity": "info"}`),
		mustRule(t, `{"name": "b", "expr": "g", "severity": "info", "detector": {"type": "ewma"}}`),
	}
	e := newTestEngine(t, s, rules...)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 300 {
			require.NoError(t, e.SetRules(rules[:1+i%2]))
			for _, a := range e.Active() {
				assert.NotEmpty(t, a.ID)
			}
		}
	}()
	for i := range 300 {
		require.NoError(t, s.Append("g", map[string]string{"op": "x"}, at(float64(i)), float64(i%7)))
		e.Eval(at(float64(i)))
	}
	<-done
}
