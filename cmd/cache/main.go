// Command cache runs one geocluster tile cache node against NATS_URL,
// configured by GEO_CACHE_* environment variables (see services/cache).
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
	"github.com/geocluster/geocluster/services/cache"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := service.Run(ctx, "cache", os.Getenv, os.Stderr, func(ctx context.Context, nc *nats.Conn, log zerolog.Logger) error {
		cfg, err := cache.LoadConfig(os.Getenv)
		if err != nil {
			return err
		}
		return cache.Run(ctx, cache.Deps{NC: nc, Log: log}, cfg)
	})
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "cache:", err)
		os.Exit(1)
	}
}
