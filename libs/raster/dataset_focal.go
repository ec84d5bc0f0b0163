package raster

import (
	"fmt"
	"io"
	"slices"
)

// band32 is one band of a window being decoded in single precision.
type band32 struct {
	band int
	pix  []float32
}

// HillshadeWindow is HillshadeWindow of the pixels core of the image, read
// from the window read around them (core grown by TerrainHalo and clipped
// to the image, as Tiles cuts it): the same raster as HillshadeWindow of
// ReadWindow(read) with core moved into it. A float DEM is decoded straight
// into the single-precision samples gdaldem computes it in, without the
// float64 raster ReadWindow makes.
func (d *Dataset) HillshadeWindow(read, core Window, band int, p HillshadeParams) (*Raster, error) {
	out, pix, err := d.hillshade(read, core, band, p)
	if err != nil || pix == nil {
		return out, err
	}
	plane := make([]float64, len(pix))
	for i, v := range pix {
		plane[i] = float64(v)
	}
	out.Pix[0] = plane
	return out, nil
}

// HillshadeCOGPart writes the hillshade of the pixels core of the image,
// read from the window read around them, as its part of the COG of the
// whole width x height hillshade: the file EncodeCOGPart(w,
// HillshadeWindow(read, core, band, p), core.X, core.Y, width, height,
// opts) writes, without the float64 raster (a float DEM's gray levels go
// from single precision straight to bytes).
func (d *Dataset) HillshadeCOGPart(w io.Writer, read, core Window, band int, p HillshadeParams, width, height int, opts COGOptions) error {
	out, pix, err := d.hillshade(read, core, band, p)
	if err != nil {
		return err
	}
	if pix == nil {
		return EncodeCOGPart(w, out, core.X, core.Y, width, height, opts)
	}
	return encodeCOGPart(w, out, [][]uint8{pix}, core.X, core.Y, width, height, opts)
}

// hillshade computes HillshadeWindow. For a float DEM its gray levels are
// pix, and out describes them (size, type, nodata, georeferencing) with one
// nil plane; for the others out is HillshadeWindow of ReadWindow(read) and
// pix nil.
func (d *Dataset) hillshade(read, core Window, band int, p HillshadeParams) (out *Raster, pix []uint8, err error) {
	if err := p.Validate(); err != nil {
		return nil, nil, fmt.Errorf("hillshade: %w", err)
	}
	src, local, err := d.focalInput(read, core, band)
	if err != nil {
		return nil, nil, fmt.Errorf("hillshade: %w", err)
	}
	if src.Pix != nil {
		out, err := HillshadeWindow(src, band, p, local)
		return out, nil, err
	}
	alg := hillshadeAlg[float32](newHillshade(gdalTransform(src), p))
	out = &Raster{Width: local.W, Height: local.H, Type: Uint8, Pix: [][]float64{nil}, NoData: HillshadeNoData, HasNoData: true,
		Georef: src.georefAt(float64(local.X), float64(local.Y), 1, 1)}
	pix = make([]uint8, local.W*local.H)
	// Rows are computed a band at a time into vals, which stays in cache,
	// and converted from there.
	vals := make([]float32, min(local.H, focalBand)*local.W)
	err = d.focalRows(src, read, local, band, func(plane *focalPlane[float32], rows Window, y int) {
		for ; rows.H > 0; rows.Y, rows.H, y = rows.Y+focalBand, rows.H-focalBand, y+focalBand {
			win := Window{X: rows.X, Y: rows.Y, W: rows.W, H: min(focalBand, rows.H)}
			v := vals[:win.W*win.H]
			plane.run(win, p.ComputeEdges, HillshadeNoData, alg, v)
			dst := pix[y*win.W : (y+win.H)*win.W]
			for i, f := range v {
				dst[i] = floatToUint8(f)
			}
		}
	})
	if err != nil {
		return nil, nil, fmt.Errorf("hillshade: %w", err)
	}
	return out, pix, nil
}

// focalBand is how many rows HillshadeWindow computes at a time.
const focalBand = 16

// SlopeWindow is SlopeWindow of the pixels core of the image, as
// HillshadeWindow.
func (d *Dataset) SlopeWindow(read, core Window, band int, p SlopeParams) (*Raster, error) {
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("slope: %w", err)
	}
	src, local, err := d.focalInput(read, core, band)
	if err != nil {
		return nil, fmt.Errorf("slope: %w", err)
	}
	if src.Pix != nil {
		return SlopeWindow(src, band, p, local)
	}
	alg := slopeAlg[float32](gdalTransform(src), p)
	vals := make([]float32, local.W*local.H)
	err = d.focalRows(src, read, local, band, func(plane *focalPlane[float32], rows Window, y int) {
		plane.run(rows, p.ComputeEdges, SlopeNoData, alg, vals[y*rows.W:(y+rows.H)*rows.W])
	})
	if err != nil {
		return nil, fmt.Errorf("slope: %w", err)
	}
	return float32Output(src, local, vals, SlopeNoData, true), nil
}

