package rules

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRangeFunctionsMatchHandComputedValues(t *testing.T) {
	s := newTestStore(t)
	// Counter with a reset at t=30 (20 → 5), samples every 10s.
	appendSeries(t, s, "c", map[string]string{"op": "a"}, 0, 10, 0, 10, 20, 5, 15, 25, 35)
	// Gauge.
	appendSeries(t, s, "g", nil, 0, 10, 5, 3, 8, 1, 4, 9, 2)
	now := at(60)
	tests := []struct {
		expr string
		want float64
	}{
		// Window (0s, 60s]: 10 20 5 15 25 35 → +10, reset +5, +10 +10 +10 = 45 over 50s.
		{`increase(c[1m])`, 45},
		{`rate(c[1m])`, 0.9},
		// Window (-60s, 60s] includes t=0: 55 over 60s.
		{`increase(c[2m])`, 55},
		{`rate(c[2m])`, 55.0 / 60},
		// Gauge window (0s, 60s]: 3 8 1 4 9 2.
		{`avg_over_time(g[1m])`, 4.5},
		{`max_over_time(g[1m])`, 9},
		{`min_over_time(g[1m])`, 1},
		{`sum_over_time(g[1m])`, 27},
		{`count_over_time(g[1m])`, 6},
		{`delta(g[1m])`, -1},
		{`delta(g[30s])`, 2 - 4}, // window (30s, 60s]: 4 9 2
		{`g`, 2},
		{`c`, 35},
		{`c{op="a"} * 2 + 1`, 71},
		{`-g`, -2},
		{`g - 3`, -1},
		{`10 / g`, 5},
		{`g > 1`, 2},
		{`5 > g`, 2},
		{`g == 2`, 2},
		{`g != 3`, 2},
		{`g >= 2`, 2},
		{`g <= 2`, 2},
		{`g < 3`, 2},
		{`g and c`, 2},
		{`g > 100 or c`, 35},
		{`(g + c) / 37`, 1},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			assert.InDelta(t, tt.want, only(t, evalAt(t, s, tt.expr, now)), 1e-9)
		})
	}
}

func TestExpressionsWithoutValue(t *testing.T) {
	s := newTestStore(t)
	appendSeries(t, s, "g", nil, 0, 10, 5, 3, 8, 1, 4, 9, 2)
	appendSeries(t, s, "zero", nil, 0, 10, 0, 0, 0, 0, 0, 0, 0)
	appendSeries(t, s, "single", nil, 60, 10, 7)
	for _, expr := range []string{
		`g / zero`,          // division by zero
		`g / (g - 2)`,       // division by a computed zero
		`g > 5`,             // comparison false
		`g > 1 and g < 2`,   // and with an empty side
		`missing`,           // no series
		`rate(missing[1m])`, // no series
		`rate(single[1m])`,  // one point: no rate
		`delta(single[1m])`, // one point: no delta
		`g{op="x"}`,         // matcher excludes everything
		`g + missing`,       // arithmetic with no value
	} {
		t.Run(expr, func(t *testing.T) {
			assert.Empty(t, evalAt(t, s, expr, at(60)))
		})
	}
}

func TestInstantSelectorGoesStale(t *testing.T) {
	s := newTestStore(t)
	appendSeries(t, s, "g", nil, 0, 10, 1, 2)
	e, err := ParseExpr(`g`)
	require.NoError(t, err)
	assert.Equal(t, 2.0, only(t, e.Eval(s, at(10+299), 0)), "5m default staleness")
	assert.Empty(t, e.Eval(s, at(10+300), 0), "sample exactly 5m old is stale")
	assert.Equal(t, 2.0, only(t, e.Eval(s, at(10+59), time.Minute)))
	assert.Empty(t, e.Eval(s, at(10+60), time.Minute))
	assert.Equal(t, 1.0, only(t, e.Eval(s, at(5), 0)), "samples after now are invisible")
}

func TestSelectorsMatchLabels(t *testing.T) {
	s := newTestStore(t)
	for _, series := range []struct {
		labels map[string]string
		v      float64
	}{
		{map[string]string{"op": "hillshade", "tier": "a"}, 1},
		{map[string]string{"op": "hillshade", "tier": "b"}, 2},
		{map[string]string{"op": "reproject", "tier": "a"}, 4},
		{map[string]string{"op": "tile"}, 8},
	} {
		require.NoError(t, s.Append("x", series.labels, at(0), series.v))
	}
	tests := []struct {
		expr string
		want float64
	}{
		{`x`, 15},
		{`x{op="hillshade"}`, 3},
		{`x{op!="hillshade"}`, 12},
		{`x{op=~"hill.*|tile"}`, 11},
		{`x{op=~"hill"}`, 0}, // anchored: no match
		{`x{op!~"hill.*"}`, 12},
		{`x{tier=""}`, 8}, // absent label matches ""
		{`x{tier!=""}`, 7},
		{`x{op="hillshade", tier="b"}`, 2},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			rs := evalAt(t, s, tt.expr, at(0))
			if tt.want == 0 {
				assert.Empty(t, rs)
				return
			}
			assert.Equal(t, tt.want, only(t, rs))
		})
	}
}

