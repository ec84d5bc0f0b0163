package raster

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tagSet builds the entries of a crafted IFD; a nil function drops a tag.
type tagSet map[uint16]func(b *entryBuilder)

// validTags describe a 4x3 uint8 image in one uncompressed strip at 8.
func validTags() tagSet {
	return tagSet{
		tagImageWidth:      func(b *entryBuilder) { b.longs(tagImageWidth, 4) },
		tagImageLength:     func(b *entryBuilder) { b.longs(tagImageLength, 3) },
		tagBitsPerSample:   func(b *entryBuilder) { b.shorts(tagBitsPerSample, 8) },
		tagCompression:     func(b *entryBuilder) { b.shorts(tagCompression, 1) },
		tagPhotometric:     func(b *entryBuilder) { b.shorts(tagPhotometric, 1) },
		tagStripOffsets:    func(b *entryBuilder) { b.longs(tagStripOffsets, 8) },
		tagSamplesPerPixel: func(b *entryBuilder) { b.shorts(tagSamplesPerPixel, 1) },
		tagRowsPerStrip:    func(b *entryBuilder) { b.longs(tagRowsPerStrip, 3) },
		tagStripByteCounts: func(b *entryBuilder) { b.longs(tagStripByteCounts, 12) },
	}
}

// craftTIFF writes a little-endian classic TIFF: header, data at 8, then the
// IFD of tags with edits applied.
func craftTIFF(edits tagSet, data []byte) []byte {
	tags := validTags()
	for tag, add := range edits {
		tags[tag] = add
	}
	b := &entryBuilder{bo: binary.LittleEndian}
	for _, add := range tags {
		if add != nil {
			add(b)
		}
	}
	at := 8 + len(data) + len(data)%2
	file := make([]byte, int64(at)+b.size())
	copy(file, "II*\x00")
	binary.LittleEndian.PutUint32(file[4:], uint32(at))
	copy(file[8:], data)
	b.write(file[at:], int64(at), 0)
	return file
}

// shortTag and longTag return edits that write tag with the given values.
func shortTag(tag uint16, v ...uint16) func(*entryBuilder) {
	return func(b *entryBuilder) { b.shorts(tag, v...) }
}

func longTag(tag uint16, v ...uint32) func(*entryBuilder) {
	return func(b *entryBuilder) { b.longs(tag, v...) }
}

// rawEntry writes an entry with any type and count over data.
func rawEntry(tag, typ uint16, count int, data []byte) func(*entryBuilder) {
	return func(b *entryBuilder) { b.add(tag, typ, count, data) }
}

