package service

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/geocluster/geocluster/libs/natstest"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

func healthz(url string) (int, string) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// TestRunServesHealthWhileJetStreamAnswers: with GEO_HEALTH_ADDR set, the
// service answers 200 on /healthz while its server answers, 503 once the
// server is gone, and stops listening when the service stops.
func TestRunServesHealthWhileJetStreamAnswers(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	s := natstest.Server(t)
	addr := freeAddr(t)
	env := map[string]string{"NATS_URL": s.ClientURL(), "GEO_HEALTH_ADDR": addr}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, "probe", func(k string) string { return env[k] }, io.Discard,
			func(ctx context.Context, _ *nats.Conn, _ zerolog.Logger) error {
				<-ctx.Done()
				return nil
			})
	}()
	url := fmt.Sprintf("http://%s/healthz", addr)
	require.Eventually(t, func() bool {
		code, _ := healthz(url)
		return code == http.StatusOK
	}, 10*time.Second, 20*time.Millisecond)

	s.Stop()
	require.Eventually(t, func() bool {
		code, body := healthz(url)
		return code == http.StatusServiceUnavailable && body != ""
	}, 10*time.Second, 20*time.Millisecond)

	cancel()
	select {
	case err := <-done:
		// The server is gone, so the final drain cannot flush.
		assert.ErrorIs(t, err, nats.ErrConnectionReconnecting)
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return")
	}
	code, _ := healthz(url)
	assert.Zero(t, code, "nothing listens once the service stopped")
}
