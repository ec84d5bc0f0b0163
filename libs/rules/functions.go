package rules

import (
	"math"
	"sort"
	"strconv"
)

// rangeFunc applies a range function to each series in the window
// (now-range, now]. Series with too few points for the function are
// skipped.
func (ev *evaluator) rangeFunc(c *rangeCall) vector {
	out := vector{raw: true}
	for _, s := range ev.store.Select(c.sel.name, c.sel.matches, ev.now.Add(-c.sel.rng), ev.now) {
		if v, ok := applyRange(c.fn, s.Points); ok {
			out.elems = append(out.elems, element{labels: s.Labels, v: v})
		}
	}
	return out
}

// applyRange computes fn over pts (ascending, non-empty).
//
// increase is the counter growth between the first and last points, where a
// decrease is a counter reset (the counter restarted from zero, so the new
// value is all growth); rate is that increase per second between the first
// and last points. Neither extrapolates to the window edges. delta is last
// minus first, for gauges.
func applyRange(fn string, pts []Point) (float64, bool) {
	switch fn {
	case "rate", "increase":
		if len(pts) < 2 {
			return 0, false
		}
		inc := counterIncrease(pts)
		if fn == "increase" {
			return inc, true
		}
		secs := pts[len(pts)-1].T.Sub(pts[0].T).Seconds()
		return inc / secs, true
	case "delta":
		if len(pts) < 2 {
			return 0, false
		}
		return pts[len(pts)-1].V - pts[0].V, true
	case "avg_over_time", "sum_over_time":
		sum := 0.0
		for _, p := range pts {
			sum += p.V
		}
		if fn == "sum_over_time" {
			return sum, true
		}
		return sum / float64(len(pts)), true
	case "min_over_time", "max_over_time":
		m := pts[0].V
		for _, p := range pts[1:] {
			if fn == "min_over_time" {
				m = math.Min(m, p.V)
			} else {
				m = math.Max(m, p.V)
			}
		}
		return m, true
	case "count_over_time":
		return float64(len(pts)), true
	}
	return 0, false
}

func counterIncrease(pts []Point) float64 {
	inc := 0.0
	for i := 1; i < len(pts); i++ {
		if d := pts[i].V - pts[i-1].V; d >= 0 {
			inc += d
		} else {
			inc += pts[i].V
		}
	}
	return inc
}

// aggregate groups its argument's elements by the "by" labels (all into one
// group when there is no by clause) and reduces each group.
func (ev *evaluator) aggregate(a *aggregate) vector {
	in := ev.eval(a.arg)
	type group struct {
		labels map[string]string
		vals   []float64
	}
	groups := map[string]*group{}
	var order []string
	for _, el := range in.elems {
		l := keepLabels(el.labels, a.by)
		k := labelsKey(l)
		g, ok := groups[k]
		if !ok {
			g = &group{labels: l}
			groups[k] = g
			order = append(order, k)
		}
		g.vals = append(g.vals, el.v)
	}
	out := vector{}
	for _, k := range order {
		g := groups[k]
		out.elems = append(out.elems, element{labels: g.labels, v: reduce(a.op, g.vals)})
	}
	return out
}

func reduce(op string, vals []float64) float64 {
	switch op {
	case "count":
		return float64(len(vals))
	case "min", "max":
		m := vals[0]
		for _, v := range vals[1:] {
			if op == "min" {
				m = math.Min(m, v)
			} else {
				m = math.Max(m, v)
			}
		}
		return m
	}
	sum := 0.0
	for _, v := range vals {
		sum += v
	}
	if op == "avg" {
		return sum / float64(len(vals))
	}
	return sum
}

// quantile estimates the q-quantile of classic histogram buckets. Elements
// are grouped by their labels other than le (a raw argument forms a single
// group), buckets with equal le are summed, and the quantile is linearly
// interpolated within its bucket as Prometheus does. A group without a
// +Inf bucket, or with no observations, has no value.
func (ev *evaluator) quantile(c *quantileCall) vector {
	in := ev.eval(c.arg)
	type group struct {
		labels  map[string]string
		buckets map[float64]float64
	}
	groups := map[string]*group{}
	var order []string
	for _, el := range in.elems {
		le, err := parseLe(el.labels["le"])
		if err != nil {
			continue
		}
		var l map[string]string
		if !in.raw {
			l = copyLabels(el.labels)
			delete(l, "le")
			if len(l) == 0 {
				l = nil
			}
		}
		k := labelsKey(l)
		g, ok := groups[k]
		if !ok {
			g = &group{labels: l, buckets: map[float64]float64{}}
			groups[k] = g
			order = append(order, k)
		}
		g.buckets[le] += el.v
	}
	out := vector{}
	for _, k := range order {
		g := groups[k]
		if v, ok := bucketQuantile(c.q, g.buckets); ok {
			out.elems = append(out.elems, element{labels: g.labels, v: v})
		}
	}
	return out
}

type bucket struct{ le, count float64 }

func bucketQuantile(q float64, byLe map[float64]float64) (float64, bool) {
	bs := make([]bucket, 0, len(byLe))
	for le, c := range byLe {
		bs = append(bs, bucket{le, c})
	}
	sort.Slice(bs, func(i, j int) bool { return bs[i].le < bs[j].le })
	if len(bs) < 2 || !math.IsInf(bs[len(bs)-1].le, 1) {
		return 0, false
	}
	// Rates of cumulative counts can be slightly non-monotonic; repair.
	for i := 1; i < len(bs); i++ {
		bs[i].count = math.Max(bs[i].count, bs[i-1].count)
	}
	total := bs[len(bs)-1].count
	if total <= 0 {
		return 0, false
	}
	rank := q * total
	i := sort.Search(len(bs)-1, func(i int) bool { return bs[i].count >= rank })
	if i == len(bs)-1 {
		return bs[len(bs)-2].le, true
	}
	if i == 0 && bs[0].le <= 0 {
		return bs[0].le, true
	}
	lower, below := 0.0, 0.0
	if i > 0 {
		lower, below = bs[i-1].le, bs[i-1].count
	}
	inBucket := bs[i].count - below
	if inBucket == 0 {
		return bs[i].le, true
	}
	return lower + (bs[i].le-lower)*(rank-below)/inBucket, true
}

func parseLe(s string) (float64, error) {
	if s == "+Inf" {
		return math.Inf(1), nil
	}
	return strconv.ParseFloat(s, 64)
}
