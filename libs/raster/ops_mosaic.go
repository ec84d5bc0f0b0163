package raster

import (
	"fmt"
	"math"
	"slices"
)

// Crop is the part of src inside win as a new raster (samples copied), its
// geotransform moved to the window's corner. With Tiles it cuts a raster
// into tiles with halos.
func Crop(src *Raster, win Window) (*Raster, error) {
	if err := src.checkWindow(win); err != nil {
		return nil, fmt.Errorf("crop: %w", err)
	}
	out := &Raster{
		Width: win.W, Height: win.H, Type: src.Type, Pix: make([][]float64, len(src.Pix)),
		NoData: src.NoData, HasNoData: src.HasNoData, Georef: src.georefAt(float64(win.X), float64(win.Y), 1, 1),
	}
	for b, plane := range src.Pix {
		out.Pix[b] = make([]float64, 0, win.W*win.H)
		for y := win.Y; y < win.Y+win.H; y++ {
			out.Pix[b] = append(out.Pix[b], plane[y*src.Width+win.X:y*src.Width+win.X+win.W]...)
		}
	}
	return out, nil
}

// Paste copies every sample of src, nodata included, into dst with src's
// pixel (0, 0) at dst's (col, row); src must fit inside dst and have as many
// bands. It assembles tiles; Mosaic is the georeferenced, nodata-aware form.
func Paste(dst, src *Raster, col, row int) error {
	win := Window{X: col, Y: row, W: src.Width, H: src.Height}
	if err := dst.checkWindow(win); err != nil {
		return fmt.Errorf("paste: %w", err)
	}
	if len(src.Pix) != len(dst.Pix) {
		return fmt.Errorf("paste: %w: %d bands into %d", ErrGrid, len(src.Pix), len(dst.Pix))
	}
	for b, plane := range src.Pix {
		for y := range src.Height {
			copy(dst.Pix[b][(row+y)*dst.Width+col:], plane[y*src.Width:(y+1)*src.Width])
		}
	}
	return nil
}

// Fill sets every sample of every band to v (e.g. r.NoData before a
// Mosaic).
func (r *Raster) Fill(v float64) {
	for _, plane := range r.Pix {
		for i := range plane {
			plane[i] = v
		}
	}
}

// Mosaic draws srcs into dst in order, later sources over earlier ones,
// where they overlap it. A source's nodata samples are transparent; its
// values are converted to dst's type. Every source must be on dst's grid:
// the same CRS (when both have one), the same pixel size and rotation
// (within a relative 1e-9) and an origin a whole number of pixels from
// dst's (within 1e-6 pixel); otherwise ErrGrid, and dst is left unchanged.
func Mosaic(dst *Raster, srcs ...*Raster) error {
	offsets := make([][2]int, len(srcs))
	for i, src := range srcs {
		off, err := gridOffset(dst, src)
		if err != nil {
			return fmt.Errorf("mosaic: source %d: %w", i, err)
		}
		if len(src.Pix) != len(dst.Pix) {
			return fmt.Errorf("mosaic: source %d: %w: %d bands into %d", i, ErrGrid, len(src.Pix), len(dst.Pix))
		}
		offsets[i] = off
	}
	for i, src := range srcs {
		col, row := offsets[i][0], offsets[i][1]
		win := Window{X: col, Y: row, W: src.Width, H: src.Height}.Intersect(dst.Bounds())
		for b, plane := range src.Pix {
			for y := win.Y; y < win.Y+win.H; y++ {
				for x := win.X; x < win.X+win.W; x++ {
					if v := plane[(y-row)*src.Width+x-col]; !src.IsNoData(v) {
						dst.Pix[b][y*dst.Width+x] = dst.Type.Convert(v)
					}
				}
			}
		}
	}
	return nil
}

// gridOffset is the position of src's pixel (0, 0) in dst's pixel grid.
func gridOffset(dst, src *Raster) ([2]int, error) {
	if dst.EPSG != 0 && src.EPSG != 0 && dst.EPSG != src.EPSG {
		return [2]int{}, fmt.Errorf("%w: EPSG:%d onto EPSG:%d", ErrGrid, src.EPSG, dst.EPSG)
	}
	d, s := gdalTransform(dst), gdalTransform(src)
	for _, i := range []int{1, 2, 4, 5} {
		if math.Abs(d[i]-s[i]) > 1e-9*max(math.Abs(d[i]), math.Abs(s[i])) {
			return [2]int{}, fmt.Errorf("%w: pixel size and rotation %g %g %g %g, want %g %g %g %g",
				ErrGrid, s[1], s[2], s[4], s[5], d[1], d[2], d[4], d[5])
		}
	}
	// Solve d(col, row) = src origin for the pixel coordinates.
	det := d[1]*d[5] - d[2]*d[4]
	if det == 0 {
		return [2]int{}, fmt.Errorf("%w: singular geotransform %v", ErrGrid, d)
	}
	dx, dy := s[0]-d[0], s[3]-d[3]
	col, row := (dx*d[5]-dy*d[2])/det, (dy*d[1]-dx*d[4])/det
	ic, ir := math.Round(col), math.Round(row)
	if math.Abs(col-ic) > 1e-6 || math.Abs(row-ir) > 1e-6 {
		return [2]int{}, fmt.Errorf("%w: origin at pixel %.6g,%.6g of the destination, not a whole pixel", ErrGrid, col, row)
	}
	if math.Abs(ic) > math.MaxInt32 || math.Abs(ir) > math.MaxInt32 {
		return [2]int{}, fmt.Errorf("%w: origin at pixel %.6g,%.6g", ErrGrid, col, row)
	}
	return [2]int{int(ic), int(ir)}, nil
}

// Clone is a deep copy of r.
func (r *Raster) Clone() *Raster {
	c := *r
	c.Pix = make([][]float64, len(r.Pix))
	for b, plane := range r.Pix {
		c.Pix[b] = slices.Clone(plane)
	}
	c.GeoKeys = slices.Clone(r.GeoKeys)
	return &c
}
