package raster

import (
	"fmt"
	"runtime"
)

// A Byte raster whose samples are all whole numbers 0–255 (a hillshade, a
// classification) is stored as it is: packing it is a copy, and its
// overviews can be computed on the bytes with integer arithmetic that
// gives what the float64 path (halveRow, then quantize) gives, to the bit.
// EncodeCOG and EncodeCOGPart take that path when byteSamples proves it
// applies, converting and checking the samples in one pass.

// byteSamples is the samples of r as bytes when r is a Uint8 raster whose
// every sample, nodata included, is a whole number 0–255: exactly what
// packSamples writes, and r's samples as stored (storedSamples(r) is r).
// Otherwise it is nil.
func byteSamples(r *Raster) [][]uint8 {
	if r.Type != Uint8 {
		return nil
	}
	out := make([][]uint8, len(r.Pix))
	for b, p := range r.Pix {
		out[b] = make([]uint8, len(p))
		if !toBytes(out[b], p) {
			return nil
		}
	}
	return out
}

// toBytes converts src to dst, reporting whether every sample was a whole
// number 0–255 (dst is then complete).
func toBytes(dst []uint8, src []float64) bool {
	dst = dst[:len(src)]
	for i, v := range src {
		u := int(v)
		if float64(u) != v || uint(u) > 255 {
			return false
		}
		dst[i] = uint8(u)
	}
	return true
}

// byteNoData is the nodata of a Byte raster as a sample, or -1 when no
// sample can be nodata (none, or a value no byte equals). With it comes the
// value an average equal to nodata moves to (noDataReplacement).
func byteNoData(r *Raster) (nd, replacement int) {
	v := r.NoData
	if !r.HasNoData || !(v >= 0 && v <= 255) || v != float64(int(v)) {
		return -1, -1
	}
	return int(v), int(noDataReplacement(Uint8, v))
}

// byteHalvable reports whether the overview of r exactly half its size
// can be computed on bytes: unless r's nodata is a fraction 0–255, which
// an average may equal, and which quantize then keeps unrounded.
func byteHalvable(r *Raster) bool {
	v := r.NoData
	return !r.HasNoData || !(v > 0 && v < 255) || v == float64(int(v))
}

// byteOverview is the overview of the Byte raster src, whose samples as
// bytes are planes, exactly half its size (src.Width == 2*w, src.Height ==
// 2*h): what cogDownsample then quantize compute of it, as bytes. The
// raster returned describes the overview (size, type, nodata) and has one
// nil plane per band: its samples are only the bytes.
func byteOverview(src *Raster, planes [][]uint8, w, h int, nearest bool) (*Raster, [][]uint8) {
	out := &Raster{Width: w, Height: h, Type: Uint8, NoData: src.NoData, HasNoData: src.HasNoData,
		Pix: make([][]float64, len(planes))}
	nd, rep := byteNoData(src)
	q := make([][]uint8, len(planes))
	for b, p := range planes {
		q[b] = make([]uint8, w*h)
		// Rows are independent: GOMAXPROCS goroutines take bands of 64.
		_ = runChunks((h+63)/64, runtime.GOMAXPROCS(0), func() struct{} { return struct{}{} }, func(struct{}) {}, func(_ struct{}, k int) error {
			for j := 64 * k; j < min(64*(k+1), h); j++ {
				r0, r1, dst := p[2*j*src.Width:(2*j+1)*src.Width], p[(2*j+1)*src.Width:(2*j+2)*src.Width], q[b][j*w:(j+1)*w]
				switch {
				case nearest: // the pixel under the centre: the lower right one
					for i := range dst {
						dst[i] = r1[2*i+1]
					}
				case nd < 0:
					halveBytes(dst, r0, r1)
				default:
					halveBytesNoData(dst, r0, r1, nd, rep)
				}
			}
			return nil
		})
	}
	return out, q
}

// halveBytes is halveRow of two rows of bytes free of nodata, quantized:
// the mean of four bytes rounded half up (the sum over 4 is exact).
func halveBytes(dst, r0, r1 []uint8) {
	r0, r1 = r0[:2*len(dst)], r1[:2*len(dst)]
	for i := range dst {
		t := uint(r0[2*i]) + uint(r0[2*i+1]) + uint(r1[2*i]) + uint(r1[2*i+1])
		dst[i] = uint8((t + 2) >> 2)
	}
}

// halveBytesNoData is halveRow of two rows of bytes with nodata nd,
// quantized: the mean of the n valid bytes rounded half up, which
// (2t+n)/(2n) computes exactly (an integer sum over 1, 2 or 4 is exact in
// float64, and over 3 never ends in .5); nodata where none is valid, and a
// mean equal to nodata moves to rep.
func halveBytesNoData(dst, r0, r1 []uint8, nd, rep int) {
	r0, r1 = r0[:2*len(dst)], r1[:2*len(dst)]
	b := uint8(nd)
	for i := range dst {
		a0, a1, a2, a3 := r0[2*i], r0[2*i+1], r1[2*i], r1[2*i+1]
		var m uint
		if a0 != b && a1 != b && a2 != b && a3 != b { // the common case
			m = (uint(a0) + uint(a1) + uint(a2) + uint(a3) + 2) >> 2
		} else {
			t, n := uint(0), uint(0)
			for _, v := range [4]uint8{a0, a1, a2, a3} {
				if v != b {
					t += uint(v)
					n++
				}
			}
			if n == 0 {
				dst[i] = b
				continue
			}
			m = (2*t + n) / (2 * n)
		}
		if m == uint(nd) {
			m = uint(rep)
		}
		dst[i] = uint8(m)
	}
}

// overviewImages appends to images the overviews of r at sizes, largest
// first, each computed from the level above it. planes are r's samples as
// bytes (byteSamples) or nil; levels exactly half the level above are then
// computed on bytes, and the first that is not from the level's samples as
// float64. what names the levels in errors ("overview", "part overview").
func (o COGOptions) overviewImages(images []*outImage, r *Raster, planes [][]uint8, sizes []OverviewSize, what string) ([]*outImage, error) {
	prev := r
	for _, s := range sizes {
		if planes != nil && o.Downsample == nil && prev.Width == 2*s.Width && prev.Height == 2*s.Height && byteHalvable(prev) {
			next, q := byteOverview(prev, planes, s.Width, s.Height, o.Resampling == "nearest")
			img := newOutImage(next, o.EncodeOptions, true)
			img.u8 = q
			images = append(images, img)
			prev, planes = next, q
			continue
		}
		// An overview, or a raster, held only as bytes gets its float64
		// samples.
		for b, p := range planes {
			if prev.Pix[b] != nil {
				continue
			}
			f := make([]float64, len(p))
			for i, v := range p {
				f[i] = float64(v)
			}
			prev.Pix[b] = f
		}
		planes = nil
		next, err := o.downsample(prev, s.Width, s.Height)
		if err != nil {
			return nil, fmt.Errorf("%s %dx%d: %w", what, s.Width, s.Height, err)
		}
		images = append(images, newOutImage(next, o.EncodeOptions, true))
		prev = next
	}
	return images, nil
}
