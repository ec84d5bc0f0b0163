package raster

import (
	"errors"
	"fmt"
	"math"
)

// Terrain operations: gdaldem hillshade, slope and aspect (Horn's method) as
// GDAL 3.6 computes them, pixel for pixel. Each takes a band index (0-based)
// and has a *Window form that computes only a window of the source, for
// tiles cut with a halo (see Tiles). The output has the window's size and
// georeferencing.

// Nodata values gdaldem writes.
const (
	HillshadeNoData = 0     // hillshade is Byte, valid values 1..255
	SlopeNoData     = -9999 // slope and aspect are Float32
)

// HillshadeParams are the options of gdaldem hillshade.
type HillshadeParams struct {
	ZFactor  float64 // vertical exaggeration, -z (default 1)
	Scale    float64 // horizontal units per vertical unit, -s (default 1; 111120 for degrees over metres)
	Azimuth  float64 // direction of the light in degrees clockwise from north, -az (default 315)
	Altitude float64 // elevation of the light in degrees, -alt (default 45)
	// ComputeEdges computes the outermost pixels too, -compute_edges
	// (default false: they are nodata).
	ComputeEdges bool
}

// DefaultHillshadeParams are gdaldem hillshade's defaults.
func DefaultHillshadeParams() HillshadeParams {
	return HillshadeParams{ZFactor: 1, Scale: 1, Azimuth: 315, Altitude: 45}
}

// Validate reports every invalid parameter.
func (p HillshadeParams) Validate() error {
	return errors.Join(checkScale(p.Scale), checkFiniteParam("z factor", p.ZFactor),
		checkFiniteParam("azimuth", p.Azimuth), checkFiniteParam("altitude", p.Altitude))
}

// SlopeParams are the options of gdaldem slope.
type SlopeParams struct {
	Scale   float64 // horizontal units per vertical unit, -s (default 1)
	ZFactor float64 // vertical exaggeration (default 1; gdaldem slope has none)
	Percent bool    // percent rise instead of degrees, -p
	// ComputeEdges computes the outermost pixels too, -compute_edges.
	ComputeEdges bool
}

// DefaultSlopeParams are gdaldem slope's defaults.
func DefaultSlopeParams() SlopeParams { return SlopeParams{Scale: 1, ZFactor: 1} }

// Validate reports every invalid parameter.
func (p SlopeParams) Validate() error {
	return errors.Join(checkScale(p.Scale), checkFiniteParam("z factor", p.ZFactor))
}

// AspectParams are the options of gdaldem aspect; the zero value is its
// default: azimuth degrees (0 north, clockwise), flat areas nodata.
type AspectParams struct {
	// Trigonometric gives the angle counterclockwise from east,
	// -trigonometric.
	Trigonometric bool
	// ZeroForFlat writes 0 for flat areas, -zero_for_flat; as with
	// gdaldem, the output then has no nodata value and nodata input is 0.
	ZeroForFlat bool
	// ComputeEdges computes the outermost pixels too, -compute_edges.
	ComputeEdges bool
}

func checkScale(s float64) error {
	if s == 0 || math.IsNaN(s) || math.IsInf(s, 0) {
		return fmt.Errorf("%w: scale %v", ErrParam, s)
	}
	return nil
}

func checkFiniteParam(name string, v float64) error {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Errorf("%w: %s %v", ErrParam, name, v)
	}
	return nil
}

// Hillshade is gdaldem hillshade of band of src: Byte, nodata 0.
func Hillshade(src *Raster, band int, p HillshadeParams) (*Raster, error) {
	return HillshadeWindow(src, band, p, src.Bounds())
}

// HillshadeWindow is Hillshade of the pixels of win only.
func HillshadeWindow(src *Raster, band int, p HillshadeParams, win Window) (*Raster, error) {
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("hillshade: %w", err)
	}
	h := newHillshade(gdalTransform(src), p)
	op := focalOp{ints: hillshadeAlg[int32](h), floats: hillshadeAlg[float32](h)}
	vals, err := op.run(src, band, win, p.ComputeEdges, HillshadeNoData)
	if err != nil {
		return nil, fmt.Errorf("hillshade: %w", err)
	}
	out := newOpOutput(src, win, Uint8, HillshadeNoData, true)
	for i, v := range vals {
		out.Pix[0][i] = floatToByte(v)
	}
	return out, nil
}