func TestAggregationByYieldsOneValuePerGroup(t *testing.T) {
	s := newTestStore(t)
	add := func(name, op, tier string, v float64) {
		require.NoError(t, s.Append(name, map[string]string{"op": op, "tier": tier}, at(0), v))
	}
	add("x", "a", "1", 1)
	add("x", "a", "2", 3)
	add("x", "b", "1", 10)
	add("y", "a", "1", 2)
	add("y", "a", "2", 2)
	add("y", "b", "1", 0)
	op := func(v string) map[string]string { return map[string]string{"op": v} }
	tests := []struct {
		expr string
		want []Result
	}{
		{`sum by (op) (x)`, []Result{{op("a"), 4}, {op("b"), 10}}},
		{`max by (op) (x)`, []Result{{op("a"), 3}, {op("b"), 10}}},
		{`min by (op) (x)`, []Result{{op("a"), 1}, {op("b"), 10}}},
		{`avg by (op) (x)`, []Result{{op("a"), 2}, {op("b"), 10}}},
		{`count by (op) (x)`, []Result{{op("a"), 2}, {op("b"), 1}}},
		{`sum(x)`, []Result{{nil, 14}}},
		{`max(x)`, []Result{{nil, 10}}},
		{`sum by (op) (x) * 2`, []Result{{op("a"), 8}, {op("b"), 20}}},
		{`100 - sum by (op) (x)`, []Result{{op("a"), 96}, {op("b"), 90}}},
		// Groups pair by labels; b divides by zero and has no value.
		{`sum by (op) (x) / sum by (op) (y)`, []Result{{op("a"), 1}}},
		{`sum by (op) (x) > 5`, []Result{{op("b"), 10}}},
		{`5 < sum by (op) (x)`, []Result{{op("b"), 10}}},
		{`sum by (op) (x) > 5 or sum by (op) (y)`, []Result{{op("a"), 4}, {op("b"), 10}}},
		{`sum by (op) (x) and sum by (op) (y) > 1`, []Result{{op("a"), 4}}},
		{`sum by (nope) (x)`, []Result{{nil, 14}}},
		{`sum by (op, tier) (x{op="a"})`, []Result{
			{map[string]string{"op": "a", "tier": "1"}, 1},
			{map[string]string{"op": "a", "tier": "2"}, 3},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			assert.Equal(t, tt.want, evalAt(t, s, tt.expr, at(0)))
		})
	}
}

func TestHistogramQuantileInterpolatesWithinBucket(t *testing.T) {
	s := newTestStore(t)
	bucket := func(op, le string, v float64) {
		require.NoError(t, s.Append("d_bucket", map[string]string{"op": op, "le": le}, at(0), v))
	}
	// op a: 10 obs ≤ 0.1, 20 in (0.1, 0.5], 10 in (0.5, 1], none above.
	bucket("a", "0.1", 10)
	bucket("a", "0.5", 30)
	bucket("a", "1", 40)
	bucket("a", "+Inf", 40)
	// op b: 40 obs, half above 1.
	bucket("b", "0.1", 0)
	bucket("b", "0.5", 0)
	bucket("b", "1", 20)
	bucket("b", "+Inf", 40)
	tests := []struct {
		expr string
		want []Result
	}{
		{`histogram_quantile(0.5, d_bucket{op="a"})`, []Result{{nil, 0.1 + 0.4*10/20}}},
		{`histogram_quantile(0.99, d_bucket{op="a"})`, []Result{{nil, 0.5 + 0.5*9.6/10}}},
		{`histogram_quantile(0.1, d_bucket{op="a"})`, []Result{{nil, 0.1 * 4 / 10}}},
		{`histogram_quantile(0.9, d_bucket{op="b"})`, []Result{{nil, 1}}}, // in +Inf bucket: largest finite bound
		// Both ops summed by le: 10, 30, 60, 80; rank 40 falls in (0.5, 1]: 0.5 + 0.5*10/30.
		{`histogram_quantile(0.5, d_bucket)`, []Result{{nil, 0.5 + 0.5*10/30}}},
		{`histogram_quantile(0.5, sum by (op, le) (d_bucket))`, []Result{
			{map[string]string{"op": "a"}, 0.3},
			{map[string]string{"op": "b"}, 1},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			got := evalAt(t, s, tt.expr, at(0))
			require.Len(t, got, len(tt.want))
			for i := range got {
				assert.Equal(t, tt.want[i].Labels, got[i].Labels)
				assert.InDelta(t, tt.want[i].Value, got[i].Value, 1e-9)
			}
		})
	}

	t.Run("no +Inf bucket", func(t *testing.T) {
		require.NoError(t, s.Append("e_bucket", map[string]string{"le": "1"}, at(0), 5))
		assert.Empty(t, evalAt(t, s, `histogram_quantile(0.5, e_bucket)`, at(0)))
	})
}

func TestExprEvalIsSafeWithConcurrentAppends(t *testing.T) {
	s := newTestStore(t, WithRetention(time.Minute))
	e, err := ParseExpr(`sum by (op) (rate(c[30s])) > 0`)
	require.NoError(t, err)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 2000 {
			for _, op := range []string{"a", "b"} {
				_ = s.Append("c", map[string]string{"op": op}, at(float64(i)), float64(i))
			}
		}
	}()
	for i := range 500 {
		for _, r := range e.Eval(s, at(float64(i*4)), 0) {
			assert.Positive(t, r.Value)
		}
	}
	<-done
	got := e.Eval(s, at(1999), 0)
	require.Len(t, got, 2)
	assert.InDelta(t, 1.0, got[0].Value, 1e-9)
}
