package raster

import (
	"math"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// gdalCalc runs Debian's gdal_calc.py (with the system Python that has
// osgeo), or skips.
func gdalCalc(t *testing.T, args ...string) {
	t.Helper()
	script, err := exec.LookPath("gdal_calc.py")
	if err != nil {
		skipWithoutTool(t, "gdal_calc.py not installed")
	}
	if err := exec.Command("/usr/bin/python3", "-c", "import osgeo, numpy").Run(); err != nil {
		skipWithoutTool(t, "/usr/bin/python3 has no osgeo or numpy")
	}
	opsGDAL(t, "/usr/bin/python3", append([]string{script, "--quiet"}, args...)...)
}

func TestNDVIOfLandsatMatchesGdalCalc(t *testing.T) {
	opsNeedGDAL(t)
	red, nir := opsGDALRead(t, opsRed), opsGDALRead(t, opsNIR)
	require.Equal(t, Uint16, red.Type)
	ndvi, err := BandMath([]*Raster{red, nir}, "(b2-b1)/(b2+b1)", BandMathOptions{})
	require.NoError(t, err)
	assert.Equal(t, Float32, ndvi.Type)
	assert.Equal(t, -9999.0, ndvi.NoData)
	assert.Equal(t, red.Transform, ndvi.Transform)

	// An independent reference from the samples GDAL decoded.
	var maxDiff float64
	for i, r := range red.Pix[0] {
		n := nir.Pix[0][i]
		want := float64(float32((n - r) / (n + r)))
		maxDiff = max(maxDiff, math.Abs(want-ndvi.Pix[0][i]))
	}
	t.Logf("NDVI vs direct float64 formula: max abs diff %g", maxDiff)
	assert.LessOrEqual(t, maxDiff, 1e-6)

	// gdal_calc.py, in float64 (the uint16 arrays would wrap around).
	out := filepath.Join(t.TempDir(), "ndvi.tif")
	gdalCalc(t, "-A", opsRed, "-B", opsNIR, "--outfile", out, "--type", "Float32", "--NoDataValue", "-9999",
		"--calc", "(B.astype(float64)-A)/(B.astype(float64)+A)")
	want := opsGDALRead(t, out)
	maxDiff, n := opsDiffStats(t, want, ndvi)
	t.Logf("NDVI vs gdal_calc.py: %d of %d pixels differ, max abs diff %g", n, len(want.Pix[0]), maxDiff)
	assert.LessOrEqual(t, maxDiff, 1e-6)
}

// twoBands is a pair of 4x2 Int16 rasters with nodata -1 on the same grid.
func twoBands() (a, b *Raster) {
	a, _ = New(4, 2, 1, Int16)
	b, _ = New(4, 2, 1, Int16)
	for _, r := range []*Raster{a, b} {
		r.NoData, r.HasNoData = -1, true
		r.Transform = GeoTransform{100, 10, 0, 200, 0, -10}
		r.EPSG = 32616
	}
	copy(a.Pix[0], []float64{1, 2, -1, 4, 0, 6, 7, 0})
	copy(b.Pix[0], []float64{3, -1, 5, 4, 0, 2, 1, 9})
	return a, b
}

func TestBandMathNodataAndDivisionByZeroGiveNodata(t *testing.T) {
	a, b := twoBands()
	nd := -9999.0
	for _, c := range []struct {
		name string
		expr string
		opts BandMathOptions
		want []float64
	}{
		{"ndvi", "(b2-b1)/(b2+b1)", BandMathOptions{},
			[]float64{0.5, nd, nd, 0, nd, float64(float32(-0.5)), float64(float32(-0.75)), 1}},
		{"only used bands count", "b2 * 2", BandMathOptions{}, []float64{6, nd, 10, 8, 0, 4, 2, 18}},
		{"NaN nodata", "b1 / b2", BandMathOptions{NoData: new(math.NaN())},
			[]float64{float64(float32(1.0 / 3)), math.NaN(), math.NaN(), 1, math.NaN(), 3, 7, 0}},
		{"byte output saturates", "b1 * 100 - 50", BandMathOptions{Type: Uint8, NoData: new(0.0)},
			[]float64{50, 150, 0, 255, 0, 255, 255, 0}},
		{"overflow", "exp(b1 * 50)", BandMathOptions{}, []float64{float64(float32(math.Exp(50))), nd, nd, nd, 1, nd, nd, 1}},
		{"sqrt of negative", "sqrt(b1 - 3)", BandMathOptions{Type: Float64}, []float64{nd, nd, nd, 1, nd, math.Sqrt(3), 2, nd}},
		{"where guards the division", "where(b2 == 0, 0, b1 / b2)", BandMathOptions{Type: Float64},
			[]float64{1.0 / 3, nd, nd, 1, 0, 3, 7, 0}},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, err := BandMath([]*Raster{a, b}, c.expr, c.opts)
			require.NoError(t, err)
			require.True(t, out.HasNoData)
			assert.Equal(t, a.Transform, out.Transform)
			assert.Equal(t, 32616, out.EPSG)
			for i, w := range c.want {
				if math.IsNaN(w) {
					assert.True(t, math.IsNaN(out.Pix[0][i]), "pixel %d: %v", i, out.Pix[0][i])
				} else {
					assert.Equal(t, w, out.Pix[0][i], "pixel %d", i)
				}
			}
		})
	}
}

func TestBandMathRejectsBadInputs(t *testing.T) {
	a, b := twoBands()
	small, _ := New(3, 2, 1, Int16)
	shifted := b.Clone()
	shifted.Transform[0] += 5
	otherCRS := b.Clone()
	otherCRS.EPSG = 4326
	for _, c := range []struct {
		name string
		srcs []*Raster
		expr string
		opts BandMathOptions
		want error
	}{
		{"parse error", []*Raster{a}, "b1 +", BandMathOptions{}, ErrExpr},
		{"missing band", []*Raster{a, b}, "b3 - b1", BandMathOptions{}, ErrBand},
		{"no input", nil, "1", BandMathOptions{}, ErrBand},
		{"size", []*Raster{a, small}, "b1", BandMathOptions{}, ErrGrid},
		{"shifted", []*Raster{a, shifted}, "b1", BandMathOptions{}, ErrGrid},
		{"CRS", []*Raster{a, otherCRS}, "b1", BandMathOptions{}, ErrGrid},
		{"nodata not in type", []*Raster{a}, "b1", BandMathOptions{Type: Uint8}, ErrParam},
		{"NaN nodata for integers", []*Raster{a}, "b1", BandMathOptions{Type: Int16, NoData: new(math.NaN())}, ErrParam},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := BandMath(c.srcs, c.expr, c.opts)
			assert.ErrorIs(t, err, c.want)
		})
	}
}

func TestBandMathSpansInputsAndChunks(t *testing.T) {
	// Two inputs of two bands: b1..b4; larger than one evaluation chunk.
	x, _ := New(100, 30, 2, Float32)
	y, _ := New(100, 30, 2, Float32)
	for i := range x.Pix[0] {
		x.Pix[0][i], x.Pix[1][i], y.Pix[0][i], y.Pix[1][i] = float64(i), 1, 2, float64(i%7)
	}
	out, err := BandMath([]*Raster{x, y}, "b1 * b3 + b2 - b4", BandMathOptions{Type: Float64})
	require.NoError(t, err)
	for i, v := range out.Pix[0] {
		require.Equal(t, float64(i)*2+1-float64(i%7), v, "pixel %d", i)
	}
}
