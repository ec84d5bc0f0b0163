// Command replicator runs the geocluster replicator against NATS_URL,
// configured by GEO_* environment variables (see services/replicator).
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
	"github.com/geocluster/geocluster/services/replicator"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := service.Run(ctx, "replicator", os.Getenv, os.Stderr, func(ctx context.Context, nc *nats.Conn, log zerolog.Logger) error {
		cfg, err := replicator.LoadConfig(os.Getenv)
		if err != nil {
			return err
		}
		return replicator.Run(ctx, replicator.Deps{NC: nc, Log: log}, cfg)
	})
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "replicator:", err)
		os.Exit(1)
	}
}
