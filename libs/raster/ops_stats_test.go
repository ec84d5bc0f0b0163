package raster

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// gdalStats runs gdalinfo -json -stats (exact) on a private GeoTIFF copy
// of path, so that no statistics cached beside the original are reused.
func gdalStats(t *testing.T, path string) Statistics {
	t.Helper()
	cp := filepath.Join(t.TempDir(), "copy.tif")
	if filepath.Ext(path) == ".tif" {
		data, err := os.ReadFile(path)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(cp, data, 0o644))
	} else {
		opsGDAL(t, "gdal_translate", "-q", path, cp)
	}
	data, err := exec.Command("gdalinfo", "-json", "-stats", cp).Output()
	require.NoError(t, err)
	var info struct { // the metadata has more digits than "mean" and the like
		Bands []struct {
			Metadata map[string]map[string]string `json:"metadata"`
		} `json:"bands"`
	}
	require.NoError(t, json.Unmarshal(data, &info))
	md := info.Bands[0].Metadata[""]
	num := func(k string) float64 {
		v, err := strconv.ParseFloat(md["STATISTICS_"+k], 64)
		require.NoError(t, err, "STATISTICS_%s", k)
		return v
	}
	return Statistics{Min: num("MINIMUM"), Max: num("MAXIMUM"), Mean: num("MEAN"), StdDev: num("STDDEV")}
}

// gdalHistogram is GDAL's exact GetHistogram through the Python bindings.
func gdalHistogram(t *testing.T, path string, bins int, lo, hi float64, outOfRange bool) []uint64 {
	t.Helper()
	if err := exec.Command("/usr/bin/python3", "-c", "import osgeo").Run(); err != nil {
		skipWithoutTool(t, "/usr/bin/python3 has no osgeo")
	}
	script := fmt.Sprintf(`from osgeo import gdal; import json
ds = gdal.Open(%q)
b = ds.GetRasterBand(1)
print(json.dumps(b.GetHistogram(min=%v, max=%v, buckets=%d, include_out_of_range=%d, approx_ok=0)))`,
		path, opsG17(lo), opsG17(hi), bins, map[bool]int{false: 0, true: 1}[outOfRange])
	out, err := exec.Command("/usr/bin/python3", "-c", script).Output()
	require.NoError(t, err)
	var counts []uint64
	require.NoError(t, json.Unmarshal(out, &counts))
	return counts
}

func TestStatsAndHistogramMatchGDAL(t *testing.T) {
	opsNeedGDAL(t)
	inputs := opsTerrainInputs(t)
	red := opsTerrainInput{opsRed, opsGDALRead(t, opsRed)}
	for _, name := range []string{"float32", "float32 holes", "uint16 holes", "red"} {
		in, ok := inputs[name]
		if name == "red" {
			in, ok = red, true
		}
		require.True(t, ok)
		t.Run(name, func(t *testing.T) {
			got, err := Stats(in.r, 0)
			require.NoError(t, err)
			want := gdalStats(t, in.path)
			t.Logf("%s: ours %+v, gdal %+v", name, got, want)
			assert.InEpsilon(t, want.Min, got.Min, 1e-12) // GDAL prints 14 digits
			assert.InEpsilon(t, want.Max, got.Max, 1e-12)
			assert.InEpsilon(t, want.Mean, got.Mean, 1e-6)
			assert.InEpsilon(t, want.StdDev, got.StdDev, 1e-6)

			lo, hi, counts, err := DefaultHistogram(in.r, 0)
			require.NoError(t, err)
			assert.Equal(t, gdalHistogram(t, in.path, 256, lo, hi, true), counts, "default histogram")
			for _, c := range []struct {
				bins   int
				lo, hi float64
			}{{10, got.Min, got.Max}, {100, 3000, 3500}, {7, got.Mean - got.StdDev, got.Mean + got.StdDev}} {
				counts, err := Histogram(in.r, 0, c.bins, c.lo, c.hi)
				require.NoError(t, err)
				assert.Equal(t, gdalHistogram(t, in.path, c.bins, c.lo, c.hi, false), counts, "%d buckets over [%v, %v)", c.bins, c.lo, c.hi)
			}
		})
	}
}

func TestStatsLeaveOutNodataAndMergeAcrossTiles(t *testing.T) {
	src := opsSyntheticDEM(300, 211, Float32)
	src.Pix[0][5] = math.NaN()
	whole, err := Stats(src, 0)
	require.NoError(t, err)
	valid := 0
	for _, v := range src.Pix[0] {
		if v != src.NoData && !math.IsNaN(v) {
			valid++
		}
	}
	assert.Equal(t, valid, whole.Count)
	assert.Greater(t, whole.Min, 0.0, "nodata -9999 left out")

	tiles, err := Tiles(src.Width, src.Height, 64, 0)
	require.NoError(t, err)
	var merged Statistics
	for _, tl := range tiles {
		sub, err := Crop(src, tl.Core)
		require.NoError(t, err)
		s, err := Stats(sub, 0)
		require.NoError(t, err)
		merged = merged.Merge(s)
	}
	assert.Equal(t, whole.Count, merged.Count)
	assert.Equal(t, whole.Min, merged.Min)
	assert.Equal(t, whole.Max, merged.Max)
	assert.InEpsilon(t, whole.Mean, merged.Mean, 1e-12)
	assert.InEpsilon(t, whole.StdDev, merged.StdDev, 1e-9)

	empty := &Raster{Width: 1, Height: 1, Type: Float32, Pix: [][]float64{{-9999}}, NoData: -9999, HasNoData: true}
	s, err := Stats(empty, 0)
	require.NoError(t, err)
	assert.Zero(t, s.Count)
	assert.True(t, math.IsNaN(s.Mean))
	_, err = Stats(empty, 1)
	assert.ErrorIs(t, err, ErrBand)
	_, err = Histogram(empty, 0, 0, 0, 1)
	assert.ErrorIs(t, err, ErrParam)
	_, err = Histogram(empty, 0, 10, 1, 1)
	assert.ErrorIs(t, err, ErrParam)
}