// TestCorruptFilesGiveFormatErrors feeds broken files to Decode and
// DecodeInfo: each fails with an error wrapping ErrFormat (or ErrSize for
// an image over the limit), and none panics.
func TestCorruptFilesGiveFormatErrors(t *testing.T) {
	t.Parallel()
	pixels := []byte("abcdefghijkl")
	zstdLong := zstdFrame(t, make([]byte, 100))
	tests := []struct {
		name string
		file []byte
		want error
	}{
		{"empty", nil, ErrFormat},
		{"short header", []byte("II*\x00"), ErrFormat},
		{"not a TIFF", []byte("GIF89a\x00\x00\x00\x00"), ErrFormat},
		{"version 41", []byte("II)\x00\x08\x00\x00\x00"), ErrFormat},
		{"BigTIFF with 4-byte offsets", []byte("II+\x00\x04\x00\x00\x00\x10\x00\x00\x00\x00\x00\x00\x00"), ErrFormat},
		{"IFD past the end", []byte("II*\x00\x00\x10\x00\x00"), ErrFormat},
		{"IFD inside the header", []byte("II*\x00\x04\x00\x00\x00"), ErrFormat},
		{"IFD without entries", []byte("II*\x00\x08\x00\x00\x00\x00\x00\x00\x00\x00\x00"), ErrFormat},
		{"IFD of 60000 entries", []byte("II*\x00\x08\x00\x00\x00\x60\xea"), ErrFormat},
		{"truncated IFD", craftTIFF(nil, pixels)[:40], ErrFormat},
		{"no width", craftTIFF(tagSet{tagImageWidth: nil}, pixels), ErrFormat},
		{"zero height", craftTIFF(tagSet{tagImageLength: longTag(tagImageLength, 0)}, pixels), ErrFormat},
		{"over the size limit", craftTIFF(tagSet{tagImageWidth: longTag(tagImageWidth, 1<<20), tagImageLength: longTag(tagImageLength, 1<<20)}, pixels), ErrSize},
		{"12-bit samples", craftTIFF(tagSet{tagBitsPerSample: shortTag(tagBitsPerSample, 12)}, pixels), ErrFormat},
		{"signed bytes", craftTIFF(tagSet{tagSampleFormat: shortTag(tagSampleFormat, 2)}, pixels), ErrFormat},
		{"mixed sample sizes", craftTIFF(tagSet{tagSamplesPerPixel: shortTag(tagSamplesPerPixel, 2), tagBitsPerSample: shortTag(tagBitsPerSample, 8, 16)}, pixels), ErrFormat},
		{"JPEG", craftTIFF(tagSet{tagCompression: shortTag(tagCompression, 7)}, pixels), ErrFormat},
		{"float predictor on bytes", craftTIFF(tagSet{tagPredictor: shortTag(tagPredictor, 3)}, pixels), ErrFormat},
		{"unknown predictor", craftTIFF(tagSet{tagPredictor: shortTag(tagPredictor, 9)}, pixels), ErrFormat},
		{"subsampled YCbCr", craftTIFF(tagSet{tagPhotometric: shortTag(tagPhotometric, photometricYCbCr)}, pixels), ErrFormat},
		{"planar configuration 3", craftTIFF(tagSet{tagPlanarConfig: shortTag(tagPlanarConfig, 3)}, pixels), ErrFormat},
		{"no strip offsets", craftTIFF(tagSet{tagStripOffsets: nil}, pixels), ErrFormat},
		{"fewer offsets than strips", craftTIFF(tagSet{tagRowsPerStrip: longTag(tagRowsPerStrip, 1)}, pixels), ErrFormat},
		{"strip past the end", craftTIFF(tagSet{tagStripOffsets: longTag(tagStripOffsets, 1000)}, pixels), ErrFormat},
		{"strip too short", craftTIFF(tagSet{tagStripByteCounts: longTag(tagStripByteCounts, 5)}, pixels), ErrFormat},
		{"values past the end", craftTIFF(tagSet{tagStripOffsets: rawEntry(tagStripOffsets, typeLong, 3, []byte{0, 0, 1, 0})}, pixels), ErrFormat},
		{"unknown field type", craftTIFF(tagSet{tagImageWidth: rawEntry(tagImageWidth, 99, 1, []byte{4, 0, 0, 0})}, pixels), ErrFormat},
		{"absurd value count", craftTIFF(tagSet{tagBitsPerSample: rawEntry(tagBitsPerSample, typeShort, 1<<31, []byte{8, 0, 0, 0})}, pixels), ErrFormat},
		{"width as text", craftTIFF(tagSet{tagImageWidth: rawEntry(tagImageWidth, typeASCII, 2, []byte("4\x00"))}, pixels), ErrFormat},
		{"LZW garbage", craftTIFF(tagSet{tagCompression: shortTag(tagCompression, 5)}, pixels), ErrFormat},
		{"Deflate garbage", craftTIFF(tagSet{tagCompression: shortTag(tagCompression, 8)}, pixels), ErrFormat},
		{"ZSTD garbage", craftTIFF(tagSet{tagCompression: shortTag(tagCompression, 50000)}, pixels), ErrFormat},
		{"ZSTD stream longer than the strip", craftTIFF(tagSet{tagCompression: shortTag(tagCompression, 50000),
			tagStripByteCounts: longTag(tagStripByteCounts, uint32(len(zstdLong)))}, zstdLong), ErrFormat},
		{"ZSTD stream shorter than the strip", craftTIFF(tagSet{tagCompression: shortTag(tagCompression, 50000),
			tagStripByteCounts: longTag(tagStripByteCounts, uint32(len(zstdFrame(t, pixels[:5]))))}, zstdFrame(t, pixels[:5])), ErrFormat},
		{"zero tile width", craftTIFF(tagSet{tagTileWidth: longTag(tagTileWidth, 0), tagTileLength: longTag(tagTileLength, 16)}, pixels), ErrFormat},
		{"huge tiles", craftTIFF(tagSet{tagTileWidth: longTag(tagTileWidth, 1<<20), tagTileLength: longTag(tagTileLength, 16)}, pixels), ErrFormat},
		{"tiles without offsets", craftTIFF(tagSet{tagTileWidth: longTag(tagTileWidth, 16), tagTileLength: longTag(tagTileLength, 16)}, pixels), ErrFormat},
		{"short GeoKeyDirectory", craftTIFF(tagSet{tagGeoKeyDirectory: shortTag(tagGeoKeyDirectory, 1, 1, 0, 5)}, pixels), ErrFormat},
		{"GeoKey double out of range", craftTIFF(tagSet{tagGeoKeyDirectory: shortTag(tagGeoKeyDirectory, 1, 1, 0, 1, 2057, tagGeoDoubleParams, 1, 7)}, pixels), ErrFormat},
		{"infinite transform", craftTIFF(tagSet{tagModelPixelScale: func(b *entryBuilder) { b.doubles(tagModelPixelScale, posInf, 1, 0) },
			tagModelTiepoint: func(b *entryBuilder) { b.doubles(tagModelTiepoint, 0, 0, 0, 0, 0, 0) }}, pixels), ErrFormat},
		{"nodata not a number", craftTIFF(tagSet{tagGDALNoData: func(b *entryBuilder) { b.ascii(tagGDALNoData, "none") }}, pixels), ErrFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errInfo := DecodeInfo(bytes.NewReader(tt.file), int64(len(tt.file)))
			_, err := decodeBytes(tt.file)
			require.Error(t, err)
			assert.ErrorIs(t, err, tt.want)
			if errInfo != nil {
				assert.ErrorIs(t, errInfo, tt.want)
			}
		})
	}
}

