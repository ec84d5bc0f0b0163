package raster

import (
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// maxRelDiff compares two rasters: the largest difference relative to the
// expected value, and how many pixels differ at all; nodata must match.
func maxRelDiff(t *testing.T, want, got *Raster) (rel float64, n int) {
	t.Helper()
	require.Equal(t, [2]int{want.Width, want.Height}, [2]int{got.Width, got.Height})
	for i, w := range want.Pix[0] {
		g := got.Pix[0][i]
		require.Equal(t, want.IsNoData(w), got.IsNoData(g), "pixel %d,%d: gdal %v, ours %v", i%want.Width, i/want.Width, w, g)
		if w != g {
			rel, n = max(rel, math.Abs(w-g)/math.Max(math.Abs(w), 1)), n+1
		}
	}
	return rel, n
}

func TestResampleMatchesGdalTranslate(t *testing.T) {
	opsNeedGDAL(t)
	inputs := opsTerrainInputs(t)
	// gdal_translate would read the DEM's internal overviews: use a copy
	// without them.
	plain := filepath.Join(t.TempDir(), "plain.tif")
	opsGDAL(t, "gdal_translate", "-q", opsDEM, plain)
	inputs["float32"] = opsTerrainInput{plain, inputs["float32"].r}
	even := filepath.Join(t.TempDir(), "even.tif")
	opsGDAL(t, "gdal_translate", "-q", "-srcwin", "0", "0", "1006", "632", plain, even)
	inputs["even float32"] = opsTerrainInput{even, opsGDALRead(t, even)}

	cases := []struct {
		input string
		m     Resampling
		w, h  int
		// Relative tolerance. Nearest and average reproduce GDAL's
		// arithmetic step by step (its SSE2 order for exact halving
		// included): exact. Bilinear sums its weighted samples in a
		// different order than GDAL's SSE2 loops, which moves a result by
		// 1 float32 ulp now and then (1 pixel in 10^6): 2^-23.
		tol float64
	}{
		{"float32", Nearest, 503, 316, 0},
		{"float32", Nearest, 300, 200, 0},
		{"float32", Nearest, 1300, 800, 0},
		{"float32 holes", Nearest, 333, 211, 0},
		{"float32", Average, 503, 316, 0},
		{"float32", Average, 300, 200, 0},
		{"float32", Average, 1100, 700, 0},
		{"even float32", Average, 503, 316, 0},
		{"float32 holes", Average, 251, 158, 0},
		{"uint16 holes", Average, 300, 200, 0},
		{"square uint16", Average, 503, 316, 0},
		{"float32", Bilinear, 503, 316, 0x1p-23},
		{"float32", Bilinear, 300, 200, 0x1p-23},
		{"float32", Bilinear, 1300, 800, 0x1p-23},
		{"float32 holes", Bilinear, 251, 158, 0x1p-23},
		{"uint16 holes", Bilinear, 700, 400, 0},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s %v %dx%d", c.input, c.m, c.w, c.h), func(t *testing.T) {
			t.Parallel()
			in := inputs[c.input]
			out := filepath.Join(t.TempDir(), "out.tif")
			opsGDAL(t, "gdal_translate", "-q", "-r", c.m.String(), "-outsize", fmt.Sprint(c.w), fmt.Sprint(c.h), in.path, out)
			want := opsGDALRead(t, out)
			got, err := Resample(in.r, c.w, c.h, c.m)
			require.NoError(t, err)
			assert.Equal(t, want.Transform, got.Transform)
			rel, n := maxRelDiff(t, want, got)
			t.Logf("%s %v %dx%d: %d of %d pixels differ, max relative diff %g", c.input, c.m, c.w, c.h, n, c.w*c.h, rel)
			assert.LessOrEqual(t, rel, c.tol)
		})
	}
}

func TestOverviewsHalveFromFullResolution(t *testing.T) {
	src := opsSyntheticDEM(301, 200, Float32)
	ovs, err := Overviews(src, []int{2, 4, 8, 1000}, Average)
	require.NoError(t, err)
	sizes := []string{}
	for i, o := range ovs {
		sizes = append(sizes, fmt.Sprintf("%dx%d", o.Width, o.Height))
		f := float64(src.Width) / float64(o.Width)
		assert.InDelta(t, src.Transform[1]*f, o.Transform[1], 1e-9, "level %d", i)
		assert.Equal(t, src.Transform[0], o.Transform[0])
		direct, err := Resample(src, o.Width, o.Height, Average)
		require.NoError(t, err)
		assert.Equal(t, direct.Pix, o.Pix)
	}
	assert.Equal(t, "150x100 75x50 37x25 1x1", strings.Join(sizes, " "))
	_, err = Overviews(src, []int{0}, Average)
	assert.ErrorIs(t, err, ErrParam)
	m, err := ParseResampling("bilinear")
	require.NoError(t, err)
	assert.Equal(t, Bilinear, m)
	_, err = ParseResampling("cubic")
	assert.ErrorIs(t, err, ErrParam)
}

func TestAverageKeepsNodataOnlyWhereAllIsNodata(t *testing.T) {
	src, _ := New(4, 2, 1, Float32)
	src.NoData, src.HasNoData = -3.4028234663852886e38, true
	copy(src.Pix[0], []float64{src.NoData, src.NoData, 1, src.NoData, src.NoData, src.NoData, 2, 5})
	out, err := Resample(src, 2, 1, Average)
	require.NoError(t, err)
	assert.Equal(t, []float64{src.NoData, float64(float32(8.0 / 3))}, out.Pix[0])
	// Bilinear's tent, 2 pixels wide when halving, reaches column 2 from
	// the first output pixel: nodata only where the whole tent is.
	wide, _ := New(8, 2, 1, Float32)
	wide.NoData, wide.HasNoData = src.NoData, true
	for i := range wide.Pix[0] {
		if i%8 < 4 {
			wide.Pix[0][i] = wide.NoData
		} else {
			wide.Pix[0][i] = float64(i)
		}
	}
	out, err = Resample(wide, 4, 1, Bilinear)
	require.NoError(t, err)
	assert.Equal(t, src.NoData, out.Pix[0][0])
	assert.False(t, out.IsNoData(out.Pix[0][1]))
	// An average equal to the nodata value is moved off it, as GDAL does.
	b, _ := New(2, 1, 1, Uint8)
	b.NoData, b.HasNoData = 3, true
	copy(b.Pix[0], []float64{2, 4})
	out, err = Resample(b, 1, 1, Average)
	require.NoError(t, err)
	assert.Equal(t, []float64{4}, out.Pix[0])
}
