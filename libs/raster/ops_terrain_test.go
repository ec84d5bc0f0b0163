package raster

import (
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// opsTerrainInput is a DEM for the gdaldem comparisons: a file GDAL reads and
// the same raster in memory.
type opsTerrainInput struct {
	path string
	r    *Raster
}

// opsTerrainInputs derives the test DEMs from the real one: as is (float32,
// pixels 1e-17 from square: GDAL's general formula), on square pixels
// (GDAL's faster one, and its SIMD path for integers), as Int16 (gdaldem's
// integer path) and with nodata holes, float and integer.
func opsTerrainInputs(t *testing.T) map[string]opsTerrainInput {
	t.Helper()
	dir := t.TempDir()
	dem := opsGDALRead(t, opsDEM)
	in := map[string]opsTerrainInput{"float32": {opsDEM, dem}}
	int16 := filepath.Join(dir, "int16.tif")
	opsGDAL(t, "gdal_translate", "-q", "-ot", "Int16", "-a_nodata", "none", opsDEM, int16)
	in["int16"] = opsTerrainInput{int16, opsGDALRead(t, int16)}
	variants := []struct {
		name   string
		t      DataType
		noData float64
		holes  bool
	}{
		{"square float32", Float32, -9999, false},
		{"square uint16", Uint16, 0, false},
		{"float32 holes", Float32, -9999, true},
		{"uint16 holes", Uint16, 0, true},
	}
	for _, v := range variants {
		r := &Raster{Width: dem.Width, Height: dem.Height, Type: v.t, Pix: [][]float64{make([]float64, len(dem.Pix[0]))},
			NoData: v.noData, HasNoData: true, Georef: Georef{Transform: GeoTransform{-100, 0.0001, 0, 40, 0, -0.0001}}}
		for i, h := range dem.Pix[0] {
			r.Pix[0][i] = v.t.Convert(h)
		}
		if v.holes {
			opsPunchHoles(r)
		}
		bil := filepath.Join(dir, strings.ReplaceAll(v.name, " ", "_")+".bil")
		opsWriteEHdr(t, bil, r)
		in[v.name] = opsTerrainInput{bil, r}
	}
	return in
}

// opsPunchHoles sets nodata in a block, along a row and a column, on the edges
// and at scattered pixels.
func opsPunchHoles(r *Raster) {
	for y := range r.Height {
		for x := range r.Width {
			i := y*r.Width + x
			block := x >= 100 && x < 140 && y >= 50 && y < 70
			lines := y == 300 && x < 500 || x == 700 && y > 200 || y == 0 && x%7 == 0 || x == r.Width-1 && y%5 == 0
			if block || lines || (x*31+y*17)%97 == 0 {
				r.Pix[0][i] = r.NoData
			}
		}
	}
}

// opsDiffStats compares two rasters of the same size: the largest absolute
// difference and how many pixels differ; nodata must match exactly.
func opsDiffStats(t *testing.T, want, got *Raster) (maxDiff float64, n int) {
	t.Helper()
	require.Equal(t, [2]int{want.Width, want.Height}, [2]int{got.Width, got.Height})
	for i, w := range want.Pix[0] {
		g := got.Pix[0][i]
		if want.IsNoData(w) != got.IsNoData(g) {
			t.Fatalf("pixel %d,%d: gdal %v, ours %v (nodata differs)", i%want.Width, i/want.Width, w, g)
		}
		if d := math.Abs(w - g); d > 0 {
			maxDiff, n = max(maxDiff, d), n+1
		}
	}
	return maxDiff, n
}

// opsGdaldemDefaults are the parameters gdaldem uses with -s 111120 (the DEM
// is in degrees, its heights in metres).
var opsGdaldemDefaults = HillshadeParams{ZFactor: 1, Scale: 111120, Azimuth: 315, Altitude: 45}

func TestHillshadeMatchesGdaldem(t *testing.T) {
	opsNeedGDAL(t, "gdaldem")
	inputs := opsTerrainInputs(t)
	edges := opsGdaldemDefaults
	edges.ComputeEdges = true
	lit := HillshadeParams{ZFactor: 3, Scale: 111120, Azimuth: 200, Altitude: 30}
	tall := HillshadeParams{ZFactor: 2, Scale: 111120, Azimuth: 90, Altitude: 60, ComputeEdges: true}
	cases := []struct {
		input, args string
		p           HillshadeParams
	}{
		{"float32", "-s 111120", opsGdaldemDefaults},
		{"float32", "-s 111120 -compute_edges", edges},
		{"float32", "-s 111120 -z 3 -az 200 -alt 30", lit},
		{"int16", "-s 111120 -compute_edges", edges},
		{"square float32", "-s 111120", opsGdaldemDefaults},
		{"square uint16", "-s 111120 -compute_edges", edges},
		{"float32 holes", "-s 111120", opsGdaldemDefaults},
		{"float32 holes", "-s 111120 -compute_edges", edges},
		{"uint16 holes", "-s 111120 -z 2 -az 90 -alt 60 -compute_edges", tall},
	}
	for _, c := range cases {
		t.Run(c.input+" "+c.args, func(t *testing.T) {
			in := inputs[c.input]
			out := filepath.Join(t.TempDir(), "hs.tif")
			opsGDAL(t, "gdaldem", append(append([]string{"hillshade", "-q"}, strings.Fields(c.args)...), in.path, out)...)
			want := opsGDALRead(t, out)
			got, err := Hillshade(in.r, 0, c.p)
			require.NoError(t, err)
			assert.Equal(t, Uint8, got.Type)
			assert.Equal(t, want.Transform, got.Transform)
			maxDiff, n := opsDiffStats(t, want, got)
			t.Logf("hillshade %s %s: %d of %d pixels differ, by at most %v", c.input, c.args, n, len(want.Pix[0]), maxDiff)
			assert.LessOrEqual(t, maxDiff, 1.0, "GEOSPATIAL.md: within 1 on every pixel")
			if opsIntelCPU() { // see ops_rsqrt.go
				assert.Zero(t, n, "pixels differing from gdaldem")
			}
			if c.input == "float32" && c.p.ComputeEdges {
				for _, size := range []int{64, 100, 256} {
					tiled := opsTiled(t, in.r, size, func(s *Raster, w Window) (*Raster, error) { return HillshadeWindow(s, 0, c.p, w) })
					assert.Equal(t, got.Pix, tiled.Pix, "tiles of %d", size)
				}
			}
		})
	}
}

// opsIntelCPU reports whether this is an x86-64 Intel CPU, whose reciprocal
// square root estimate ops_rsqrt.go reproduces.
func opsIntelCPU() bool {
	info, err := os.ReadFile("/proc/cpuinfo")
	return err == nil && runtime.GOARCH == "amd64" && strings.Contains(string(info), "GenuineIntel")
}

func TestRsqrtTableMatchesCPU(t *testing.T) {
	if !opsIntelCPU() {
		t.Skip("not an Intel x86-64 CPU")
	}
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("gcc not installed")
	}
	bin := filepath.Join(t.TempDir(), "rsqrt_table")
	out, err := exec.Command("gcc", "-O1", "-o", bin, "testdata/ops/rsqrt_table.c").CombinedOutput()
	require.NoError(t, err, "%s", out)
	out, err = exec.Command(bin).Output()
	require.NoError(t, err)
	first, drops, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	assert.Equal(t, strconv.Itoa(rsqrtFirst), first)
	assert.Equal(t, drops, rsqrtDrops)
}

