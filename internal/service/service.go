// Package service is the common frame of a standalone service binary: it
// reads NATS_URL, GEO_LOG_LEVEL and GEO_HEALTH_ADDR, builds the root logger
// with "service" set, connects under the service's name, runs the service
// until SIGINT or SIGTERM, and drains the connection. With GEO_HEALTH_ADDR
// set (e.g. 127.0.0.1:8081) it also serves GET /healthz there for container
// health checks: 200 while the connection is up and JetStream answers, else
// 503. GEO_OTEL_EXPORTER installs a trace exporter (internal/telemetry).
package service

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"

	"github.com/geocluster/geocluster/internal/telemetry"
)

// Runner runs a service on a connection until ctx is done.
type Runner func(ctx context.Context, nc *nats.Conn, log zerolog.Logger) error

// Run connects and runs r; ctx ends it. Logs are JSON lines on stderr.
func Run(ctx context.Context, name string, getenv func(string) string, stderr io.Writer, r Runner) error {
	level := zerolog.InfoLevel
	if v := getenv("GEO_LOG_LEVEL"); v != "" {
		l, err := zerolog.ParseLevel(v)
		if err != nil {
			return fmt.Errorf("GEO_LOG_LEVEL: %w", err)
		}
		level = l
	}
	log := zerolog.New(stderr).Level(level).With().Timestamp().Str("service", name).Logger()
	shutdownTraces, err := telemetry.Setup(ctx, name, getenv, os.Stdout)
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := shutdownTraces(sctx); err != nil {
			log.Warn().Err(err).Msg("flush traces")
		}
	}()
	url := getenv("NATS_URL")
	if url == "" {
		url = nats.DefaultURL
	}
	nc, err := nats.Connect(url, nats.Name(name), nats.MaxReconnects(-1), nats.RetryOnFailedConnect(true),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) { log.Warn().Err(err).Msg("nats disconnected") }),
		nats.ReconnectHandler(func(nc *nats.Conn) { log.Info().Str("url", nc.ConnectedUrl()).Msg("nats reconnected") }))
	if err != nil {
		return fmt.Errorf("connect %s: %w", url, err)
	}
	var h *health
	if addr := getenv("GEO_HEALTH_ADDR"); addr != "" {
		if h, err = startHealth(addr, nc); err != nil {
			nc.Close()
			return err
		}
	}
	log.Info().Str("nats_url", url).Str("health_addr", getenv("GEO_HEALTH_ADDR")).Msg("starting")
	served := make(chan error, 1)
	if h != nil {
		go func() { served <- h.run() }()
	}
	runErr := r(ctx, nc, log)
	if h != nil {
		h.stop()
		if err := <-served; err != nil {
			runErr = errors.Join(runErr, fmt.Errorf("health: %w", err))
		}
	}
	closed := make(chan struct{})
	nc.SetClosedHandler(func(*nats.Conn) { close(closed) })
	if err := nc.Drain(); err != nil {
		nc.Close()
		return errors.Join(runErr, fmt.Errorf("drain: %w", err))
	}
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		nc.Close()
	}
	log.Info().Err(runErr).Msg("stopped")
	return runErr
}
