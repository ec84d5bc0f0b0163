package raster

import "math"

// GDAL's overview kernels (GDALResampleChunk_Convolution for bilinear,
// GDALResampleChunk_AverageOrRMS for average) as RasterIO applies them to a
// whole band. GDAL works in float32 for every type but Byte and UInt16
// (average only) and Float64, so samples and results pass through float32
// where it does.

// workFloat32 reports whether GDAL resamples type t through float32.
func workFloat32(t DataType, m Resampling) bool {
	return t != Float64 && !(m == Average && (t == Uint8 || t == Uint16))
}

// validMask is which samples of plane are not nodata; nil when all are.
func validMask(src *Raster, plane []float64) []bool {
	var mask []bool
	for i, v := range plane {
		if src.IsNoData(v) {
			if mask == nil {
				mask = make([]bool, len(plane))
				for j := range mask {
					mask[j] = true
				}
			}
			mask[i] = false
		}
	}
	return mask
}

// taps are the source pixels start.. and their weights for one destination
// pixel of a bilinear resampling along one axis.
type taps struct {
	start   int
	weights []float64
}

// bilinearTaps are GDAL's bilinear weights for resampling n source pixels
// to m: a tent of radius 1 destination pixel (at least 1 source pixel)
// around each destination centre, clipped to the raster. GDAL steps the
// filter position one pixel at a time along x and in fours along y;
// stepByFour reproduces the latter. Weights are normalised unless masked.
func bilinearTaps(n, m int, stepByFour, masked bool) []taps {
	ratio := float64(n) / float64(m)
	scale := min(1/ratio, 1)
	radius := 1 / scale
	out := make([]taps, m)
	for d := range out {
		center := (float64(d) + 0.5) * ratio
		start := max(int(math.Floor(center-radius+0.5)), 0)
		stop := min(int(center+radius+0.5), n)
		w := make([]float64, max(stop-start, 0))
		x, sum := scale*(float64(start)-center+0.5), 0.0
		for i := range w {
			pos := x
			if stepByFour && i/4*4+3 < len(w) {
				pos = x + float64(i%4)*scale
				if i%4 == 3 {
					x += 4 * scale
				}
			} else {
				x += scale
			}
			w[i] = max(1-math.Abs(pos), 0)
			sum += w[i]
		}
		if !masked && sum != 0 {
			inv := 1 / sum
			for i := range w {
				w[i] *= inv
			}
		}
		out[d] = taps{start: start, weights: w}
	}
	return out
}

// bilinear resamples one band: a horizontal pass over every source row,
// then a vertical one, each leaving out nodata by renormalising.
func bilinear(src *Raster, plane []float64, w, h int) []float64 {
	sw, sh := src.Width, src.Height
	f32 := workFloat32(src.Type, Bilinear)
	mask := validMask(src, plane)
	tx, ty := bilinearTaps(sw, w, false, mask != nil), bilinearTaps(sh, h, true, mask != nil)
	hv := make([]float64, sh*w) // horizontally filtered rows
	hm := make([]bool, sh*w)    // and whether each has a valid contribution
	for y := range sh {
		for x, t := range tx {
			var val, wsum float64
			for i, wt := range t.weights {
				k := y*sw + t.start + i
				if mask == nil || mask[k] {
					val += sample(plane[k], f32) * wt
					wsum += wt
				}
			}
			switch {
			case mask == nil:
				hv[y*w+x], hm[y*w+x] = val, true
			case wsum > 0:
				hv[y*w+x], hm[y*w+x] = val/wsum, true
			}
		}
	}
	out := make([]float64, w*h)
	for y, t := range ty {
		for x := range w {
			var val, wsum float64
			for i, wt := range t.weights {
				k := (t.start+i)*w + x
				if hm[k] {
					val += hv[k] * wt
					wsum += wt
				}
			}
			switch {
			case mask == nil:
			case wsum > 0:
				val /= wsum
			default:
				out[y*w+x] = src.NoData
				continue
			}
			out[y*w+x] = finish(src, sample(val, f32), true)
		}
	}
	return out
}

// sample rounds v to float32 when GDAL works in float32.
func sample(v float64, f32 bool) float64 {
	if f32 {
		return float64(float32(v))
	}
	return v
}

// span is the source pixels [lo, hi) under one destination pixel along one
// axis, the first and last weighted by how much of them it covers.
type span struct {
	lo, hi      int
	first, last float64
}

// averageSpans are GDAL's average windows for resampling n pixels to m.
func averageSpans(n, m int) []span {
	ratio := float64(n) / float64(m)
	out := make([]span, m)
	for d := range out {
		x0, x1 := float64(d)*ratio, float64(d+1)*ratio
		lo, hi := int(x0+1e-8), int(math.Ceil(x1-1e-8))
		if hi == lo {
			hi++
		}
		hi = min(hi, n)
		s := span{lo: lo, hi: hi, first: 1, last: 1 - (float64(hi) - x1)}
		if hi != lo+1 {
			s.first = 1 - (x0 - float64(lo))
		}
		out[d] = s
	}
	return out
}

func (s span) weight(i int) float64 {
	switch {
	case i == s.lo:
		return s.first
	case i == s.hi-1:
		return s.last
	}
	return 1
}

// average resamples one band by area-weighted means of the valid pixels.
func average(src *Raster, plane []float64, w, h int) []float64 {
	sw := src.Width
	f32 := workFloat32(src.Type, Average)
	mask := validMask(src, plane)
	sx, sy := averageSpans(sw, w), averageSpans(src.Height, h)
	// GDAL averages 2x2 blocks without weights when every column window
	// is two pixels, contiguous, and the row window is two rows.
	byTwo := mask == nil
	for i, xs := range sx {
		byTwo = byTwo && xs.hi-xs.lo == 2 && (i == 0 || sx[i-1].hi == xs.lo)
	}
	out := make([]float64, w*h)
	for y, ys := range sy {
		for x, xs := range sx {
			i := y*w + x
			if byTwo && ys.hi-ys.lo == 2 {
				out[i] = average2x2(src, plane[ys.lo*sw+xs.lo:], sw, f32, x < w&^3)
				continue
			}
			var total, weight float64
			for r := ys.lo; r < ys.hi; r++ {
				var line, lineWeight float64
				for c := xs.lo; c < xs.hi; c++ {
					if k := r*sw + c; mask == nil || mask[k] {
						line += sample(plane[k], f32) * xs.weight(c)
						lineWeight += xs.weight(c)
					}
				}
				total += line * ys.weight(r)
				weight += lineWeight * ys.weight(r)
			}
			if weight == 0 {
				out[i] = src.NoData
				continue
			}
			out[i] = finish(src, sample(total/weight, f32), true)
		}
	}
	return out
}

// average2x2 is GDAL's mean of a 2x2 block free of nodata: integer
// rounding for Byte and UInt16, float32 sums where it works in float32,
// added in the order of its SSE2 loop (which does the columns of a row up
// to the last multiple of 4) or of its scalar one.
func average2x2(src *Raster, p []float64, stride int, f32, sse bool) float64 {
	a, b, c, d := p[0], p[1], p[stride], p[stride+1]
	switch {
	case !f32 && src.Type != Float64:
		return math.Floor((a + b + c + d + 2) / 4)
	case f32 && sse:
		return finish(src, float64(0.25*((float32(a)+float32(c))+(float32(b)+float32(d)))), true)
	case f32:
		return finish(src, float64(0.25*(float32(a)+float32(b)+float32(c)+float32(d))), true)
	}
	return finish(src, 0.25*(a+b+c+d), true)
}