func TestRsqrtEstimateScalesAndHandlesSpecials(t *testing.T) {
	for _, x := range []float32{1, 1.5, 2, 3.99, 1e-30, 7e20, 123.456} {
		e := rsqrtEstimate(x)
		assert.InEpsilon(t, 1/math.Sqrt(float64(x)), float64(e), 1.5/4096, "x=%v", x)
		assert.Equal(t, e/2, rsqrtEstimate(4*x), "x=%v", x)
	}
	assert.True(t, math.IsInf(float64(rsqrtEstimate(0)), 1))
	assert.Zero(t, rsqrtEstimate(float32(math.Inf(1))))
	assert.True(t, math.IsNaN(float64(rsqrtEstimate(-1))))
	assert.InEpsilon(t, 3/math.Sqrt(10), approxDivSqrt(3, 10), 1e-6)
}

func TestSlopeAndAspectMatchGdaldem(t *testing.T) {
	opsNeedGDAL(t, "gdaldem")
	inputs := opsTerrainInputs(t)
	slope := func(p SlopeParams) func(r *Raster) (*Raster, error) {
		return func(r *Raster) (*Raster, error) { return Slope(r, 0, p) }
	}
	aspect := func(p AspectParams) func(r *Raster) (*Raster, error) {
		return func(r *Raster) (*Raster, error) { return Aspect(r, 0, p) }
	}
	degrees := SlopeParams{Scale: 111120, ZFactor: 1}
	cases := []struct {
		input, args string
		op          func(*Raster) (*Raster, error)
		tolerance   float64 // GEOSPATIAL.md: 0.01 degree
	}{
		{"float32", "slope -s 111120", slope(degrees), 0.01},
		{"float32", "slope -s 111120 -p -compute_edges", slope(SlopeParams{Scale: 111120, ZFactor: 1, Percent: true, ComputeEdges: true}), 0.01},
		{"int16", "slope -s 111120", slope(degrees), 0.01},
		{"float32 holes", "slope -s 111120 -compute_edges", slope(SlopeParams{Scale: 111120, ZFactor: 1, ComputeEdges: true}), 0.01},
		{"uint16 holes", "slope -s 111120", slope(degrees), 0.01},
		{"float32", "aspect", aspect(AspectParams{}), 0.01},
		{"float32", "aspect -trigonometric -compute_edges", aspect(AspectParams{Trigonometric: true, ComputeEdges: true}), 0.01},
		{"square uint16", "aspect", aspect(AspectParams{}), 0.01},
		{"uint16 holes", "aspect -zero_for_flat -compute_edges", aspect(AspectParams{ZeroForFlat: true, ComputeEdges: true}), 0.01},
	}
	for _, c := range cases {
		t.Run(c.input+" "+c.args, func(t *testing.T) {
			in := inputs[c.input]
			out := filepath.Join(t.TempDir(), "out.tif")
			opsGDAL(t, "gdaldem", append(strings.Fields(c.args), "-q", in.path, out)...)
			want := opsGDALRead(t, out)
			got, err := c.op(in.r)
			require.NoError(t, err)
			assert.Equal(t, Float32, got.Type)
			assert.Equal(t, want.HasNoData, got.HasNoData)
			if want.HasNoData {
				assert.Equal(t, want.NoData, got.NoData)
			}
			maxDiff, n := opsDiffStats(t, want, got)
			t.Logf("%s %s: %d of %d pixels differ, by at most %g", c.input, c.args, n, len(want.Pix[0]), maxDiff)
			assert.LessOrEqual(t, maxDiff, c.tolerance)
		})
	}
}
