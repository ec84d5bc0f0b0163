// Command worker runs one geocluster worker against NATS_URL, configured by
// GEO_* and GEO_WORKER_* environment variables (see services/worker).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/geocluster/geocluster/internal/service"
	"github.com/geocluster/geocluster/services/worker"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := service.Run(ctx, "worker", os.Getenv, os.Stderr, func(ctx context.Context, nc *nats.Conn, log zerolog.Logger) error {
		cfg, err := worker.LoadConfig(os.Getenv)
		if err != nil {
			return err
		}
		js, err := jetstream.New(nc)
		if err != nil {
			return err
		}
		return worker.Run(ctx, worker.Deps{NC: nc, JS: js, Log: log}, cfg)
	})
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		os.Exit(1)
	}
}
