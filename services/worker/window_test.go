package worker

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestWindowCountsTheLastPeriod(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	at := func(d time.Duration) time.Time { return start.Add(d) }
	w := newWindow(10 * time.Second) // ten buckets of 1s
	w.add(at(0), true)
	w.add(at(500*time.Millisecond), false)
	w.add(at(3*time.Second), true)
	for _, tc := range []struct {
		at              time.Duration
		total, failures int
	}{
		{0, 2, 1}, // a bucket is counted whole
		{time.Second, 2, 1},
		{9999 * time.Millisecond, 3, 2},
		{10 * time.Second, 1, 1}, // the bucket of 0s left
		{12999 * time.Millisecond, 1, 1},
		{13 * time.Second, 0, 0},
		{time.Hour, 0, 0},
	} {
		total, failures := w.counts(at(tc.at))
		assert.Equal(t, tc.total, total, "total at %s", tc.at)
		assert.Equal(t, tc.failures, failures, "failures at %s", tc.at)
	}
	w.add(at(20*time.Second), true) // reuses the bucket of 0s and 10s
	total, failures := w.counts(at(20 * time.Second))
	assert.Equal(t, 1, total)
	assert.Equal(t, 1, failures)
	w.reset()
	total, _ = w.counts(at(20 * time.Second))
	assert.Zero(t, total)

	before := newWindow(time.Second)
	before.add(time.Unix(-5, -300_000_000), true) // before 1970: a negative slot still has a bucket
	total, _ = before.counts(time.Unix(-5, -300_000_000))
	assert.Equal(t, 1, total)
}
