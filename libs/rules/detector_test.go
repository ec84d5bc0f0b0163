package rules

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func newDetector(t *testing.T, d Detector) detectorState {
	t.Helper()
	d.setDefaults()
	require.Empty(t, d.validate())
	return newDetectorState(&d)
}

// observeAll feeds vals at 1s intervals from start and returns the indexes
// flagged as anomalous, and how many observations were judged.
func observeAll(det detectorState, start time.Time, vals []float64) (flagged []int, judged int) {
	for i, v := range vals {
		anomalous, ready, _ := det.observe(start.Add(time.Duration(i)*time.Second), v)
		if ready {
			judged++
		}
		if anomalous {
			flagged = append(flagged, i)
		}
	}
	return flagged, judged
}

// noisy returns n values of level plus noise uniform in ±amp: a steady
// load that varies, without the rare extreme values a gaussian has.
func noisy(rng *rand.Rand, n int, level, amp float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = level + (rng.Float64()*2-1)*amp
	}
	return out
}

func TestDetectorsFlagAThroughputDropButNotSteadyNoise(t *testing.T) {
	for _, d := range []Detector{
		{Type: DetectorEWMA, Threshold: 4, Direction: DirectionDown},
		{Type: DetectorEWMA, Threshold: 4, Direction: DirectionBoth, Alpha: 0.05},
		{Type: DetectorRobustZ, Threshold: 4, Direction: DirectionDown, Window: 5 * time.Minute},
		{Type: DetectorRobustZ, Threshold: 4, Direction: DirectionBoth, Window: 10 * time.Minute},
	} {
		t.Run(d.Type+"/"+string(d.Direction), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			det := newDetector(t, d)
			steady := noisy(rng, 3600, 100, 10)
			flagged, judged := observeAll(det, t0, steady)
			assert.Empty(t, flagged, "steady noisy load is not anomalous")
			assert.Greater(t, judged, 3000)

			drop := noisy(rng, 30, 50, 10)
			flagged, _ = observeAll(det, t0.Add(3600*time.Second), drop)
			assert.Contains(t, flagged, 0, "the first sample of the drop is flagged")
			assert.GreaterOrEqual(t, len(flagged), 25)
		})
	}
}

func TestDetectorsDoNotFlagDuringWarmUp(t *testing.T) {
	for _, d := range []Detector{
		{Type: DetectorEWMA, MinSamples: 20},
		{Type: DetectorRobustZ, MinSamples: 20},
	} {
		t.Run(d.Type, func(t *testing.T) {
			det := newDetector(t, d)
			vals := make([]float64, 20)
			for i := range vals {
				vals[i] = float64(i%2) * 1000 // wild, but still warming up
			}
			flagged, judged := observeAll(det, t0, vals)
			assert.Empty(t, flagged)
			assert.Zero(t, judged)
			anomalous, ready, _ := det.observe(t0.Add(20*time.Second), 1e6)
			assert.True(t, ready)
			assert.True(t, anomalous)
		})
	}
}

func TestDetectorDirection(t *testing.T) {
	for _, tt := range []struct {
		dir        Direction
		up, downOK bool
	}{
		{DirectionUp, true, false},
		{DirectionDown, false, true},
		{DirectionBoth, true, true},
	} {
		t.Run(string(tt.dir), func(t *testing.T) {
			for _, typ := range []string{DetectorEWMA, DetectorRobustZ} {
				rng := rand.New(rand.NewPCG(3, 4))
				d := Detector{Type: typ, Direction: tt.dir}
				det := newDetector(t, d)
				flagged, _ := observeAll(det, t0, noisy(rng, 100, 100, 1))
				require.Empty(t, flagged)
				up, _, _ := det.observe(t0.Add(100*time.Second), 200)
				down, _, _ := det.observe(t0.Add(101*time.Second), 0)
				assert.Equal(t, tt.up, up, "%s up", typ)
				assert.Equal(t, tt.downOK, down, "%s down", typ)
			}
		})
	}
}

