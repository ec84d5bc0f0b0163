package raster

import (
	"fmt"
	"io"
	"slices"
)

// A COG can be written by parts, so that a cluster compresses it where the
// pixels are made: each tile task writes its tile as a part with
// EncodeCOGPart, and AssembleCOG lays the parts out as the COG, copying the
// compressed blocks of every level whose blocks a part holds whole and
// computing the rest (the few small top overviews) from decoded pixels.
// The result is byte for byte the file EncodeCOG writes of the whole image
// (whose samples are as stored: see EncodeCOGPart).
//
// A part is a tiled TIFF without GDAL's ghost area, in the COG's block
// size, compression, predictor and byte order: its first image is the
// tile's pixels (with the tile's georeferencing), and its overviews the
// levels of the COG that the tile's pixels alone determine. With GDAL's
// overview sizes (floor(N/2^k)) and resampling, level k of the COG is a
// function of the tile's pixels when, at every level up to k, the level
// above is exactly twice the size of the level (no fractional source
// pixels: "average" is the plain mean of 2x2 blocks, "nearest" takes their
// lower-right pixel) and the tile's window on the level above starts and
// ends on even pixels (or on the image's edge, which is then even too).

// partLevels is how many overview levels of the COG of a width x height
// image the pixels of win alone determine.
func (o COGOptions) partLevels(width, height int, win Window) int {
	if o.Downsample != nil {
		return 0 // a caller's resampler may read any pixel
	}
	n := 0
	for _, s := range o.overviewSizes(width, height) {
		if width != 2*s.Width || height != 2*s.Height || win.X%2 != 0 || win.Y%2 != 0 || win.W%2 != 0 || win.H%2 != 0 {
			break
		}
		width, height = s.Width, s.Height
		win = Window{X: win.X / 2, Y: win.Y / 2, W: win.W / 2, H: win.H / 2}
		n++
	}
	return n
}

// EncodeCOGPart writes r, the pixels of the window of a width x height
// image whose top-left pixel is (x, y), as its part of the COG that
// EncodeCOG with opts writes of the whole image (see AssembleCOG). Like the
// COG's overviews, the part's are computed from the samples as stored
// (rounded to r.Type), which is what EncodeCOG computes from a raster
// decoded from a file. It fails with ErrWindow if the window is not inside
// the image.
func EncodeCOGPart(w io.Writer, r *Raster, x, y, width, height int, opts COGOptions) error {
	if err := checkRaster(r); err != nil {
		return err
	}
	return encodeCOGPart(w, r, nil, x, y, width, height, opts)
}

// encodeCOGPart is EncodeCOGPart of r, checked; planes, when set, are r's
// samples as bytes (byteSamples), and r's planes may then be nil.
func encodeCOGPart(w io.Writer, r *Raster, planes [][]uint8, x, y, width, height int, opts COGOptions) error {
	win := Window{X: x, Y: y, W: r.Width, H: r.Height}
	if width <= 0 || height <= 0 || !win.In(Window{W: width, H: height}) {
		return fmt.Errorf("%w: part %v of a %dx%d image", ErrWindow, win, width, height)
	}
	o, err := opts.resolve(r.Type)
	if err != nil {
		return err
	}
	images := []*outImage{newOutImage(r, o.EncodeOptions, false)}
	var sizes []OverviewSize
	for k := range o.partLevels(width, height, win) {
		sizes = append(sizes, OverviewSize{r.Width >> (k + 1), r.Height >> (k + 1)})
	}
	if planes == nil {
		planes = byteSamples(r)
	}
	prev := r
	if images[0].u8 = planes; planes == nil {
		prev = storedSamples(r)
	}
	if images, err = o.overviewImages(images, prev, images[0].u8, sizes, "part overview"); err != nil {
		return err
	}
	if err := compressImages(images, o.EncodeOptions); err != nil {
		return err
	}
	return writeTIFF(w, images, o.EncodeOptions, false)
}

// storedSamples is r if every sample is already what r.Type stores, else a
// copy of it rounded to r.Type (nodata aside).
func storedSamples(r *Raster) *Raster {
	for _, p := range r.Pix {
		if !holdsAll(r, p) {
			q := *r
			q.Pix = make([][]float64, len(r.Pix))
			for b, p := range r.Pix {
				q.Pix[b] = slices.Clone(p)
			}
			return quantize(&q)
		}
	}
	return r
}

// holdsAll reports whether every sample of p, nodata aside, is one r.Type
// holds (DataType.Holds, without its rounding per sample).
func holdsAll(r *Raster, p []float64) bool {
	switch t := r.Type; {
	case t.IsInteger():
		lo, hi := t.sampleRange()
		for _, v := range p {
			if !(v >= lo && v <= hi && float64(int64(v)) == v) && !r.IsNoData(v) {
				return false
			}
		}
	case t == Float32:
		for _, v := range p {
			if float64(float32(v)) != v && v == v && !r.IsNoData(v) {
				return false
			}
		}
	}
	return true
}