// Slope is gdaldem slope of band of src: Float32, nodata -9999.
func Slope(src *Raster, band int, p SlopeParams) (*Raster, error) {
	return SlopeWindow(src, band, p, src.Bounds())
}

// SlopeWindow is Slope of the pixels of win only.
func SlopeWindow(src *Raster, band int, p SlopeParams, win Window) (*Raster, error) {
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("slope: %w", err)
	}
	gt := gdalTransform(src)
	op := focalOp{ints: slopeAlg[int32](gt, p), floats: slopeAlg[float32](gt, p)}
	vals, err := op.run(src, band, win, p.ComputeEdges, SlopeNoData)
	if err != nil {
		return nil, fmt.Errorf("slope: %w", err)
	}
	return float32Output(src, win, vals, SlopeNoData, true), nil
}

// Aspect is gdaldem aspect of band of src: Float32 degrees, nodata -9999.
func Aspect(src *Raster, band int, p AspectParams) (*Raster, error) {
	return AspectWindow(src, band, p, src.Bounds())
}

// AspectWindow is Aspect of the pixels of win only.
func AspectWindow(src *Raster, band int, p AspectParams, win Window) (*Raster, error) {
	noData := float32(SlopeNoData)
	if p.ZeroForFlat {
		noData = 0
	}
	op := focalOp{ints: aspectAlg[int32](p.Trigonometric, noData), floats: aspectAlg[float32](p.Trigonometric, noData)}
	vals, err := op.run(src, band, win, p.ComputeEdges, noData)
	if err != nil {
		return nil, fmt.Errorf("aspect: %w", err)
	}
	return float32Output(src, win, vals, float64(noData), !p.ZeroForFlat), nil
}

// focalOp is one 3x3 algorithm for both sample kinds gdaldem uses.
type focalOp struct {
	ints   focalAlg[int32]
	floats focalAlg[float32]
}

func (op focalOp) run(src *Raster, band int, win Window, edges bool, dstNoData float32) ([]float32, error) {
	if err := src.checkBand(band); err != nil {
		return nil, err
	}
	if err := src.checkWindow(win); err != nil {
		return nil, err
	}
	vals := make([]float32, win.W*win.H)
	if integerFocal(src.Type) {
		newIntPlane(src, band).run(win, edges, dstNoData, op.ints, vals)
	} else {
		newFloatPlane(src, band).run(win, edges, dstNoData, op.floats, vals)
	}
	return vals, nil
}

// gdalTransform is src's geotransform, or GDAL's default (unit pixels, y
// down) for a raster without one.
func gdalTransform(src *Raster) GeoTransform {
	if !src.Georeferenced() {
		return GeoTransform{0, 1, 0, 0, 0, 1}
	}
	return src.Transform
}

// floatToByte converts as GDAL writes a Float32 value to a Byte band:
// rounded half up in single precision and clamped; NaN is 0.
func floatToByte(v float32) float64 { return float64(floatToUint8(v)) }

// floatToUint8 is floatToByte as a byte.
func floatToUint8(v float32) uint8 {
	switch {
	case v != v || v < 0:
		return 0
	case v > 255:
		return 255
	}
	return uint8(int(v + 0.5))
}

// newOpOutput is a one-band raster over win of src.
func newOpOutput(src *Raster, win Window, t DataType, noData float64, hasNoData bool) *Raster {
	return &Raster{
		Width: win.W, Height: win.H, Type: t, Pix: [][]float64{make([]float64, win.W*win.H)},
		NoData: noData, HasNoData: hasNoData, Georef: src.georefAt(float64(win.X), float64(win.Y), 1, 1),
	}
}

func float32Output(src *Raster, win Window, vals []float32, noData float64, hasNoData bool) *Raster {
	out := newOpOutput(src, win, Float32, noData, hasNoData)
	for i, v := range vals {
		out.Pix[0][i] = float64(v)
	}
	return out
}
