package raster

import (
	"testing"
)

// opsBenchDEM is the 2048 x 2048 synthetic DEM of the benchmarks.
func opsBenchDEM(b *testing.B, noData bool) *Raster {
	b.Helper()
	r := opsSyntheticDEM(2048, 2048, Float32)
	if !noData {
		r.HasNoData = false
		for i, v := range r.Pix[0] {
			if v == r.NoData {
				r.Pix[0][i] = 2000
			}
		}
	}
	return r
}

func BenchmarkHillshade(b *testing.B) {
	for _, c := range []struct {
		name   string
		noData bool
		edges  bool
	}{{"no nodata", false, false}, {"holes", true, false}, {"holes edges", true, true}} {
		b.Run(c.name, func(b *testing.B) {
			src := opsBenchDEM(b, c.noData)
			p := DefaultHillshadeParams()
			p.ComputeEdges = c.edges
			b.SetBytes(int64(src.Width * src.Height * 4))
			for b.Loop() {
				if _, err := Hillshade(src, 0, p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkSlope(b *testing.B) {
	src := opsBenchDEM(b, true)
	b.SetBytes(int64(src.Width * src.Height * 4))
	for b.Loop() {
		if _, err := Slope(src, 0, DefaultSlopeParams()); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNDVI(b *testing.B) {
	red, nir := opsBenchDEM(b, true), opsBenchDEM(b, true)
	for i := range nir.Pix[0] {
		nir.Pix[0][i] += 500
	}
	b.SetBytes(int64(red.Width * red.Height * 8))
	for b.Loop() {
		if _, err := BandMath([]*Raster{red, nir}, "(b2-b1)/(b2+b1)", BandMathOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkResample(b *testing.B) {
	src := opsBenchDEM(b, true)
	for _, m := range []Resampling{Nearest, Bilinear, Average} {
		b.Run(m.String(), func(b *testing.B) {
			b.SetBytes(int64(src.Width * src.Height * 4))
			for b.Loop() {
				if _, err := Resample(src, 1000, 1000, m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkStats(b *testing.B) {
	src := opsBenchDEM(b, true)
	b.SetBytes(int64(src.Width * src.Height * 4))
	for b.Loop() {
		if _, err := Stats(src, 0); err != nil {
			b.Fatal(err)
		}
	}
}