// focalInput checks the window read for a 3x3 operation on core, which
// must lie inside it. For samples gdaldem processes as float32 it returns
// src without samples (the window's size, type, nodata and georeferencing
// as ReadWindow gives them), for focalRows to decode; for the others src is
// ReadWindow(read). local is core in read's pixels.
func (d *Dataset) focalInput(read, core Window, band int) (src *Raster, local Window, err error) {
	im := d.img
	if !core.In(read) {
		return nil, local, fmt.Errorf("%w: core %v is not inside the read window %v", ErrWindow, core, read)
	}
	if band < 0 || band >= im.bands {
		return nil, local, fmt.Errorf("%w: band %d of %d", ErrBand, band, im.bands)
	}
	local = Window{X: core.X - read.X, Y: core.Y - read.Y, W: core.W, H: core.H}
	if integerFocal(im.dtype) {
		src, err = d.ReadWindow(read)
		return src, local, err
	}
	if !read.In(d.Bounds()) {
		return nil, local, fmt.Errorf("read window %v: %w: the image is %dx%d", read, ErrWindow, im.width, im.height)
	}
	if uint64(d.limit)/4/uint64(read.W) < uint64(read.H) {
		return nil, local, fmt.Errorf("read window %v: %w: %dx%d exceeds the %d-byte decode limit", read, ErrSize, read.W, read.H, d.limit)
	}
	src = &Raster{Width: read.W, Height: read.H, Type: im.dtype, NoData: d.noData, HasNoData: d.hasNoData,
		Georef: Georef{Transform: d.georef.Transform, EPSG: d.georef.EPSG, GeoKeys: slices.Clone(d.georef.GeoKeys)}}
	if read.X != 0 || read.Y != 0 {
		src.Transform = src.Transform.Offset(float64(read.X), float64(read.Y))
	}
	return src, local, nil
}

// focalRows decodes band of the window read (described by src, from
// focalInput) in single precision a strip of whole block rows at a time,
// with the row above and below each strip that a 3x3 window needs, so that
// the samples stay few and in cache. For each strip it calls compute with
// the strip as a focal plane (its first and last rows the window's edges
// only where they are the window's), the rows of local it holds in the
// plane's pixels, and the first of them as a row of local. The strip's
// last two rows become the next strip's first two, so that each block is
// decoded once (and the first rows of the next block row twice).
func (d *Dataset) focalRows(src *Raster, read, local Window, band int, compute func(plane *focalPlane[float32], rows Window, y int)) error {
	im := d.img
	step := im.blockH * max(1, (focalStripRows+im.blockH-1)/im.blockH)
	end := local.Y + local.H
	buf := make([]float32, min(step+2, read.H)*read.W)
	have := Window{} // the rows of read in buf, from buf's first
	for s0 := local.Y; s0 < end; {
		// The strip ends on a block row's edge of the image.
		s1 := min(end, (read.Y+s0)/step*step+step-read.Y)
		t0, t1 := max(s0-1, 0), min(s1+1, read.H) // the rows the strip needs
		from := t0
		if have.H > 0 && have.Y <= t0 && t0 < have.Y+have.H { // keep what the last strip decoded
			from = have.Y + have.H
			copy(buf, buf[(t0-have.Y)*read.W:have.H*read.W])
		}
		if err := d.decodeRows32(src, read, band, buf[(from-t0)*read.W:(t1-t0)*read.W], from, t1); err != nil {
			return fmt.Errorf("read window %v: %w", read, err)
		}
		have = Window{Y: t0, H: t1 - t0}
		plane := &focalPlane[float32]{w: read.W, h: t1 - t0, v: buf[:(t1-t0)*read.W]}
		if src.HasNoData {
			plane.noData, plane.hasND, plane.isNaNND = float32(src.NoData), true, src.NoData != src.NoData
		}
		plane.markNoData()
		compute(plane, Window{X: local.X, Y: s0 - t0, W: local.W, H: s1 - s0}, s0-local.Y)
		s0 = s1
	}
	return nil
}

// focalStripRows is about how many rows focalRows decodes at a time.
const focalStripRows = 256

// decodeRows32 decodes rows [y0, y1) of the window read, band band, into
// pix in single precision.
func (d *Dataset) decodeRows32(src *Raster, read Window, band int, pix []float32, y0, y1 int) error {
	if y0 >= y1 {
		return nil
	}
	im := d.img
	win := Window{X: read.X, Y: read.Y + y0, W: read.W, H: y1 - y0}
	b := &band32{band: band, pix: pix}
	chunks := im.chunksIn(win)
	if im.planar {
		per := im.across * im.down
		chunks = slices.DeleteFunc(chunks, func(i int) bool { return i/per != band })
	}
	return runChunks(len(chunks), d.workers, getChunkScratch, putChunkScratch,
		func(s *chunkScratch, k int) error {
			i := chunks[k]
			return s.decode(im, i, d.offsets[i], d.counts[i], src, win, b)
		})
}