// TestCraftedFileIsValid makes sure the corrupt cases start from a file
// the decoder accepts.
func TestCraftedFileIsValid(t *testing.T) {
	t.Parallel()
	r, err := decodeBytes(craftTIFF(nil, []byte("abcdefghijkl")))
	require.NoError(t, err)
	assert.Equal(t, []float64{'a', 'b', 'c', 'd'}, r.Pix[0][:4])
}

// TestTruncatedFilesGiveFormatErrors cuts valid files at every length.
func TestTruncatedFilesGiveFormatErrors(t *testing.T) {
	t.Parallel()
	for _, o := range []EncodeOptions{
		{Tiled: true, TileSize: 16, Compression: CompressionLZW, Predictor: PredictorHorizontal, BigTIFF: true},
		{Compression: CompressionDeflate, Planar: true, BigEndian: true, RowsPerStrip: 4},
		{Compression: CompressionZSTD},
	} {
		file := encodeBytes(t, randomRaster(5, 21, 13, 2, Int16), o)
		for n := range len(file) {
			_, err := decodeBytes(file[:n], ReadConcurrency(1))
			require.ErrorIs(t, err, ErrFormat, "cut at %d of %d", n, len(file))
		}
	}
}

// TestOverviewLoopsAndAbsentOverviews covers the IFD chain.
func TestOverviewLoopsAndAbsentOverviews(t *testing.T) {
	t.Parallel()
	var cog bytes.Buffer
	require.NoError(t, EncodeCOG(&cog, randomRaster(3, 40, 20, 1, Uint8), COGOptions{EncodeOptions: EncodeOptions{TileSize: 16}}))
	loop := ifdLoop(t, cog.Bytes())
	_, err := DecodeInfo(bytes.NewReader(loop), int64(len(loop)))
	assert.ErrorIs(t, err, ErrFormat)
	_, err = decodeBytes(loop, ReadOverview(2))
	assert.ErrorIs(t, err, ErrFormat)
	_, err = decodeBytes(cog.Bytes(), ReadOverview(3))
	assert.ErrorIs(t, err, ErrCodecOption)
	_, err = decodeBytes(cog.Bytes(), ReadOverview(-1))
	assert.ErrorIs(t, err, ErrCodecOption)
}

// zstdFrame compresses b into one ZSTD frame.
func zstdFrame(t testing.TB, b []byte) []byte {
	enc, err := zstd.NewWriter(nil)
	require.NoError(t, err)
	defer enc.Close()
	return enc.EncodeAll(b, nil)
}
