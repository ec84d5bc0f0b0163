package raster

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// The operations (ops_*.go) are pure functions on in-memory rasters, the
// tile tasks' building blocks. Their conventions:
//
//   - Bands are 0-based indexes into Raster.Pix (band math names them b1,
//     b2, …); results are new rasters, inputs are never modified (except
//     the destination of Paste and Mosaic).
//   - One nodata algebra: a sample is nodata when it equals NoData (NaN
//     matches NaN). Band math: nodata in any band used, or an undefined or
//     infinite result, gives nodata. Terrain: as gdaldem (see
//     ops_focal.go). Resampling and statistics leave nodata out; a
//     resampled pixel is nodata only when all it draws on is.
//   - GDAL 3.6 is the reference: where GDAL defines an operation the result
//     is the one gdaldem, gdal_translate, gdal_calc.py or gdalinfo give,
//     bit for bit where the tests could establish it.
//   - Focal operations take a Window so that a tile cut with a halo (see
//     Tiles) computes exactly the pixels of the whole-raster result.

// Errors of the operations; match with errors.Is.
var (
	// ErrBand marks a band index outside the raster.
	ErrBand = errors.New("raster: no such band")
	// ErrWindow marks a pixel window that does not lie inside the raster.
	ErrWindow = errors.New("raster: window outside the raster")
	// ErrGrid marks rasters whose pixel grids do not line up (size,
	// resolution, CRS or a non-integer offset between them).
	ErrGrid = errors.New("raster: grids do not match")
	// ErrExpr marks an invalid band math expression; the error is an
	// *ExprError.
	ErrExpr = errors.New("raster: invalid expression")
	// ErrParam marks an invalid operation parameter.
	ErrParam = errors.New("raster: invalid parameter")
)

// Window is a rectangle of pixels: columns X..X+W-1, rows Y..Y+H-1.
type Window struct {
	X, Y, W, H int
}

// Empty reports whether the window holds no pixel.
func (w Window) Empty() bool { return w.W <= 0 || w.H <= 0 }

// In reports whether w is non-empty and lies entirely inside outer.
func (w Window) In(outer Window) bool {
	return !w.Empty() && w.X >= outer.X && w.Y >= outer.Y &&
		w.X+w.W <= outer.X+outer.W && w.Y+w.H <= outer.Y+outer.H
}

// Intersect is the part of w inside o (empty when they do not overlap).
func (w Window) Intersect(o Window) Window {
	x0, y0 := max(w.X, o.X), max(w.Y, o.Y)
	x1, y1 := min(w.X+w.W, o.X+o.W), min(w.Y+w.H, o.Y+o.H)
	if x1 <= x0 || y1 <= y0 {
		return Window{}
	}
	return Window{X: x0, Y: y0, W: x1 - x0, H: y1 - y0}
}

// Grow widens w by n pixels on every side.
func (w Window) Grow(n int) Window {
	return Window{X: w.X - n, Y: w.Y - n, W: w.W + 2*n, H: w.H + 2*n}
}

func (w Window) String() string { return fmt.Sprintf("%dx%d+%d+%d", w.W, w.H, w.X, w.Y) }

// Bounds is the window covering the whole raster.
func (r *Raster) Bounds() Window { return Window{W: r.Width, H: r.Height} }

// checkBand returns an ErrBand error unless band indexes r.Pix.
func (r *Raster) checkBand(band int) error {
	if band < 0 || band >= len(r.Pix) {
		return fmt.Errorf("%w: band %d of %d", ErrBand, band, len(r.Pix))
	}
	return nil
}

// checkWindow returns an ErrWindow error unless win lies inside r.
func (r *Raster) checkWindow(win Window) error {
	if !win.In(r.Bounds()) {
		return fmt.Errorf("%w: %v in %dx%d", ErrWindow, win, r.Width, r.Height)
	}
	return nil
}

// Georeferenced reports whether the raster has a geotransform.
func (r *Raster) Georeferenced() bool { return r.Transform != GeoTransform{} }

// Offset is the geotransform of the same grid with its origin moved to the
// corner of pixel (col, row); the zero transform stays zero.
func (g GeoTransform) Offset(col, row float64) GeoTransform {
	if g == (GeoTransform{}) {
		return g
	}
	g[0], g[3] = g[0]+col*g[1]+row*g[2], g[3]+col*g[4]+row*g[5]
	return g
}

// georefAt is r's georeferencing for a grid whose pixel (0, 0) is r's
// pixel (col, row) and whose pixels are sx by sy of r's wide (terms scaled
// in gdal_translate's order: gt[1] * sx, with sx = width / new width).
func (r *Raster) georefAt(col, row, sx, sy float64) Georef {
	t := r.Transform.Offset(col, row)
	t[1], t[2], t[4], t[5] = t[1]*sx, t[2]*sy, t[4]*sx, t[5]*sy
	return Georef{Transform: t, EPSG: r.EPSG, GeoKeys: slices.Clone(r.GeoKeys)}
}

// sampleRange is the closed range of values a sample type holds; floats
// are unbounded.
func (t DataType) sampleRange() (lo, hi float64) {
	switch t {
	case Uint8:
		return 0, math.MaxUint8
	case Uint16:
		return 0, math.MaxUint16
	case Int16:
		return math.MinInt16, math.MaxInt16
	case Int32:
		return math.MinInt32, math.MaxInt32
	}
	return math.Inf(-1), math.Inf(1)
}

// IsInteger reports whether the type holds integers.
func (t DataType) IsInteger() bool {
	return t == Uint8 || t == Uint16 || t == Int16 || t == Int32
}

// Convert is v as a sample of type t holds it, as GDAL converts: integers
// round half away from zero and saturate at the type's range (NaN becomes
// 0), Float32 rounds to single precision, Float64 is unchanged.
func (t DataType) Convert(v float64) float64 {
	switch {
	case t == Float32:
		return float64(float32(v))
	case t.IsInteger():
		if math.IsNaN(v) {
			return 0
		}
		lo, hi := t.sampleRange()
		return math.Min(math.Max(math.Round(v), lo), hi)
	}
	return v
}

// Holds reports whether v is exactly representable as a sample of type t.
func (t DataType) Holds(v float64) bool {
	if math.IsNaN(v) {
		return !t.IsInteger()
	}
	return t.Convert(v) == v
}
