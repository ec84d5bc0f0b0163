package rules

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	dto "github.com/prometheus/client_model/go"
)

// AppendGathered appends, at time t, every sample of the metric families
// gathered from a Prometheus registry (prometheus.Gatherer.Gather):
//
//   - counters, gauges and untyped metrics as name{labels};
//   - histograms (classic buckets) as name_bucket{labels, le="..."} including
//     le="+Inf", name_sum{labels} and name_count{labels};
//   - summaries as name{labels, quantile="..."}, name_sum and name_count.
//
// Samples that cannot be stored are dropped and counted; the returned error
// joins the reasons (at most one per family), so the caller can report them
// without losing the samples that were stored.
func (s *Store) AppendGathered(mfs []*dto.MetricFamily, t time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for _, mf := range mfs {
		name := mf.GetName()
		if !validMetricName(name) {
			s.dropped.Add(uint64(len(mf.GetMetric())))
			errs = append(errs, fmt.Errorf("append %q: %w", name, ErrInvalidName))
			continue
		}
		var famErr error
		add := func(n string, labels map[string]string, v float64) {
			if err := s.appendLocked(n, labels, t, v); err != nil && famErr == nil {
				famErr = err
			}
		}
		for _, m := range mf.GetMetric() {
			labels := make(map[string]string, len(m.GetLabel())+1)
			for _, lp := range m.GetLabel() {
				labels[lp.GetName()] = lp.GetValue()
			}
			switch mf.GetType() {
			case dto.MetricType_COUNTER:
				add(name, labels, m.GetCounter().GetValue())
			case dto.MetricType_GAUGE:
				add(name, labels, m.GetGauge().GetValue())
			case dto.MetricType_UNTYPED:
				add(name, labels, m.GetUntyped().GetValue())
			case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
				h := m.GetHistogram()
				sawInf := false
				for _, b := range h.GetBucket() {
					ub := b.GetUpperBound()
					sawInf = sawInf || math.IsInf(ub, 1)
					add(name+"_bucket", withLabel(labels, "le", formatFloat(ub)), float64(b.GetCumulativeCount()))
				}
				count := float64(h.GetSampleCount())
				if h.SampleCountFloat != nil {
					count = h.GetSampleCountFloat()
				}
				if !sawInf {
					add(name+"_bucket", withLabel(labels, "le", "+Inf"), count)
				}
				add(name+"_sum", labels, h.GetSampleSum())
				add(name+"_count", labels, count)
			case dto.MetricType_SUMMARY:
				sm := m.GetSummary()
				for _, q := range sm.GetQuantile() {
					add(name, withLabel(labels, "quantile", formatFloat(q.GetQuantile())), q.GetValue())
				}
				add(name+"_sum", labels, sm.GetSampleSum())
				add(name+"_count", labels, float64(sm.GetSampleCount()))
			default:
				famErr = fmt.Errorf("append %s: unsupported metric type %s", name, mf.GetType())
			}
		}
		if famErr != nil {
			errs = append(errs, famErr)
		}
	}
	return errors.Join(errs...)
}

func withLabel(l map[string]string, k, v string) map[string]string {
	c := make(map[string]string, len(l)+1)
	for lk, lv := range l {
		c[lk] = lv
	}
	c[k] = v
	return c
}

// formatFloat formats bucket bounds and quantiles the way Prometheus does.
func formatFloat(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "+Inf"
	case math.IsInf(f, -1):
		return "-Inf"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}
