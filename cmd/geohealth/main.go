// Command geohealth is the health check of the container images, which are
// built FROM scratch and so have no shell or curl: it GETs one health URL
// (a NATS server's monitoring /healthz, or a service's GEO_HEALTH_ADDR
// /healthz) and exits 0 only on a 2xx answer within the timeout.
//
//	geohealth [-timeout 3s] http://127.0.0.1:8222/healthz
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "geohealth:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("geohealth", flag.ContinueOnError)
	timeout := fs.Duration("timeout", 3*time.Second, "bound on the whole check")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("want one URL, got %d arguments", fs.NArg())
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fs.Arg(0), nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s: %s: %s", fs.Arg(0), resp.Status, body)
	}
	_, err = stdout.Write(body)
	return err
}
