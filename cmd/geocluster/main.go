// Command geocluster runs a whole geocluster in one process: an embedded
// NATS JetStream server plus every service. `geocluster serve` runs until
// interrupted; `geocluster demo` also runs the demo job on the sample data
// and exits.
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
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "geocluster:", err)
		os.Exit(1)
	}
}
