package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRunPassesOnlyOn2xxWithinTheTimeout: the health check of the scratch
// images succeeds on a 2xx answer and fails on any other status, on a
// refused connection and on an answer slower than -timeout.
func TestRunPassesOnlyOn2xxWithinTheTimeout(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			_, _ = w.Write([]byte("ok"))
		case "/slow":
			time.Sleep(500 * time.Millisecond)
		default:
			http.Error(w, "jetstream not current", http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	var out bytes.Buffer
	require.NoError(t, run([]string{srv.URL + "/ok"}, &out))
	assert.Equal(t, "ok", out.String())
	err := run([]string{srv.URL + "/down"}, &out)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "503")
	assert.Contains(t, err.Error(), "jetstream not current")
	assert.Error(t, run([]string{"-timeout", "100ms", srv.URL + "/slow"}, &out))
	assert.Error(t, run([]string{"http://127.0.0.1:1/healthz"}, &out))
	assert.Error(t, run(nil, &out), "a URL is required")
}
