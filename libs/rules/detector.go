package rules

import (
	"fmt"
	"math"
	"sort"
	"time"
)

// Detector kinds.
const (
	// DetectorEWMA is a seasonal-aware exponentially weighted moving mean and
	// variance per season bin; it scores a value in standard deviations.
	DetectorEWMA = "ewma"
	// DetectorRobustZ scores a value against the median and MAD of a
	// trailing window.
	DetectorRobustZ = "robust_z"
)

// Direction says which deviations a detector flags.
type Direction string

// Directions.
const (
	DirectionUp   Direction = "up"
	DirectionDown Direction = "down"
	DirectionBoth Direction = "both"
)

// Detector configures anomaly detection on a rule's signal. Zero fields
// take the defaults noted; decode fills them in.
type Detector struct {
	Type        string        // DetectorEWMA or DetectorRobustZ
	Threshold   float64       // score beyond which a value is anomalous; default 3
	Direction   Direction     // up, down or both; default both
	MinSamples  int           // warm-up: observations (per bin for ewma) before flagging; default 10
	SpreadFloor float64       // the spread (stddev, 1.4826·MAD) is at least this fraction of |baseline|; default 0.01
	Alpha       float64       // ewma: smoothing factor in (0, 1]; default 0.1
	Season      time.Duration // ewma: season length; 0 means no seasonality
	Bins        int           // ewma: bins per season; default 24 when Season > 0, else 1
	Window      time.Duration // robust_z: trailing window; default 30m
}

type detectorJSON struct {
	Type        string    `json:"type"`
	Threshold   float64   `json:"threshold,omitempty"`
	Direction   Direction `json:"direction,omitempty"`
	MinSamples  int       `json:"min_samples,omitempty"`
	SpreadFloor float64   `json:"spread_floor,omitempty"`
	Alpha       float64   `json:"alpha,omitempty"`
	Season      string    `json:"season,omitempty"`
	Bins        int       `json:"bins,omitempty"`
	Window      string    `json:"window,omitempty"`
}

// decode converts the stored form, applying defaults. Errors have no rule
// name set.
func (j *detectorJSON) decode() (*Detector, []*RuleError) {
	d := &Detector{Type: j.Type, Threshold: j.Threshold, Direction: j.Direction, MinSamples: j.MinSamples,
		SpreadFloor: j.SpreadFloor, Alpha: j.Alpha, Bins: j.Bins}
	var errs []*RuleError
	for _, f := range []struct {
		name string
		src  string
		dst  *time.Duration
	}{{"season", j.Season, &d.Season}, {"window", j.Window, &d.Window}} {
		if f.src == "" {
			continue
		}
		v, err := ParseDuration(f.src)
		if err != nil {
			errs = append(errs, &RuleError{Field: "detector." + f.name, Err: err})
		}
		*f.dst = v
	}
	d.setDefaults()
	return d, errs
}

func (d *Detector) encode() *detectorJSON {
	j := &detectorJSON{Type: d.Type, Threshold: d.Threshold, Direction: d.Direction, MinSamples: d.MinSamples,
		SpreadFloor: d.SpreadFloor, Alpha: d.Alpha, Bins: d.Bins}
	if d.Season > 0 {
		j.Season = formatDuration(d.Season)
	}
	if d.Window > 0 {
		j.Window = formatDuration(d.Window)
	}
	return j
}

// setDefaults fills zero fields with their defaults.
func (d *Detector) setDefaults() {
	if d.Threshold == 0 {
		d.Threshold = 3
	}
	if d.Direction == "" {
		d.Direction = DirectionBoth
	}
	if d.MinSamples == 0 {
		d.MinSamples = 10
	}
	if d.SpreadFloor == 0 {
		d.SpreadFloor = 0.01
	}
	switch d.Type {
	case DetectorEWMA:
		if d.Alpha == 0 {
			d.Alpha = 0.1
		}
		if d.Bins == 0 {
			d.Bins = 1
			if d.Season > 0 {
				d.Bins = 24
			}
		}
	case DetectorRobustZ:
		if d.Window == 0 {
			d.Window = 30 * time.Minute
		}
	}
}

