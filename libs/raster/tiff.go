package raster

import (
	"errors"
	"math"
)

// The GeoTIFF codec (tiff.go, ifd.go, layout.go, decode*.go, dataset.go,
// encode*.go, cog.go, …) reads and writes classic TIFF and BigTIFF in both
// byte orders, striped or tiled, chunky or planar-separate, uncompressed,
// LZW, Deflate or ZSTD, with the horizontal and floating-point predictors,
// and keeps GDAL's conventions for georeferencing (GeoTIFF tags) and nodata
// (GDAL_NODATA). Decode reads a whole image; a Dataset (Open) reads windows
// of it, decoding only the chunks a window touches.

// ErrCodecOption marks an invalid encode or decode option, or an option
// combination GDAL would refuse (a float predictor on integer samples, …).
var ErrCodecOption = errors.New("raster: invalid codec option")

// TIFF tags the codec reads or writes.
const (
	tagNewSubfileType      = 254
	tagImageWidth          = 256
	tagImageLength         = 257
	tagBitsPerSample       = 258
	tagCompression         = 259
	tagPhotometric         = 262
	tagStripOffsets        = 273
	tagSamplesPerPixel     = 277
	tagRowsPerStrip        = 278
	tagStripByteCounts     = 279
	tagPlanarConfig        = 284
	tagPredictor           = 317
	tagTileWidth           = 322
	tagTileLength          = 323
	tagTileOffsets         = 324
	tagTileByteCounts      = 325
	tagExtraSamples        = 338
	tagSampleFormat        = 339
	tagYCbCrSubsampling    = 530
	tagModelPixelScale     = 33550
	tagModelTiepoint       = 33922
	tagModelTransformation = 34264
	tagGeoKeyDirectory     = 34735
	tagGeoDoubleParams     = 34736
	tagGeoASCIIParams      = 34737
	tagGDALNoData          = 42113
)

// TIFF field types.
const (
	typeByte      = 1
	typeASCII     = 2
	typeShort     = 3
	typeLong      = 4
	typeRational  = 5
	typeSByte     = 6
	typeUndefined = 7
	typeSShort    = 8
	typeSLong     = 9
	typeSRational = 10
	typeFloat     = 11
	typeDouble    = 12
	typeIFD       = 13
	typeLong8     = 16
	typeSLong8    = 17
	typeIFD8      = 18
)

// fieldSize is the size in bytes of one value of a TIFF field type, 0 for
// unknown types.
func fieldSize(typ uint16) int {
	switch typ {
	case typeByte, typeASCII, typeSByte, typeUndefined:
		return 1
	case typeShort, typeSShort:
		return 2
	case typeLong, typeSLong, typeFloat, typeIFD:
		return 4
	case typeRational, typeSRational, typeDouble, typeLong8, typeSLong8, typeIFD8:
		return 8
	}
	return 0
}

// Values of tags the codec interprets.
const (
	subfileReduced = 1 // NewSubfileType bit: a reduced-resolution image
	subfileMask    = 4 // NewSubfileType bit: a transparency mask

	photometricMinIsBlack = 1
	photometricRGB        = 2
	photometricMask       = 4
	photometricYCbCr      = 6

	planarChunky   = 1
	planarSeparate = 2

	sampleFormatUint  = 1
	sampleFormatInt   = 2
	sampleFormatFloat = 3
)

// Limits that keep a hostile file from costing more than a bounded effort.
const (
	// DefaultDecodeLimit is the default cap on a decoded raster's samples as
	// float64: width*height*bands*8 bytes.
	DefaultDecodeLimit = 4 << 30
	noSizeLimit        = math.MaxInt64 // for layouts read, not decoded
	maxIFDEntries      = 4096          // entries in one IFD
	maxIFDs            = 4096          // IFDs walked in one file
	maxBands           = 65535
	maxDimension       = 1 << 31
)

// sampleType maps SampleFormat and BitsPerSample to a DataType, 0 when the
// pair is not one the codec supports.
func sampleType(format, bits uint64) DataType {
	switch {
	case format == sampleFormatUint && bits == 8:
		return Uint8
	case format == sampleFormatUint && bits == 16:
		return Uint16
	case format == sampleFormatInt && bits == 16:
		return Int16
	case format == sampleFormatInt && bits == 32:
		return Int32
	case format == sampleFormatFloat && bits == 32:
		return Float32
	case format == sampleFormatFloat && bits == 64:
		return Float64
	}
	return 0
}

// sampleFormat is the TIFF SampleFormat of a DataType.
func sampleFormat(t DataType) uint16 {
	switch t {
	case Int16, Int32:
		return sampleFormatInt
	case Float32, Float64:
		return sampleFormatFloat
	}
	return sampleFormatUint
}

// isFloat reports whether t is a floating-point type.
func isFloat(t DataType) bool { return t == Float32 || t == Float64 }
