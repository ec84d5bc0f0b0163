package events_test

import (
	"context"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/otel/trace"

	"github.com/geocluster/geocluster/libs/events"
)

func TestTraceContextRoundTripsThroughNATSHeaders(t *testing.T) {
	t.Parallel()
	const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	in := nats.Header{}
	in.Set("traceparent", tp)
	ctx := events.ExtractTrace(context.Background(), in)
	sc := trace.SpanContextFromContext(ctx)
	assert.True(t, sc.IsValid())
	assert.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", sc.TraceID().String())
	out := nats.Header{}
	events.InjectTrace(ctx, out)
	assert.Equal(t, tp, out.Get("traceparent"))
	// No trace in, nothing out.
	empty := nats.Header{}
	events.InjectTrace(events.ExtractTrace(context.Background(), nil), empty)
	assert.Empty(t, empty.Get("traceparent"))
}

func TestTraceIDOf(t *testing.T) {
	assert.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", events.TraceIDOf("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"))
	assert.Equal(t, "", events.TraceIDOf(""))
	assert.Equal(t, "", events.TraceIDOf("garbage"))
}
