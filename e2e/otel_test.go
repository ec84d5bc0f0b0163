package e2e_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/geocluster/geocluster/libs/events"
)

// TestOneJobIsOneTrace: with an OpenTelemetry SDK installed (here an
// in-memory recorder; GEO_OTEL_EXPORTER picks stdout or OTLP in the
// binaries), one job yields spans from the scheduler and from the workers,
// all with one trace id, and the worker spans are children of the job's.
func TestOneJobIsOneTrace(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	prev := otel.GetTracerProvider()
	otel.SetTracerProvider(tp)
	t.Cleanup(func() {
		otel.SetTracerProvider(prev)
		_ = tp.Shutdown(t.Context())
	})

	cl := start(t, 2, nil, nil)
	job := events.JobSpec{ID: "otel-traced", Tasks: []events.TaskSpec{
		{ID: "a", Op: "noop"}, {ID: "b", Op: "noop", Deps: []string{"a"}}, {ID: "c", Op: "noop", Deps: []string{"a"}},
		{ID: "d", Op: "fail", Deps: []string{"b", "c"}, MaxAttempts: 2, Params: json.RawMessage(`{"succeed_on_attempt":2}`)},
	}, Retry: &events.RetryPolicy{InitialMS: 10}}
	cl.submit(t, job)
	require.Equal(t, events.JobSucceeded, cl.waitJob(t, job.ID, 30*time.Second).State)

	var jobSpan sdktrace.ReadOnlySpan
	var taskSpans []sdktrace.ReadOnlySpan
	require.Eventually(t, func() bool {
		jobSpan, taskSpans = nil, nil
		for _, s := range rec.Ended() {
			if s.Name() == "job "+job.ID {
				jobSpan = s
			}
		}
		if jobSpan == nil {
			return false
		}
		for _, s := range rec.Ended() {
			if s.SpanContext().TraceID() == jobSpan.SpanContext().TraceID() && s.Name() != jobSpan.Name() {
				taskSpans = append(taskSpans, s)
			}
		}
		return len(taskSpans) >= 5 // a, b, c and two attempts of d
	}, 30*time.Second, 20*time.Millisecond, "spans of the job's trace")

	assert.Equal(t, "geocluster/scheduler", jobSpan.InstrumentationScope().Name)
	workers := map[string]bool{}
	for _, s := range taskSpans {
		assert.Equal(t, "geocluster/worker", s.InstrumentationScope().Name, s.Name())
		assert.Equal(t, jobSpan.SpanContext().SpanID(), s.Parent().SpanID(), "%s is a child of the job span", s.Name())
		for _, a := range s.Attributes() {
			if a.Key == "geo.worker_id" {
				workers[a.Value.AsString()] = true
			}
		}
	}
	assert.Len(t, taskSpans, 5)
	assert.NotEmpty(t, workers, "task spans name their worker")
}
