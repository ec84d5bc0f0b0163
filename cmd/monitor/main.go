// Command monitor runs the geocluster monitor against NATS_URL: metrics
// derived from the event streams on /metrics, alert rules from geo_rules
// published on geo.alerts.<severity>.<rule>, and the live dashboard, all on
// GEO_MONITOR_ADDR (:8090). Configured by GEO_MONITOR_* variables (see
// services/monitor).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"

	"github.com/geocluster/geocluster/internal/service"
	"github.com/geocluster/geocluster/services/monitor"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := service.Run(ctx, "monitor", os.Getenv, os.Stderr, func(ctx context.Context, nc *nats.Conn, log zerolog.Logger) error {
		cfg, err := monitor.LoadConfig(os.Getenv)
		if err != nil {
			return err
		}
		return monitor.Run(ctx, monitor.Deps{NC: nc, Log: log}, cfg)
	})
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "monitor:", err)
		os.Exit(1)
	}
}