func TestRobustZGuardsZeroMAD(t *testing.T) {
	det := newDetector(t, Detector{Type: DetectorRobustZ, Threshold: 3})
	flat := make([]float64, 50)
	for i := range flat {
		flat[i] = 100
	}
	flagged, _ := observeAll(det, t0, flat)
	require.Empty(t, flagged)
	// MAD is 0; the spread floor is 1% of the median = 1, so 102 scores 2.
	anomalous, _, ev := det.observe(t0.Add(50*time.Second), 102)
	assert.False(t, anomalous)
	assert.Equal(t, Evidence{Detector: DetectorRobustZ, Baseline: 100, Spread: 0, Score: 2}, ev)
	anomalous, _, ev = det.observe(t0.Add(51*time.Second), 104)
	assert.True(t, anomalous)
	assert.InDelta(t, 4, ev.Score, 1e-9)

	zero := newDetector(t, Detector{Type: DetectorRobustZ})
	flagged, _ = observeAll(zero, t0, make([]float64, 50))
	assert.Empty(t, flagged, "a flat zero signal divides by no zero")
	anomalous, _, ev = zero.observe(t0.Add(50*time.Second), 1)
	assert.True(t, anomalous)
	assert.False(t, math.IsInf(ev.Score, 0) || math.IsNaN(ev.Score))
}

func TestRobustZForgetsOutsideWindow(t *testing.T) {
	det := newDetector(t, Detector{Type: DetectorRobustZ, Window: time.Minute, MinSamples: 30})
	flagged, _ := observeAll(det, t0, noisy(rand.New(rand.NewPCG(5, 6)), 60, 10, 1))
	require.Empty(t, flagged)
	// After a gap longer than the window, the detector warms up again.
	_, ready, _ := det.observe(t0.Add(10*time.Minute), 1000)
	assert.False(t, ready)
}

// seasonal returns n per-second values of a 60-second season: level 100 with
// a regular dip to 50 at phases 30–39, plus noise uniform in ±2.
func seasonal(rng *rand.Rand, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		level := 100.0
		if p := i % 60; p >= 30 && p < 40 {
			level = 50
		}
		out[i] = level + (rng.Float64()*2-1)*2
	}
	return out
}

func TestSeasonalEWMALearnsARegularDipButFlagsAnOffSeasonDrop(t *testing.T) {
	cfg := Detector{Type: DetectorEWMA, Threshold: 5, Direction: DirectionDown, MinSamples: 5, Alpha: 0.2,
		Season: time.Minute, Bins: 60}
	rng := rand.New(rand.NewPCG(7, 8))
	det := newDetector(t, cfg)

	// Twenty seasons: five to warm up each bin, fifteen judged.
	flagged, judged := observeAll(det, t0, seasonal(rng, 20*60))
	assert.Empty(t, flagged, "the regular dip is learned, not flagged")
	assert.Equal(t, 15*60, judged)

	// The next season drops at phases 10–14, off season.
	next := seasonal(rng, 60)
	for p := 10; p < 15; p++ {
		next[p] = 50 + (rng.Float64()*2-1)*2
	}
	flagged, _ = observeAll(det, t0.Add(20*time.Minute), next)
	assert.Equal(t, []int{10, 11, 12, 13, 14}, flagged)

	// Without seasonality the same regular dip is flagged every season.
	flat := cfg
	flat.Season, flat.Bins = 0, 0
	plain := newDetector(t, flat)
	flagged, _ = observeAll(plain, t0, seasonal(rand.New(rand.NewPCG(7, 8)), 20*60))
	assert.NotEmpty(t, flagged)
	for _, i := range flagged {
		assert.True(t, i%60 >= 30 && i%60 < 40, "only dip phases are flagged, got phase %d", i%60)
	}
}

func TestEWMABinsFollowThePhaseOfTheSeason(t *testing.T) {
	e := &ewma{cfg: &Detector{Season: time.Hour, Bins: 4}, bins: make([]ewmaBin, 4)}
	day := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	assert.Equal(t, 0, e.bin(day))
	assert.Equal(t, 1, e.bin(day.Add(15*time.Minute)))
	assert.Equal(t, 3, e.bin(day.Add(59*time.Minute)))
	assert.Equal(t, 0, e.bin(day.Add(time.Hour)))
	assert.Equal(t, 3, e.bin(time.Unix(-1, 0)), "before the epoch")
}
