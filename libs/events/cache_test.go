package events_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/geocluster/geocluster/libs/events"
)

func TestValidObjectName(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"jobs/J1/out/0_0.tif", true},
		{"scenes/a b/ü.tif", true},
		{"", false},
		{"a\nb", false},
		{"a\rb", false},
		{"a\x7fb", false},
		{strings.Repeat("x", events.MaxObjectNameLen), true},
		{strings.Repeat("x", events.MaxObjectNameLen+1), false},
	} {
		assert.Equal(t, tc.ok, events.ValidObjectName(tc.name), "%q", tc.name)
	}
}

func TestCacheVersionHeader(t *testing.T) {
	t.Parallel()
	v, err := events.ParseCacheVersion(events.FormatCacheVersion(18446744073709551615))
	assert.NoError(t, err)
	assert.Equal(t, uint64(18446744073709551615), v)
	v, err = events.ParseCacheVersion("")
	assert.NoError(t, err)
	assert.Zero(t, v)
	for _, bad := range []string{"-1", "1.5", "x", "18446744073709551616"} {
		_, err := events.ParseCacheVersion(bad)
		assert.True(t, errors.Is(err, events.ErrInvalid), bad)
	}
}

// FuzzCacheDecoders: registrations, statistics and version headers from
// the wire never panic a node or a client.
func FuzzCacheDecoders(f *testing.F) {
	f.Add([]byte(`{"v":1,"id":"c-1","max_bytes":1024,"started_at":"2026-01-01T00:00:00Z","heartbeat_at":"2026-01-01T00:00:00Z"}`))
	f.Add([]byte(`{"v":1,"node":"c-1","hits":1,"compression_ratio":0.5,"at":"2026-01-01T00:00:00Z"}`))
	f.Add([]byte(`{"v":2}`))
	f.Add([]byte(`{"id":"a.b"}`))
	f.Add([]byte(`12`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if n, err := events.DecodeCacheNode(data); err == nil && !events.ValidToken(n.ID) {
			t.Fatalf("registration with id %q accepted", n.ID)
		}
		if s, err := events.DecodeCacheStats(data); err == nil && s.V != events.Version {
			t.Fatalf("stats of version %d accepted", s.V)
		}
		_, _ = events.ParseCacheVersion(string(data))
		_ = events.ValidObjectName(string(data))
	})
}