// validate checks a detector whose defaults are set.
func (d *Detector) validate() []*RuleError {
	var errs []*RuleError
	fail := func(field, format string, args ...any) {
		errs = append(errs, &RuleError{Field: "detector." + field, Err: fmt.Errorf(format, args...)})
	}
	positive := func(field string, v float64) {
		if !(v > 0) || math.IsInf(v, 1) {
			fail(field, "must be a positive number")
		}
	}
	switch d.Type {
	case DetectorEWMA, DetectorRobustZ:
	default:
		fail("type", "must be one of %s, %s", DetectorEWMA, DetectorRobustZ)
	}
	positive("threshold", d.Threshold)
	positive("spread_floor", d.SpreadFloor)
	switch d.Direction {
	case DirectionUp, DirectionDown, DirectionBoth:
	default:
		fail("direction", "must be one of up, down, both")
	}
	if d.MinSamples < 1 {
		fail("min_samples", "must be at least 1")
	}
	if d.Type == DetectorEWMA {
		if !(d.Alpha > 0 && d.Alpha <= 1) {
			fail("alpha", "must be in (0, 1]")
		}
		if d.Season < 0 {
			fail("season", "must not be negative")
		}
		if d.Bins < 1 || d.Bins > 100000 {
			fail("bins", "must be in [1, 100000]")
		}
		if d.Season == 0 && d.Bins > 1 {
			fail("bins", "must be 1 without a season")
		}
		if d.Season > 0 && d.Season/time.Duration(max(d.Bins, 1)) == 0 {
			fail("bins", "more bins than nanoseconds in the season")
		}
	} else if d.Window <= 0 {
		fail("window", "must be positive")
	}
	if d.Type == DetectorRobustZ && (d.Alpha != 0 || d.Season != 0 || d.Bins != 0) {
		fail("type", "alpha, season and bins apply to ewma only")
	}
	if d.Type == DetectorEWMA && d.Window != 0 {
		fail("window", "applies to robust_z only")
	}
	return errs
}

// Evidence explains a detector's verdict on one observation.
type Evidence struct {
	Detector string  `json:"detector"` // DetectorEWMA or DetectorRobustZ
	Baseline float64 `json:"baseline"` // ewma: mean of the bin; robust_z: median of the window
	Spread   float64 `json:"spread"`   // ewma: standard deviation; robust_z: MAD (unscaled)
	Score    float64 `json:"score"`    // signed deviation in spreads (robust_z: in 1.4826·MAD)
}

// detectorState is the learned state of one detector for one group.
type detectorState interface {
	// observe scores x at t, then learns from it. ready is false during
	// warm-up, when the observation is learned but not judged.
	observe(t time.Time, x float64) (anomalous, ready bool, ev Evidence)
}

func newDetectorState(d *Detector) detectorState {
	if d.Type == DetectorRobustZ {
		return &robustZ{cfg: d}
	}
	return &ewma{cfg: d, bins: make([]ewmaBin, d.Bins)}
}

// flags reports whether score is beyond the threshold in the direction.
func (d *Detector) flags(score float64) bool {
	switch d.Direction {
	case DirectionUp:
		return score > d.Threshold
	case DirectionDown:
		return score < -d.Threshold
	}
	return math.Abs(score) > d.Threshold
}

// floor returns spread, raised to the configured fraction of |baseline|
// (and to a tiny absolute value so a flat zero signal cannot divide by 0).
func (d *Detector) floor(spread, baseline float64) float64 {
	return math.Max(spread, math.Max(d.SpreadFloor*math.Abs(baseline), 1e-9))
}

// medianOf returns the median of vals, sorting them.
func medianOf(vals []float64) float64 {
	sort.Float64s(vals)
	n := len(vals)
	if n%2 == 1 {
		return vals[n/2]
	}
	return (vals[n/2-1] + vals[n/2]) / 2
}
