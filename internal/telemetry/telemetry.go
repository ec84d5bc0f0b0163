// Package telemetry installs the OpenTelemetry trace exporter a service is
// configured with. Off by default: with no exporter the global tracer
// provider stays OpenTelemetry's no-op one, so spans cost nothing; the W3C
// trace context still rides in NATS headers (libs/events), so a trace
// continues across services that do export.
//
// GEO_OTEL_EXPORTER selects the exporter: "" or "none" (off), "stdout"
// (spans as JSON lines on the given writer), "otlp" (OTLP over HTTP,
// configured by the standard OTEL_EXPORTER_OTLP_* variables, e.g.
// OTEL_EXPORTER_OTLP_ENDPOINT=http://collector:4318). GEO_OTEL_SAMPLE is the
// fraction of new traces sampled (1); a trace started elsewhere follows its
// parent's decision.
package telemetry

import (
	"context"
	"fmt"
	"io"
	"strconv"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
)

// Shutdown flushes and stops the exporter.
type Shutdown func(context.Context) error

func noop(context.Context) error { return nil }

// Setup installs the exporter GEO_OTEL_EXPORTER names as the global tracer
// provider, for spans of service; stdout receives the stdout exporter's
// spans. It returns a Shutdown that flushes what is buffered.
func Setup(ctx context.Context, service string, getenv func(string) string, stdout io.Writer) (Shutdown, error) {
	var exp sdktrace.SpanExporter
	var err error
	switch v := getenv("GEO_OTEL_EXPORTER"); v {
	case "", "none":
		return noop, nil
	case "stdout":
		exp, err = stdouttrace.New(stdouttrace.WithWriter(stdout))
	case "otlp":
		exp, err = otlptracehttp.New(ctx)
	default:
		return noop, fmt.Errorf("GEO_OTEL_EXPORTER: %q is not none, stdout or otlp", v)
	}
	if err != nil {
		return noop, fmt.Errorf("GEO_OTEL_EXPORTER: %w", err)
	}
	ratio := 1.0
	if v := getenv("GEO_OTEL_SAMPLE"); v != "" {
		ratio, err = strconv.ParseFloat(v, 64)
		if err != nil || ratio < 0 || ratio > 1 {
			return noop, fmt.Errorf("GEO_OTEL_SAMPLE: %q is not a fraction in [0,1]", v)
		}
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp),
		sdktrace.WithResource(resource.NewSchemaless(semconv.ServiceName(service))),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(ratio))),
	)
	otel.SetTracerProvider(tp)
	return tp.Shutdown, nil
}
