package raster

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// realDataDir holds the real rasters of ../shared/data (see its README.md).
const realDataDir = "../../../shared/data"

// needRealData skips a test when the shared data folder is absent.
func needRealData(t testing.TB) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(realDataDir, "README.md")); err != nil {
		t.Skipf("real rasters not found in %s (the shared data folder beside the repository): %v", realDataDir, err)
	}
}

// realRasters caches the real rasters decoded once for all tests, which
// only read them.
var realRasters sync.Map // name → func() (*Raster, error)

// realRaster decodes the real raster name once.
func realRaster(t testing.TB, name string) *Raster {
	t.Helper()
	once, _ := realRasters.LoadOrStore(name, sync.OnceValues(func() (*Raster, error) {
		return ReadFile(filepath.Join(realDataDir, name))
	}))
	r, err := once.(func() (*Raster, error))()
	require.NoError(t, err)
	return r
}

// needGDAL skips a test when GDAL's command-line tools are not installed
// (CI installs Debian's gdal-bin).
func needGDAL(t testing.TB) {
	t.Helper()
	for _, tool := range []string{"gdalinfo", "gdal_translate", "gdalbuildvrt"} {
		if _, err := exec.LookPath(tool); err != nil {
			skipWithoutTool(t, "%s not installed (apt-get install gdal-bin): %v", tool, err)
		}
	}
}

// runGDAL runs a GDAL tool without reading or writing .aux.xml side files,
// and returns its standard output.
func runGDAL(t testing.TB, tool string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(tool, args...)
	cmd.Env = append(os.Environ(), "GDAL_PAM_ENABLED=NO")
	out, err := cmd.Output()
	if ee, ok := err.(*exec.ExitError); ok {
		require.NoError(t, err, "%s %v: %s", tool, args, ee.Stderr)
	}
	require.NoError(t, err, "%s %v", tool, args)
	return out
}

// gdalInfo is the part of `gdalinfo -json` the tests compare.
type gdalInfo struct {
	Size             [2]int    `json:"size"`
	GeoTransform     []float64 `json:"geoTransform"`
	CoordinateSystem struct {
		WKT string `json:"wkt"`
	} `json:"coordinateSystem"`
	Metadata map[string]map[string]string `json:"metadata"`
	Bands    []struct {
		Block       [2]int                       `json:"block"`
		Type        string                       `json:"type"`
		NoDataValue json.RawMessage              `json:"noDataValue"`
		Minimum     float64                      `json:"minimum"`
		Maximum     float64                      `json:"maximum"`
		Mean        float64                      `json:"mean"`
		StdDev      float64                      `json:"stdDev"`
		Checksum    int                          `json:"checksum"`
		Metadata    map[string]map[string]string `json:"metadata"`
		Overviews   []struct {
			Size [2]int `json:"size"`
		} `json:"overviews"`
	} `json:"bands"`
}

// readGDALInfo runs gdalinfo -json with extra flags (-stats, -checksum).
func readGDALInfo(t testing.TB, path string, flags ...string) gdalInfo {
	t.Helper()
	var info gdalInfo
	out := runGDAL(t, "gdalinfo", append(append([]string{"-json"}, flags...), path)...)
	require.NoError(t, json.Unmarshal(out, &info), "gdalinfo -json %s", path)
	return info
}

var epsgID = regexp.MustCompile(`ID\["EPSG",(\d+)\]\]\s*$`)

// statistic is a band's STATISTICS_<name> metadata item, which gdalinfo
// -stats prints with 10 decimals (its "mean" etc. fields have only 3).
func (g gdalInfo) statistic(t testing.TB, b int, name string) float64 {
	t.Helper()
	s, ok := g.Bands[b].Metadata[""]["STATISTICS_"+name]
	require.True(t, ok, "band %d has no STATISTICS_%s", b+1, name)
	v, err := strconv.ParseFloat(s, 64)
	require.NoError(t, err)
	return v
}

// epsg is the EPSG code of the CRS as a whole, 0 without one.
func (g gdalInfo) epsg() int {
	m := epsgID.FindStringSubmatch(g.CoordinateSystem.WKT)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// noData returns band b's nodata value as GDAL reports it.
func (g gdalInfo) noData(b int) (float64, bool) {
	raw := strings.Trim(string(g.Bands[b].NoDataValue), `"`)
	if raw == "" || raw == "null" {
		return 0, false
	}
	v, err := strconv.ParseFloat(raw, 64)
	if err != nil {
		return 0, false
	}
	return v, true
}

// gdalPixels reads a raster the way GDAL sees it, independently of this
// package's decoder: gdal_translate to raw float64 (ENVI, band sequential,
// little-endian on this machine), then plain binary reads.
func gdalPixels(t testing.TB, path string, extra ...string) *Raster {
	t.Helper()
	info := readGDALInfo(t, path)
	raw := filepath.Join(t.TempDir(), "pixels.bin")
	// ENVI cannot hold a rotated transform: drop the georeferencing.
	args := append([]string{"-q", "-of", "ENVI", "-ot", "Float64", "-co", "INTERLEAVE=BSQ", "-a_ullr", "0", "1", "1", "0"}, extra...)
	runGDAL(t, "gdal_translate", append(args, path, raw)...)
	data, err := os.ReadFile(raw)
	require.NoError(t, err)
	w, h := info.Size[0], info.Size[1]
	if len(extra) > 0 { // an overview: take the size from the data
		hdr, err := os.ReadFile(strings.TrimSuffix(raw, ".bin") + ".hdr")
		require.NoError(t, err)
		w, h = enviDim(t, hdr, "samples"), enviDim(t, hdr, "lines")
	}
	bands := len(data) / (8 * w * h)
	require.Equal(t, len(data), 8*w*h*bands, "raw size")
	r := &Raster{Width: w, Height: h}
	for b := range bands {
		p := make([]float64, w*h)
		for i := range p {
			p[i] = math.Float64frombits(binary.LittleEndian.Uint64(data[8*(b*w*h+i):]))
		}
		r.Pix = append(r.Pix, p)
	}
	return r
}

// enviDim reads "key = n" from an ENVI header.
func enviDim(t testing.TB, hdr []byte, key string) int {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + key + `\s*=\s*(\d+)`).FindSubmatch(hdr)
	require.NotNil(t, m, "ENVI header has no %s", key)
	n, err := strconv.Atoi(string(m[1]))
	require.NoError(t, err)
	return n
}
