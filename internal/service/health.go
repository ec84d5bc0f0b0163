package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// healthTimeout bounds the checks of one health request.
const healthTimeout = 2 * time.Second

// health serves GET /healthz for container health checks (cmd/geohealth):
// 200 when the service's connection is up, a round trip to its server
// succeeds and JetStream answers for the account; 503 with the reason
// otherwise.
type health struct {
	nc  *nats.Conn
	srv *http.Server
	ln  net.Listener
}

// startHealth listens on addr and serves until stop.
func startHealth(addr string, nc *nats.Conn) (*health, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("GEO_HEALTH_ADDR %s: %w", addr, err)
	}
	h := &health{nc: nc, ln: ln}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", h.serve)
	h.srv = &http.Server{Handler: mux, ReadHeaderTimeout: healthTimeout}
	return h, nil
}

// run serves until stop; it returns nil once stopped.
func (h *health) run() error {
	if err := h.srv.Serve(h.ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func (h *health) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), healthTimeout)
	defer cancel()
	_ = h.srv.Shutdown(ctx)
}

func (h *health) serve(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), healthTimeout)
	defer cancel()
	status := struct {
		Status string `json:"status"`
		Server string `json:"server,omitempty"`
		Error  string `json:"error,omitempty"`
	}{Status: "ok", Server: h.nc.ConnectedServerName()}
	if err := h.check(ctx); err != nil {
		status.Status, status.Error = "unavailable", err.Error()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
	} else {
		w.Header().Set("Content-Type", "application/json")
	}
	_ = json.NewEncoder(w).Encode(status)
}

func (h *health) check(ctx context.Context) error {
	if s := h.nc.Status(); s != nats.CONNECTED {
		return fmt.Errorf("nats connection %s", s)
	}
	if err := h.nc.FlushWithContext(ctx); err != nil {
		return fmt.Errorf("nats round trip: %w", err)
	}
	js, err := jetstream.New(h.nc)
	if err != nil {
		return err
	}
	if _, err := js.AccountInfo(ctx); err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}
	return nil
}
