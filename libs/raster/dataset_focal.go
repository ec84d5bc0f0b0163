package raster

import (
	"fmt"
	"slices"
	"sync"
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
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("hillshade: %w", err)
	}
	src, plane, local, err := d.focalInput(read, core, band)
	if err != nil {
		return nil, fmt.Errorf("hillshade: %w", err)
	}
	if plane == nil {
		return HillshadeWindow(src, band, p, local)
	}
	alg := hillshadeAlg[float32](newHillshade(gdalTransform(src), p))
	out := newOpOutput(src, local, Uint8, HillshadeNoData, true)
	// Rows are computed a band at a time into vals, which stays in cache,
	// and converted from there.
	vals := make([]float32, min(local.H, focalBand)*local.W)
	for y := 0; y < local.H; y += focalBand {
		win := Window{X: local.X, Y: local.Y + y, W: local.W, H: min(focalBand, local.H-y)}
		v := vals[:win.W*win.H]
		plane.run(win, p.ComputeEdges, HillshadeNoData, alg, v)
		dst := out.Pix[0][y*win.W : (y+win.H)*win.W]
		for i, f := range v {
			dst[i] = floatToByte(f)
		}
	}
	putPlane32(plane.v)
	return out, nil
}

// focalBand is how many rows HillshadeWindow computes at a time.
const focalBand = 16

// SlopeWindow is SlopeWindow of the pixels core of the image, as
// HillshadeWindow.
func (d *Dataset) SlopeWindow(read, core Window, band int, p SlopeParams) (*Raster, error) {
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("slope: %w", err)
	}
	src, plane, local, err := d.focalInput(read, core, band)
	if err != nil {
		return nil, fmt.Errorf("slope: %w", err)
	}
	if plane == nil {
		return SlopeWindow(src, band, p, local)
	}
	vals := make([]float32, local.W*local.H)
	plane.run(local, p.ComputeEdges, SlopeNoData, slopeAlg[float32](gdalTransform(src), p), vals)
	putPlane32(plane.v)
	return float32Output(src, local, vals, SlopeNoData, true), nil
}

// planes32 holds the sample buffers of focal planes between calls: a
// tile task's is tens of MB, which a fresh allocation would zero (or fault
// in from the OS) only for decoding to overwrite every sample.
var planes32 sync.Pool

// getPlane32 is a buffer of n samples from planes32 or new, its contents
// undefined.
func getPlane32(n int) []float32 {
	if p, ok := planes32.Get().(*[]float32); ok && cap(*p) >= n {
		return (*p)[:n]
	}
	return make([]float32, n)
}

// putPlane32 gives p, no longer used, back to planes32.
func putPlane32(p []float32) { planes32.Put(&p) }

// focalInput reads the window read for a 3x3 operation on core, which must
// lie inside it. For samples gdaldem processes as float32 it returns the
// band decoded into a focal plane and src without samples (the window's
// size, type, nodata and georeferencing as ReadWindow gives them); for the
// others src is ReadWindow(read) and plane nil. local is core in read's
// pixels.
func (d *Dataset) focalInput(read, core Window, band int) (src *Raster, plane *focalPlane[float32], local Window, err error) {
	im := d.img
	if !core.In(read) {
		return nil, nil, local, fmt.Errorf("%w: core %v is not inside the read window %v", ErrWindow, core, read)
	}
	if band < 0 || band >= im.bands {
		return nil, nil, local, fmt.Errorf("%w: band %d of %d", ErrBand, band, im.bands)
	}
	local = Window{X: core.X - read.X, Y: core.Y - read.Y, W: core.W, H: core.H}
	if integerFocal(im.dtype) {
		src, err = d.ReadWindow(read)
		return src, nil, local, err
	}
	if !read.In(d.Bounds()) {
		return nil, nil, local, fmt.Errorf("read window %v: %w: the image is %dx%d", read, ErrWindow, im.width, im.height)
	}
	if uint64(d.limit)/4/uint64(read.W) < uint64(read.H) {
		return nil, nil, local, fmt.Errorf("read window %v: %w: %dx%d exceeds the %d-byte decode limit", read, ErrSize, read.W, read.H, d.limit)
	}
	src = &Raster{Width: read.W, Height: read.H, Type: im.dtype, NoData: d.noData, HasNoData: d.hasNoData,
		Georef: Georef{Transform: d.georef.Transform, EPSG: d.georef.EPSG, GeoKeys: slices.Clone(d.georef.GeoKeys)}}
	if read.X != 0 || read.Y != 0 {
		src.Transform = src.Transform.Offset(float64(read.X), float64(read.Y))
	}
	b := &band32{band: band, pix: getPlane32(read.W * read.H)} // every sample is decoded
	chunks := im.chunksIn(read)
	if im.planar {
		per := im.across * im.down
		chunks = slices.DeleteFunc(chunks, func(i int) bool { return i/per != band })
	}
	err = runChunks(len(chunks), d.workers, getChunkScratch, putChunkScratch,
		func(s *chunkScratch, k int) error {
			i := chunks[k]
			return s.decode(im, i, d.offsets[i], d.counts[i], src, read, b)
		})
	if err != nil {
		putPlane32(b.pix)
		return nil, nil, local, fmt.Errorf("read window %v: %w", read, err)
	}
	plane = &focalPlane[float32]{w: read.W, h: read.H, v: b.pix}
	if src.HasNoData {
		plane.noData, plane.hasND, plane.isNaNND = float32(src.NoData), true, src.NoData != src.NoData
	}
	plane.markNoData()
	return src, plane, local, nil
}
