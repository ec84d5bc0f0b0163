package rules

import (
	"math"
	"time"
)

// ewma is the seasonal-aware EWMA detector: the season is cut into bins
// (time of day, say) and each bin keeps its own exponentially weighted mean
// and variance, so a value is compared with what is usual at that point of
// the season. Without a season there is one bin.
//
// Until a bin has 1/alpha observations it uses the cumulative mean and
// variance (weight 1/(n+1)), so early estimates are not biased towards the
// first value. A value flagged as anomalous is not learned, so a sustained
// drop keeps being flagged instead of becoming the new normal.
type ewma struct {
	cfg  *Detector
	bins []ewmaBin
}

type ewmaBin struct {
	n        int
	mean     float64
	variance float64
}

// bin returns the season bin of t.
func (e *ewma) bin(t time.Time) int {
	if e.cfg.Season <= 0 {
		return 0
	}
	season := int64(e.cfg.Season)
	phase := t.UnixNano() % season
	if phase < 0 {
		phase += season
	}
	return int(phase / (season / int64(len(e.bins))) % int64(len(e.bins)))
}

func (e *ewma) observe(t time.Time, x float64) (bool, bool, Evidence) {
	b := &e.bins[e.bin(t)]
	ev := Evidence{Detector: DetectorEWMA, Baseline: b.mean, Spread: math.Sqrt(b.variance)}
	ready := b.n >= e.cfg.MinSamples
	anomalous := false
	if ready {
		ev.Score = (x - b.mean) / e.cfg.floor(ev.Spread, b.mean)
		anomalous = e.cfg.flags(ev.Score)
	}
	if !anomalous {
		b.learn(x, e.cfg.Alpha)
	}
	return anomalous, ready, ev
}

// learn folds x into the bin (West's incremental EWMA variance).
func (b *ewmaBin) learn(x, alpha float64) {
	if b.n == 0 {
		b.n, b.mean, b.variance = 1, x, 0
		return
	}
	a := math.Max(alpha, 1/float64(b.n+1))
	diff := x - b.mean
	incr := a * diff
	b.mean += incr
	b.variance = (1 - a) * (b.variance + diff*incr)
	b.n++
}
