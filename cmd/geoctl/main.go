// Command geoctl is the geocluster command line: submit jobs, watch their
// progress, inspect jobs, workers, events and dead letters. It speaks only
// the public contract of libs/events over NATS.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "geoctl: %v\n", err)
		os.Exit(1)
	}
}
