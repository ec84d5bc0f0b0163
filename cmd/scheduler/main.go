// Command scheduler runs the geocluster scheduler against NATS_URL,
// configured by GEO_* environment variables (see services/scheduler).
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
	"github.com/geocluster/geocluster/services/scheduler"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := service.Run(ctx, "scheduler", os.Getenv, os.Stderr, func(ctx context.Context, nc *nats.Conn, log zerolog.Logger) error {
		cfg, err := scheduler.LoadConfig(os.Getenv)
		if err != nil {
			return err
		}
		return scheduler.Run(ctx, scheduler.Deps{NC: nc, Log: log}, cfg)
	})
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "scheduler:", err)
		os.Exit(1)
	}
}
