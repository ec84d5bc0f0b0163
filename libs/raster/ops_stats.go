package raster

import (
	"fmt"
	"math"
)

// Statistics of the valid samples of a band, as gdalinfo -stats reports
// them (exact, not approximate: every sample counts).
type Statistics struct {
	Min, Max float64
	Mean     float64
	StdDev   float64 // population standard deviation, as GDAL's
	Count    int     // valid samples; 0 leaves the other fields NaN
}

// Stats are the statistics of band of r, leaving out nodata and NaN.
func Stats(r *Raster, band int) (Statistics, error) {
	if err := r.checkBand(band); err != nil {
		return Statistics{}, fmt.Errorf("stats: %w", err)
	}
	s := Statistics{Min: math.Inf(1), Max: math.Inf(-1)}
	nd, hasND := r.NoData, r.HasNoData && !math.IsNaN(r.NoData)
	var sum float64
	for _, v := range r.Pix[band] {
		if v != v || hasND && v == nd { // nodata or NaN
			continue
		}
		s.Count++
		sum += v
		s.Min, s.Max = min(s.Min, v), max(s.Max, v)
	}
	if s.Count == 0 {
		nan := math.NaN()
		return Statistics{Min: nan, Max: nan, Mean: nan, StdDev: nan}, nil
	}
	// Two passes: the mean, then the squared deviations from it, which
	// keeps the variance accurate however large the values.
	s.Mean = sum / float64(s.Count)
	var m2, comp float64
	for _, v := range r.Pix[band] {
		if v != v || hasND && v == nd {
			continue
		}
		d := v - s.Mean
		m2 += d * d
		comp += d
	}
	n := float64(s.Count)
	s.StdDev = math.Sqrt(math.Max((m2-comp*comp/n)/n, 0))
	return s, nil
}

// Merge combines the statistics of two disjoint sets of samples (e.g. two
// tiles), so that statistics of a whole raster can be gathered tile by tile.
func (s Statistics) Merge(o Statistics) Statistics {
	switch {
	case o.Count == 0:
		return s
	case s.Count == 0:
		return o
	}
	n1, n2 := float64(s.Count), float64(o.Count)
	n := n1 + n2
	d := o.Mean - s.Mean
	m2 := s.StdDev*s.StdDev*n1 + o.StdDev*o.StdDev*n2 + d*d*n1*n2/n
	return Statistics{
		Min: math.Min(s.Min, o.Min), Max: math.Max(s.Max, o.Max),
		Mean: s.Mean + d*n2/n, StdDev: math.Sqrt(m2 / n), Count: s.Count + o.Count,
	}
}

// Histogram counts the valid samples of band of r in bins equal buckets
// spanning [lo, hi), as GDAL's GetHistogram without out-of-range values: a
// sample v falls in bucket floor((v-lo) * bins/(hi-lo)), and samples
// outside the buckets, hi itself included, are not counted.
func Histogram(r *Raster, band, bins int, lo, hi float64) ([]uint64, error) {
	return histogram(r, band, bins, lo, hi, false)
}

// DefaultHistogram is gdalinfo -hist's histogram computed exactly: for Byte
// bands 256 buckets over [-0.5, 255.5]; for others 256 buckets from the
// minimum to the maximum widened by half a bucket each side; out-of-range
// samples in the end buckets. (gdalinfo takes the minimum and maximum from
// approximate statistics, so its range can be narrower.)
func DefaultHistogram(r *Raster, band int) (lo, hi float64, counts []uint64, err error) {
	const bins = 256
	lo, hi = -0.5, 255.5
	if r.Type != Uint8 {
		s, err := Stats(r, band)
		if err != nil {
			return 0, 0, nil, err
		}
		if s.Count == 0 {
			return 0, 0, nil, fmt.Errorf("histogram: %w: band %d has no valid sample", ErrParam, band)
		}
		half := (s.Max - s.Min) / (2 * (bins - 1))
		lo, hi = s.Min-half, s.Max+half
	}
	counts, err = histogram(r, band, bins, lo, hi, true)
	return lo, hi, counts, err
}

func histogram(r *Raster, band, bins int, lo, hi float64, outOfRange bool) ([]uint64, error) {
	if err := r.checkBand(band); err != nil {
		return nil, fmt.Errorf("histogram: %w", err)
	}
	if bins <= 0 || !(hi > lo) || math.IsInf(hi-lo, 0) {
		return nil, fmt.Errorf("histogram: %w: %d buckets over [%v, %v)", ErrParam, bins, lo, hi)
	}
	counts := make([]uint64, bins)
	scale := float64(bins) / (hi - lo)
	nd, hasND := r.NoData, r.HasNoData && !math.IsNaN(r.NoData)
	for _, v := range r.Pix[band] {
		if v != v || hasND && v == nd { // nodata or NaN
			continue
		}
		switch i := math.Floor((v - lo) * scale); {
		case i < 0:
			if outOfRange {
				counts[0]++
			}
		case i >= float64(bins):
			if outOfRange {
				counts[bins-1]++
			}
		default:
			counts[int(i)]++
		}
	}
	return counts, nil
}
