package raster

import (
	"errors"
	"fmt"
	"io"
	"slices"
)

// COGOptions say how EncodeCOG writes a Cloud-Optimized GeoTIFF.
type COGOptions struct {
	// EncodeOptions as for Encode, except: the file is always tiled;
	// TileSize defaults to 512 (GDAL's COG BLOCKSIZE); Compression defaults
	// to Deflate; Predictor defaults, when compressed, to horizontal for
	// integer samples and floating point for floats (PredictorNone and
	// CompressionNone turn them off).
	EncodeOptions
	// Resampling builds each overview from the level above it, as GDAL
	// 3.6 does: "average" (the default, for continuous data; the mean of the
	// valid pixels weighted by their area inside the overview pixel, nodata
	// only where all are nodata) or "nearest" ("near", for categorical
	// data). GDAL's names.
	Resampling string
	// OverviewCount is the number of overviews: 0 follows GDAL's COG driver
	// (halve with floor(N/2^k) until the overview fits one tile), -1 writes
	// none, n > 0 exactly n (fewer if the image shrinks to 1x1 pixel first).
	OverviewCount int
	// Downsample, when set, replaces Resampling: it returns src reduced to
	// width x height with the same bands (e.g. a fuller resampler).
	Downsample func(src *Raster, width, height int) (*Raster, error)
	// NoGhostArea leaves out GDAL's structural metadata block and the size
	// before and copy of the last 4 bytes after each tile that it promises.
	// With it (the default) gdalinfo reports LAYOUT=COG like for GDAL's own
	// COGs; both pass GDAL's COG validator.
	NoGhostArea bool
}

// resolve checks the options and fills in defaults for samples of type t.
func (o COGOptions) resolve(t DataType) (COGOptions, error) {
	var errs []error
	o.Tiled = true
	if o.TileSize == 0 {
		o.TileSize = 512
	}
	if o.Compression == 0 {
		o.Compression = CompressionDeflate
	}
	if o.Predictor == 0 && o.Compression != CompressionNone {
		o.Predictor = PredictorHorizontal
		if isFloat(t) {
			o.Predictor = PredictorFloat
		}
	}
	var err error
	if o.EncodeOptions, err = o.EncodeOptions.resolve(t); err != nil {
		errs = append(errs, err)
	}
	switch o.Resampling {
	case "", "average":
		o.Resampling = "average"
	case "nearest", "near":
		o.Resampling = "nearest"
	default:
		errs = append(errs, fmt.Errorf("%w: resampling %q is not average or nearest", ErrCodecOption, o.Resampling))
	}
	if o.OverviewCount < -1 {
		errs = append(errs, fmt.Errorf("%w: overview count %d", ErrCodecOption, o.OverviewCount))
	}
	return o, errors.Join(errs...)
}

// overviewSizes are the sizes of the overviews of a w x h image, largest
// first: floor(N/2^k), as GDAL's COG driver.
func (o COGOptions) overviewSizes(w, h int) []OverviewSize {
	var out []OverviewSize
	for k := 1; ; k++ {
		switch {
		case o.OverviewCount == -1:
			return out
		case o.OverviewCount > 0 && len(out) == o.OverviewCount:
			return out
		case o.OverviewCount == 0 && w>>(k-1) <= o.TileSize && h>>(k-1) <= o.TileSize:
			return out
		case w>>(k-1) <= 1 && h>>(k-1) <= 1:
			return out
		}
		out = append(out, OverviewSize{max(1, w>>k), max(1, h>>k)})
	}
}

// EncodeCOG writes r as a Cloud-Optimized GeoTIFF the way GDAL's COG driver
// lays it out: tiled, with internal overviews, every IFD (full resolution
// first, then the overviews by decreasing size) before any image data, and
// the data of the smallest overview first and of the full resolution last,
// tiles in row-major order, so that a reader finds all the structure in one
// range read of the head of the file.
func EncodeCOG(w io.Writer, r *Raster, opts COGOptions) error {
	if err := checkRaster(r); err != nil {
		return err
	}
	o, err := opts.resolve(r.Type)
	if err != nil {
		return err
	}
	images := []*outImage{newOutImage(r, o.EncodeOptions, false)}
	images[0].u8 = byteSamples(r)
	if images, err = o.overviewImages(images, r, images[0].u8, o.overviewSizes(r.Width, r.Height), "overview"); err != nil {
		return err
	}
	if err := compressImages(images, o.EncodeOptions); err != nil {
		return err
	}
	return writeTIFF(w, images, o.EncodeOptions, !o.NoGhostArea)
}

// WriteCOGFile writes r as a Cloud-Optimized GeoTIFF at path, atomically.
func WriteCOGFile(path string, r *Raster, opts COGOptions) error {
	return writeFileAtomic(path, func(w io.Writer) error { return EncodeCOG(w, r, opts) })
}

// downsample builds one overview level from the one above, holding the
// samples as they are stored, so that the next level is computed from them
// as GDAL computes it.
func (o COGOptions) downsample(src *Raster, w, h int) (*Raster, error) {
	if o.Downsample == nil {
		return quantize(cogDownsample(src, w, h, o.Resampling == "nearest")), nil
	}
	out, err := o.Downsample(src, w, h)
	if err != nil {
		return nil, err
	}
	if out == nil || out.Width != w || out.Height != h || out.Bands() != src.Bands() {
		return nil, fmt.Errorf("%w: Downsample returned the wrong size", ErrSize)
	}
	if err := checkRaster(out); err != nil {
		return nil, err
	}
	// The overview keeps the file's sample type and nodata.
	ovr := &Raster{Width: w, Height: h, Type: src.Type, NoData: src.NoData, HasNoData: src.HasNoData}
	for _, p := range out.Pix {
		ovr.Pix = append(ovr.Pix, slices.Clone(p))
	}
	return quantize(ovr), nil
}

// quantize rounds r's samples, nodata aside, to what r.Type stores.
func quantize(r *Raster) *Raster {
	for _, p := range r.Pix {
		for i, v := range p {
			if !r.IsNoData(v) {
				p[i] = r.Type.Convert(v)
			}
		}
	}
	return r
}
