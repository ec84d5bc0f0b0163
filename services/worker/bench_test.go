package worker_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/geocluster/geocluster/libs/events"
)

// BenchmarkNoopThroughput runs b.N noop tasks backlogged on one worker and
// reports tasks/s from the first fetch to the last result event stored.
func BenchmarkNoopThroughput(b *testing.B) {
	h := newHarness(b)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var futures []jetstream.PubAckFuture
	for i := range b.N {
		m := task("bench", fmt.Sprintf("t%d", i), events.OpNoop, "")
		data, err := json.Marshal(m)
		require.NoError(b, err)
		f, err := h.js.PublishMsgAsync(&nats.Msg{Subject: events.TaskSubject(m.Priority, m.Pool), Data: data})
		require.NoError(b, err)
		futures = append(futures, f)
	}
	select {
	case <-h.js.PublishAsyncComplete():
	case <-ctx.Done():
		b.Fatal("backlog not stored")
	}
	for _, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			b.Fatal(err)
		}
	}
	done := make(chan struct{})
	n := 0
	sub, err := h.nc.Subscribe(events.TaskEventSubject(events.DefaultTenant, "bench", events.TaskSucceeded), func(*nats.Msg) {
		if n++; n == b.N {
			close(done)
		}
	})
	require.NoError(b, err)
	defer func() { _ = sub.Unsubscribe() }()
	require.NoError(b, h.nc.Flush())

	b.ResetTimer()
	start := time.Now()
	cfg := config()
	cfg.Capacity = 64
	w := h.start(cfg, nil)
	select {
	case <-done:
	case <-ctx.Done():
		b.Fatal("tasks not done")
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "tasks/s")
	b.StopTimer()
	require.NoError(b, w.stop(b))
}

// BenchmarkSignalToStart measures, at light load, the time from a task's
// release (stored, then signalled) to its started event on an idle worker.
func BenchmarkSignalToStart(b *testing.B) {
	h := newHarness(b)
	w := h.start(config(), nil)
	started := make(chan struct{}, 1)
	sub, err := h.nc.Subscribe(events.TaskEventSubject(events.DefaultTenant, "latency", events.TaskStarted), func(*nats.Msg) {
		started <- struct{}{}
	})
	require.NoError(b, err)
	defer func() { _ = sub.Unsubscribe() }()
	require.NoError(b, h.nc.Flush())
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		m := task("latency", fmt.Sprintf("t%d", i), events.OpNoop, "")
		t0 := time.Now()
		h.publish(m)
		<-started
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
	require.NoError(b, w.stop(b))
}
