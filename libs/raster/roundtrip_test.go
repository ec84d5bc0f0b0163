package raster

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// roundTripCase is one layout of the round-trip matrix.
type roundTripCase struct {
	typ   DataType
	bands int
	opts  EncodeOptions
}

func (c roundTripCase) String() string {
	o := c.opts
	layout := fmt.Sprintf("strips%d", o.RowsPerStrip)
	if o.Tiled {
		layout = fmt.Sprintf("tiles%d", o.TileSize)
	}
	order, flavour, planar := "LE", "classic", "chunky"
	if o.BigEndian {
		order = "BE"
	}
	if o.BigTIFF {
		flavour = "bigtiff"
	}
	if o.Planar {
		planar = "planar"
	}
	return fmt.Sprintf("%v/%db/%s/%v/%v/%s/%s/%s", c.typ, c.bands, layout, o.Compression, o.Predictor, planar, order, flavour)
}

// roundTripMatrix is every type x {strips, tiles} x {none, LZW, Deflate,
// ZSTD} x {no predictor, the type's predictor} x {chunky, planar} x {1, 3, 5
// bands} x {little, big endian} x {classic, BigTIFF}.
func roundTripMatrix() []roundTripCase {
	var cases []roundTripCase
	for _, typ := range codecTypes {
		valid := PredictorHorizontal
		if isFloat(typ) {
			valid = PredictorFloat
		}
		for _, tiled := range []bool{false, true} {
			for _, comp := range []Compression{CompressionNone, CompressionLZW, CompressionDeflate, CompressionZSTD} {
				for _, pred := range []Predictor{PredictorNone, valid} {
					if comp == CompressionNone && pred != PredictorNone {
						continue
					}
					for _, planar := range []bool{false, true} {
						for _, bands := range []int{1, 3, 5} {
							for _, bigEndian := range []bool{false, true} {
								for _, bigTIFF := range []bool{false, true} {
									o := EncodeOptions{
										Tiled: tiled, TileSize: 16, RowsPerStrip: 7,
										Compression: comp, Predictor: pred, Planar: planar,
										BigEndian: bigEndian, BigTIFF: bigTIFF, Concurrency: 1,
									}
									cases = append(cases, roundTripCase{typ, bands, o})
								}
							}
						}
					}
				}
			}
		}
	}
	return cases
}

// TestRoundTripEveryLayout writes a 29x19 raster (not a multiple of the 16
// px tiles or 7-row strips) in every layout and reads back the same samples,
// nodata, georeference and layout.
func TestRoundTripEveryLayout(t *testing.T) {
	t.Parallel()
	for i, c := range roundTripMatrix() {
		t.Run(c.String(), func(t *testing.T) {
			t.Parallel()
			want := randomRaster(uint64(i), 29, 19, c.bands, c.typ)
			file := encodeBytes(t, want, c.opts)
			got, err := decodeBytes(file, ReadConcurrency(1))
			require.NoError(t, err)
			requireSamePixels(t, want, got)
			assert.Equal(t, c.typ, got.Type)
			assert.True(t, got.HasNoData)
			assert.True(t, sameSample(want.NoData, got.NoData), "nodata %v, got %v", want.NoData, got.NoData)
			assert.Equal(t, want.Transform, got.Transform)
			assert.Equal(t, 32616, got.EPSG)

			info, err := DecodeInfo(bytesReader(file), int64(len(file)))
			require.NoError(t, err)
			assert.Equal(t, c.opts.Tiled, info.Tiled)
			assert.Equal(t, c.opts.Planar && c.bands > 1, info.Planar)
			assert.Equal(t, c.opts.Compression, info.Compression)
			assert.Equal(t, c.opts.Predictor, info.Predictor)
			assert.Equal(t, c.opts.BigEndian, info.BigEndian)
			assert.Equal(t, c.opts.BigTIFF, info.BigTIFF)
		})
	}
}

// TestRoundTripHorizontalPredictorOnFloats covers the combination GDAL and
// libtiff allow although the float predictor suits floats better.
func TestRoundTripHorizontalPredictorOnFloats(t *testing.T) {
	t.Parallel()
	for _, typ := range []DataType{Float32, Float64} {
		want := randomRaster(7, 67, 45, 2, typ)
		got, err := decodeBytes(encodeBytes(t, want, EncodeOptions{Compression: CompressionLZW, Predictor: PredictorHorizontal}))
		require.NoError(t, err)
		requireSamePixels(t, want, got)
	}
}

// TestEncodeConvertsSamplesToTheType rounds and clamps float64 samples into
// integer types as GDAL does.
func TestEncodeConvertsSamplesToTheType(t *testing.T) {
	t.Parallel()
	tests := []struct {
		typ       DataType
		in, wants []float64
	}{
		{Uint8, []float64{-3, 0.49, 0.5, 254.5, 300}, []float64{0, 0, 1, 255, 255}},
		{Uint16, []float64{-1, 1.5, 70000, 65534.6, 2.4}, []float64{0, 2, 65535, 65535, 2}},
		{Int16, []float64{-40000, -1.5, 40000, 12.2, -0.4}, []float64{-32768, -2, 32767, 12, 0}},
		{Int32, []float64{-3e9, 3e9, -2.5, 7.7, 0}, []float64{-2147483648, 2147483647, -3, 8, 0}},
		{Float32, []float64{0.1, 1e39, -1e39, 3.5, -2}, []float64{float64(float32(0.1)), posInf, negInf, 3.5, -2}},
	}
	for _, tt := range tests {
		t.Run(tt.typ.String(), func(t *testing.T) {
			r := &Raster{Width: 5, Height: 1, Type: tt.typ, Pix: [][]float64{tt.in}}
			got, err := decodeBytes(encodeBytes(t, r, EncodeOptions{}))
			require.NoError(t, err)
			assert.Equal(t, tt.wants, got.Pix[0])
		})
	}
}

// TestReadsPreStandardDeflateCode decodes Compression 32946, the Deflate
// code some older writers still use.
func TestReadsPreStandardDeflateCode(t *testing.T) {
	t.Parallel()
	want := randomRaster(3, 40, 30, 2, Uint16)
	file := encodeBytes(t, want, EncodeOptions{Compression: CompressionDeflate, Predictor: PredictorHorizontal})
	f, err := openTIFF(bytesReader(file), int64(len(file)), DefaultDecodeLimit)
	require.NoError(t, err)
	d, err := f.readIFD(f.first)
	require.NoError(t, err)
	before := 0 // entries are sorted by tag
	for tag := range d.entries {
		if tag < tagCompression {
			before++
		}
	}
	at := f.first + 2 + 12*uint64(before)
	require.Equal(t, uint16(tagCompression), f.bo.Uint16(file[at:]))
	f.bo.PutUint16(file[at+8:], uint16(compressionDeflateOld))

	got, err := decodeBytes(file)
	require.NoError(t, err)
	requireSamePixels(t, want, got)
	info, err := DecodeInfo(bytesReader(file), int64(len(file)))
	require.NoError(t, err)
	assert.Equal(t, "DEFLATE", info.Compression.String())
}
