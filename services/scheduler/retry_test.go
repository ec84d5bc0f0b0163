package scheduler

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/geocluster/geocluster/libs/events"
)

func TestBackoffGrowsExponentiallyAndCaps(t *testing.T) {
	t.Parallel()
	p := events.RetryPolicy{InitialMS: 100, MaxMS: 1000, Multiplier: 2}
	mid := func() float64 { return 0.99 } // no jitter: the draw must not matter
	for _, c := range []struct {
		next int
		want time.Duration
	}{{2, 100 * time.Millisecond}, {3, 200 * time.Millisecond}, {4, 400 * time.Millisecond}, {5, 800 * time.Millisecond}, {6, time.Second}, {50, time.Second}, {5000, time.Second}} {
		assert.Equal(t, c.want, backoff(p, c.next, mid), "attempt %d", c.next)
	}
}

func TestBackoffJitterStaysInBounds(t *testing.T) {
	t.Parallel()
	jitter := 0.2
	p := events.RetryPolicy{InitialMS: 1000, MaxMS: 10000, Multiplier: 2, Jitter: &jitter}
	assert.Equal(t, 800*time.Millisecond, backoff(p, 2, func() float64 { return 0 }))
	assert.InDelta(t, float64(1200*time.Millisecond), float64(backoff(p, 2, func() float64 { return 0.999999 })), float64(time.Millisecond))
	rnd := jitterSource()
	for range 1000 {
		d := backoff(p, 3, rnd)
		assert.GreaterOrEqual(t, d, 1600*time.Millisecond)
		assert.LessOrEqual(t, d, 2400*time.Millisecond)
	}
}

func TestJitterZeroTurnsItOffAndAbsentMeansTheDefault(t *testing.T) {
	t.Parallel()
	zero := (&events.RetryPolicy{Jitter: new(float64)}).WithDefaults()
	assert.Equal(t, 200*time.Millisecond, backoff(zero, 2, func() float64 { return 0.99 }))
	def := (*events.RetryPolicy)(nil).WithDefaults()
	require.NotNil(t, def.Jitter)
	assert.Equal(t, events.DefaultRetryJitter, *def.Jitter)
}
