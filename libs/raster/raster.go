// Package raster is geocluster's pure-Go raster engine: an in-memory
// georeferenced raster, a GeoTIFF / Cloud-Optimized GeoTIFF codec, and the
// operations tile tasks run (terrain, band math, resampling, statistics).
//
// Samples are held as float64 whatever the file's sample type: every type
// the codec reads (uint8, uint16, int16, int32, float32, float64) converts
// exactly, operations need no per-type code, and the file's type is kept in
// Raster.Type so that writing restores it.
package raster

import (
	"errors"
	"fmt"
	"math"
)

// DataType is the sample type of a raster's bands in a file.
type DataType int

// Sample types.
const (
	Uint8 DataType = iota + 1
	Uint16
	Int16
	Int32
	Float32
	Float64
)

// Size is the size of one sample in bytes.
func (t DataType) Size() int {
	switch t {
	case Uint8:
		return 1
	case Uint16, Int16:
		return 2
	case Int32, Float32:
		return 4
	case Float64:
		return 8
	}
	return 0
}

func (t DataType) String() string {
	switch t {
	case Uint8:
		return "Byte"
	case Uint16:
		return "UInt16"
	case Int16:
		return "Int16"
	case Int32:
		return "Int32"
	case Float32:
		return "Float32"
	case Float64:
		return "Float64"
	}
	return fmt.Sprintf("DataType(%d)", int(t))
}

// GeoTransform maps pixel (col, row) corners to georeferenced (x, y) as GDAL
// does: x = GT[0] + col*GT[1] + row*GT[2], y = GT[3] + col*GT[4] + row*GT[5].
type GeoTransform [6]float64

// Georef is where a raster lies on Earth.
type Georef struct {
	// Transform of the pixel grid; the zero value means no georeferencing.
	Transform GeoTransform
	// EPSG code of the CRS (e.g. 4269, 32616); 0 when unknown.
	EPSG int
	// GeoKeys are the file's GeoKeyDirectory as read, so that a written file
	// keeps keys this package does not interpret (citations, units, …).
	GeoKeys []GeoKey
}

// GeoKey is one entry of a GeoTIFF GeoKeyDirectory. Exactly one of the value
// fields is set, by the key's type.
type GeoKey struct {
	ID     uint16
	Short  uint16    // TIFFTagLocation 0: the value itself
	Double []float64 // from GeoDoubleParamsTag
	ASCII  string    // from GeoAsciiParamsTag, without the '|' terminator
	// Kind says which field holds the value: 0 Short, 34736 Double, 34737 ASCII.
	Kind uint16
}

// Raster is an in-memory raster: Bands planes of Width x Height samples, row
// major, each band's samples in Pix[b][row*Width+col].
type Raster struct {
	Width, Height int
	// Type is the sample type the raster came from and is written as.
	Type DataType
	// Pix holds one plane per band.
	Pix [][]float64
	// NoData marks missing samples when HasNoData is set (GDAL_NODATA).
	NoData    float64
	HasNoData bool
	Georef
}

// Errors of the package; match with errors.Is.
var (
	// ErrFormat marks input that is not a valid (or supported) raster file.
	ErrFormat = errors.New("raster: invalid or unsupported file")
	// ErrSize marks a raster whose dimensions do not fit the data or a limit.
	ErrSize = errors.New("raster: size out of range")
)

// New returns a raster of the given size, bands and type, all samples 0.
func New(width, height, bands int, t DataType) (*Raster, error) {
	if width <= 0 || height <= 0 || bands <= 0 {
		return nil, fmt.Errorf("%w: %dx%d with %d bands", ErrSize, width, height, bands)
	}
	if t.Size() == 0 {
		return nil, fmt.Errorf("%w: unknown data type %d", ErrFormat, int(t))
	}
	r := &Raster{Width: width, Height: height, Type: t, Pix: make([][]float64, bands)}
	for b := range r.Pix {
		r.Pix[b] = make([]float64, width*height)
	}
	return r, nil
}

// Bands is the number of bands.
func (r *Raster) Bands() int { return len(r.Pix) }

// At returns the sample of band b at (col, row).
func (r *Raster) At(b, col, row int) float64 { return r.Pix[b][row*r.Width+col] }

// Set sets the sample of band b at (col, row).
func (r *Raster) Set(b, col, row int, v float64) { r.Pix[b][row*r.Width+col] = v }

// IsNoData reports whether v is the raster's nodata value (NaN matches NaN).
func (r *Raster) IsNoData(v float64) bool {
	if !r.HasNoData {
		return false
	}
	if math.IsNaN(r.NoData) {
		return math.IsNaN(v)
	}
	return v == r.NoData
}
