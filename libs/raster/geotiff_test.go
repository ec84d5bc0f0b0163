package raster

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestGeoKeysRoundTrip keeps keys this package does not interpret:
// doubles, citations and keys it never reads.
func TestGeoKeysRoundTrip(t *testing.T) {
	t.Parallel()
	keys := []GeoKey{
		{ID: keyProjectedType, Short: 32618},
		{ID: keyModelType, Short: modelProjected},
		{ID: keyCitation, Kind: tagGeoASCIIParams, ASCII: "WGS 84 / UTM zone 18N"},
		{ID: 2049, Kind: tagGeoASCIIParams, ASCII: "WGS 84"},
		{ID: 2057, Kind: tagGeoDoubleParams, Double: []float64{6378137}},
		{ID: 2059, Kind: tagGeoDoubleParams, Double: []float64{298.257223563}},
		{ID: keyRasterType, Short: rasterPixelArea},
	}
	r := randomRaster(1, 5, 4, 1, Uint8)
	r.EPSG, r.GeoKeys = 32618, keys
	got, err := decodeBytes(encodeBytes(t, r, EncodeOptions{}))
	require.NoError(t, err)
	assert.ElementsMatch(t, keys, got.GeoKeys)
	assert.Equal(t, 32618, got.EPSG)
	for i := 1; i < len(got.GeoKeys); i++ {
		assert.Less(t, got.GeoKeys[i-1].ID, got.GeoKeys[i].ID, "keys sorted by ID")
	}
}

// TestStaleGeoKeysGiveWayToEPSG rebuilds the keys when an operation changed
// the EPSG code of a raster read from a file.
func TestStaleGeoKeysGiveWayToEPSG(t *testing.T) {
	t.Parallel()
	r := randomRaster(1, 5, 4, 1, Uint8)
	r.GeoKeys = minimalGeoKeys(32618)
	r.EPSG = 4326
	got, err := decodeBytes(encodeBytes(t, r, EncodeOptions{}))
	require.NoError(t, err)
	assert.Equal(t, 4326, got.EPSG)
	model, _ := findKey(got.GeoKeys, keyModelType)
	assert.Equal(t, uint16(modelGeographic), model)
}

// TestPixelIsPointShiftsLikeGDAL reads a PixelIsPoint tie point half a
// pixel up and left, as GDAL reports it, and writes it back unchanged.
func TestPixelIsPointShiftsLikeGDAL(t *testing.T) {
	t.Parallel()
	keys := minimalGeoKeys(32616)
	keys[1].Short = rasterPixelPt
	b := &entryBuilder{bo: fileByteOrder(false)}
	require.NoError(t, geoTags(b, Georef{Transform: GeoTransform{1000, 30, 0, 2000, 0, -30}, EPSG: 32616, GeoKeys: keys}))
	var tie []float64
	for _, e := range b.entries {
		if e.tag == tagModelTiepoint {
			for i := 0; i < len(e.data); i += 8 {
				tie = append(tie, math.Float64frombits(b.bo.Uint64(e.data[i:])))
			}
		}
	}
	assert.Equal(t, []float64{0, 0, 0, 1015, 1985, 0}, tie, "the tie point is the centre of the first pixel")

	r := randomRaster(1, 5, 4, 1, Uint8)
	r.Transform, r.GeoKeys = GeoTransform{1000, 30, 0, 2000, 0, -30}, keys
	got, err := decodeBytes(encodeBytes(t, r, EncodeOptions{}))
	require.NoError(t, err)
	assert.Equal(t, r.Transform, got.Transform)
}

// TestNoDataText parses and formats GDAL_NODATA like GDAL.
func TestNoDataText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		text string
		typ  DataType
		want float64
	}{
		{"-9999", Int16, -9999},
		{" 0 \x00", Uint8, 0},
		{"nan", Float32, math.NaN()},
		{"-inf", Float64, math.Inf(-1)},
		{"-3.4028234663852886e+38", Float32, -math.MaxFloat32},
		{"-3.40282347e+38", Float32, -math.MaxFloat32}, // within 1e-10 of -FLT_MAX
		{"-3.40282306073709653e+38", Float32, -3.40282306073709653e+38},
		{"0.1", Float32, float64(float32(0.1))},
		{"0.1", Float64, 0.1},
		{"1e999", Float64, math.Inf(1)},
	}
	for _, tt := range tests {
		got, err := parseNoData(tt.text, tt.typ)
		require.NoError(t, err, tt.text)
		assert.True(t, sameSample(tt.want, got), "%q: want %v, got %v", tt.text, tt.want, got)
		again, err := parseNoData(formatNoData(got), tt.typ)
		require.NoError(t, err)
		assert.True(t, sameSample(got, again), "%q formats as %q", tt.text, formatNoData(got))
	}
}

// TestEncodeRejectsBadOptions lists every problem at once.
func TestEncodeRejectsBadOptions(t *testing.T) {
	t.Parallel()
	r := randomRaster(1, 5, 4, 1, Int16)
	tests := []EncodeOptions{
		{Predictor: PredictorFloat, Compression: CompressionLZW},
		{Predictor: PredictorHorizontal},
		{Compression: 7},
		{Predictor: 9, Compression: CompressionLZW},
		{Tiled: true, TileSize: 100},
		{Compression: CompressionDeflate, Level: 10},
		{Compression: CompressionZSTD, Level: 23},
		{Compression: CompressionLZW, Level: 3},
		{RowsPerStrip: -1},
		{Concurrency: -2},
	}
	for _, o := range tests {
		err := Encode(&bytes.Buffer{}, r, o)
		assert.ErrorIs(t, err, ErrCodecOption, "%+v", o)
	}
	err := Encode(&bytes.Buffer{}, r, EncodeOptions{Compression: 7, TileSize: 3})
	assert.ErrorContains(t, err, "compression 7")
	assert.ErrorContains(t, err, "tile size 3")
	assert.ErrorIs(t, Encode(&bytes.Buffer{}, &Raster{Width: 2, Height: 2, Type: Uint8, Pix: [][]float64{{1}}}, EncodeOptions{}), ErrSize)
	assert.ErrorIs(t, EncodeCOG(&bytes.Buffer{}, r, COGOptions{Resampling: "cubic"}), ErrCodecOption)
	_, err = decodeBytes(nil, ReadLimit(0))
	assert.ErrorIs(t, err, ErrCodecOption)
}

// TestWriteFileReplacesAtomically leaves the old file alone when encoding
// fails and no temporary file either way.
func TestWriteFileReplacesAtomically(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "out.tif")
	r := randomRaster(1, 5, 4, 1, Uint8)
	require.NoError(t, WriteFile(path, r, EncodeOptions{}))
	before, err := os.ReadFile(path)
	require.NoError(t, err)
	require.ErrorIs(t, WriteFile(path, r, EncodeOptions{Compression: 7}), ErrCodecOption)
	after, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, before, after)
	require.NoError(t, WriteCOGFile(path, r, COGOptions{}))
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1, "no temporary file left behind")
	st, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o644), st.Mode().Perm())
	got, err := ReadFile(path)
	require.NoError(t, err)
	requireSamePixels(t, r, got)
}
