package rules

import (
	"math"
	"time"
)

// madScale makes the MAD a consistent estimator of the standard deviation
// for normally distributed data.
const madScale = 1.4826

// robustZ is the robust z-score detector: a value is scored against the
// median and median absolute deviation (MAD) of the observations in a
// trailing window. The window includes earlier anomalous values: the median
// tolerates them, and a lasting level shift becomes the baseline once it
// fills half the window.
type robustZ struct {
	cfg    *Detector
	window []Point
}

func (r *robustZ) observe(t time.Time, x float64) (bool, bool, Evidence) {
	cutoff := t.Add(-r.cfg.Window)
	i := 0
	for i < len(r.window) && !r.window[i].T.After(cutoff) {
		i++
	}
	r.window = append(r.window[:0], r.window[i:]...)
	ev := Evidence{Detector: DetectorRobustZ}
	ready := len(r.window) >= r.cfg.MinSamples
	anomalous := false
	if ready {
		vals := make([]float64, len(r.window))
		for i, p := range r.window {
			vals[i] = p.V
		}
		ev.Baseline = medianOf(vals)
		for i := range vals {
			vals[i] = math.Abs(vals[i] - ev.Baseline)
		}
		ev.Spread = medianOf(vals)
		ev.Score = (x - ev.Baseline) / r.cfg.floor(madScale*ev.Spread, ev.Baseline)
		anomalous = r.cfg.flags(ev.Score)
	}
	r.window = append(r.window, Point{T: t, V: x})
	return anomalous, ready, ev
}
