package rules

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
)

func TestAppendGatheredConvertsEveryMetricType(t *testing.T) {
	reg := prometheus.NewRegistry()
	done := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "task_done"}, []string{"op"})
	queue := prometheus.NewGauge(prometheus.GaugeOpts{Name: "queue_depth"})
	dur := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "task_duration_seconds", Buckets: []float64{0.1, 1}}, []string{"op"})
	size := prometheus.NewSummary(prometheus.SummaryOpts{Name: "tile_bytes", Objectives: map[float64]float64{0.5: 0.05}})
	up := prometheus.NewUntypedFunc(prometheus.UntypedOpts{Name: "up"}, func() float64 { return 1 })
	reg.MustRegister(done, queue, dur, size, up)

	done.WithLabelValues("hillshade").Add(3)
	queue.Set(7)
	dur.WithLabelValues("hillshade").Observe(0.05)
	dur.WithLabelValues("hillshade").Observe(0.5)
	dur.WithLabelValues("hillshade").Observe(5)
	size.Observe(100)

	mfs, err := reg.Gather()
	require.NoError(t, err)
	s := newTestStore(t)
	require.NoError(t, s.AppendGathered(mfs, at(0)))

	tests := []struct {
		expr string
		want float64
	}{
		{`task_done{op="hillshade"}`, 3},
		{`queue_depth`, 7},
		{`up`, 1},
		{`task_duration_seconds_bucket{op="hillshade", le="0.1"}`, 1},
		{`task_duration_seconds_bucket{op="hillshade", le="1"}`, 2},
		{`task_duration_seconds_bucket{op="hillshade", le="+Inf"}`, 3},
		{`task_duration_seconds_count{op="hillshade"}`, 3},
		{`task_duration_seconds_sum{op="hillshade"}`, 5.55},
		{`tile_bytes{quantile="0.5"}`, 100},
		{`tile_bytes_sum`, 100},
		{`tile_bytes_count`, 1},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			assert.InDelta(t, tt.want, only(t, evalAt(t, s, tt.expr, at(0))), 1e-9)
		})
	}
	assert.Zero(t, s.Dropped())
}

func TestAppendGatheredReportsDroppedSamples(t *testing.T) {
	s := newTestStore(t, WithMaxSeries(1))
	mfs := []*dto.MetricFamily{
		{
			Name: proto.String("x"), Type: dto.MetricType_GAUGE.Enum(),
			Metric: []*dto.Metric{
				{Label: []*dto.LabelPair{{Name: proto.String("op"), Value: proto.String("a")}}, Gauge: &dto.Gauge{Value: proto.Float64(1)}},
				{Label: []*dto.LabelPair{{Name: proto.String("op"), Value: proto.String("b")}}, Gauge: &dto.Gauge{Value: proto.Float64(2)}},
			},
		},
		{Name: proto.String("bad-name"), Type: dto.MetricType_GAUGE.Enum(), Metric: []*dto.Metric{{Gauge: &dto.Gauge{Value: proto.Float64(1)}}}},
	}
	err := s.AppendGathered(mfs, at(0))
	require.ErrorIs(t, err, ErrTooManySeries)
	require.ErrorIs(t, err, ErrInvalidName)
	assert.Equal(t, uint64(2), s.Dropped())
	assert.Equal(t, 1.0, only(t, evalAt(t, s, `x`, at(0))), "the sample that fit is stored")
}
