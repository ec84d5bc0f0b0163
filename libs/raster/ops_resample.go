package raster

import (
	"fmt"
	"math"
)

// Resampling is a resampling method, named as gdalwarp and openEO name them.
type Resampling int

// Resampling methods, computed as GDAL 3.6's gdal_translate -outsize -r
// (GDALRasterBand::RasterIO) computes them, pixel centres included.
const (
	// Nearest takes the source pixel under the destination pixel's centre.
	Nearest Resampling = iota
	// Bilinear is GDAL's bilinear: when downsampling, a tent filter
	// stretched to the ratio, so that every source pixel contributes.
	Bilinear
	// Average is the area-weighted mean of the valid source pixels under
	// the destination pixel, partly covered pixels by their covered
	// fraction.
	Average
)

var resamplingNames = [...]string{Nearest: "near", Bilinear: "bilinear", Average: "average"}

func (m Resampling) String() string {
	if m >= 0 && int(m) < len(resamplingNames) {
		return resamplingNames[m]
	}
	return fmt.Sprintf("Resampling(%d)", int(m))
}

// ParseResampling is the method named s ("near", "bilinear", "average").
func ParseResampling(s string) (Resampling, error) {
	for m, name := range resamplingNames {
		if s == name {
			return Resampling(m), nil
		}
	}
	return 0, fmt.Errorf("%w: resampling %q", ErrParam, s)
}

// Resample is src resampled to width x height pixels over the same extent,
// every band, with the geotransform scaled to match. Nodata pixels are left
// out of Bilinear and Average; a pixel is nodata only if every source pixel
// it draws on is, and nodata keeps its exact value. Values are converted to
// src's type as GDAL does (rounded for integers); an average that would
// equal the nodata value is moved off it (GDAL's replacement value).
func Resample(src *Raster, width, height int, m Resampling) (*Raster, error) {
	if width <= 0 || height <= 0 {
		return nil, fmt.Errorf("resample: %w: %dx%d", ErrSize, width, height)
	}
	if m < Nearest || m > Average {
		return nil, fmt.Errorf("resample: %w: method %v", ErrParam, m)
	}
	sx, sy := float64(src.Width)/float64(width), float64(src.Height)/float64(height)
	out := &Raster{Width: width, Height: height, Type: src.Type, Pix: make([][]float64, len(src.Pix)),
		NoData: src.NoData, HasNoData: src.HasNoData, Georef: src.georefAt(0, 0, sx, sy)}
	for b, plane := range src.Pix {
		switch m {
		case Nearest:
			out.Pix[b] = nearest(src, plane, width, height)
		case Bilinear:
			out.Pix[b] = bilinear(src, plane, width, height)
		default:
			out.Pix[b] = average(src, plane, width, height)
		}
	}
	return out, nil
}

// Overviews are src resampled by each factor (2, 4, 8, …): width/f x
// height/f pixels, rounded down and at least 1 (the COG driver's rule),
// each computed from src itself so that no error accumulates.
func Overviews(src *Raster, factors []int, m Resampling) ([]*Raster, error) {
	out := make([]*Raster, 0, len(factors))
	for _, f := range factors {
		if f < 1 {
			return nil, fmt.Errorf("overviews: %w: factor %d", ErrParam, f)
		}
		o, err := Resample(src, max(1, src.Width/f), max(1, src.Height/f), m)
		if err != nil {
			return nil, fmt.Errorf("overviews: %w", err)
		}
		out = append(out, o)
	}
	return out, nil
}

// nearest is GDAL's RasterIO nearest neighbour: the source pixel under the
// destination centre plus 1e-10, the column position accumulated step by
// step as GDAL does.
func nearest(src *Raster, plane []float64, w, h int) []float64 {
	const eps = 1e-10
	incX, incY := float64(src.Width)/float64(w), float64(src.Height)/float64(h)
	cols := make([]int, w)
	x := 0.5*incX + eps
	for i := range cols {
		cols[i] = int(math.Min(math.Max(0, x), float64(src.Width-1)))
		x += incX
	}
	out := make([]float64, w*h)
	for j := range h {
		row := int(math.Min(math.Max(0, (float64(j)+0.5)*incY+eps), float64(src.Height-1)))
		for i, c := range cols {
			out[j*w+i] = plane[row*src.Width+c]
		}
	}
	return out
}

// finish converts a resampled value to the raster's type, moving it off the
// nodata value as GDAL's average does.
func finish(src *Raster, v float64, replace bool) float64 {
	v = src.Type.Convert(v)
	if !replace || !src.HasNoData || v != src.NoData {
		return v
	}
	return noDataReplacement(src.Type, src.NoData)
}

// noDataReplacement is GDALGetNoDataReplacementValue: the closest value to
// nodata that the type holds.
func noDataReplacement(t DataType, nd float64) float64 {
	switch {
	case t.IsInteger():
		if _, hi := t.sampleRange(); nd == hi {
			return nd - 1
		}
		return nd + 1
	case t == Float32:
		if nd >= math.MaxFloat32 {
			return float64(math.Nextafter32(float32(nd), 0))
		}
		return float64(math.Nextafter32(float32(nd), math.MaxFloat32))
	case nd >= math.MaxFloat64:
		return math.Nextafter(nd, 0)
	}
	return math.Nextafter(nd, math.MaxFloat64)
}
