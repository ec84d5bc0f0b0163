package scheduler

import (
	"math"
	"math/rand/v2"
	"time"

	"github.com/geocluster/geocluster/libs/events"
)

// backoff returns the delay before attempt next (2, 3, …) of a task whose
// attempt next-1 failed: InitialMS * Multiplier^(next-2), capped at MaxMS,
// then spread by ±Jitter. rnd returns a value in [0,1).
func backoff(p events.RetryPolicy, next int, rnd func() float64) time.Duration {
	n := max(next-2, 0)
	d := float64(p.InitialMS) * math.Pow(p.Multiplier, float64(n))
	if d > float64(p.MaxMS) || math.IsInf(d, 0) || math.IsNaN(d) {
		d = float64(p.MaxMS)
	}
	if p.Jitter != nil && *p.Jitter > 0 {
		d *= 1 + *p.Jitter*(2*rnd()-1)
	}
	return time.Duration(d * float64(time.Millisecond))
}

// jitterSource is the randomness of backoff; tests replace it.
func jitterSource() func() float64 { return rand.Float64 }
