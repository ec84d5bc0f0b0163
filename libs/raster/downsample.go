package raster

import (
	"math"
	"runtime"
)

// cogDownsample reduces src to w x h for an overview the way GDAL 3.6
// computes overviews. Average weighs each source pixel by the part of it
// inside the destination pixel (the plain mean of 2x2 blocks when the size
// halves exactly), over valid samples only (not nodata, not NaN); it gives
// nodata only where no sample is valid, and an average that happens to
// equal nodata moves to the next value. Nearest takes the sample under the
// destination pixel's centre. The result keeps src's type and nodata but no
// georeferencing (overview IFDs carry none).
func cogDownsample(src *Raster, w, h int, nearest bool) *Raster {
	return downsampleWith(src, w, h, nearest, !nearest && src.Width == 2*w && src.Height == 2*h)
}

// downsampleWith is cogDownsample; halve computes an exact halving by
// averages with halveRow, the same arithmetic without the windows.
func downsampleWith(src *Raster, w, h int, nearest, halve bool) *Raster {
	out := &Raster{Width: w, Height: h, Type: src.Type, NoData: src.NoData, HasNoData: src.HasNoData}
	xs, ys := axisWindows(w, src.Width), axisWindows(h, src.Height)
	empty := math.NaN()
	if src.HasNoData {
		empty = src.NoData
	}
	for _, p := range src.Pix {
		q := make([]float64, w*h)
		// Rows are independent: GOMAXPROCS goroutines take bands of 64.
		bands := (h + 63) / 64
		_ = runChunks(bands, runtime.GOMAXPROCS(0), func() struct{} { return struct{}{} }, func(struct{}) {}, func(_ struct{}, k int) error {
			j0, j1 := 64*k, min(64*(k+1), h)
			for j := j0; j < j1; j++ {
				if halve {
					halveRow(q[j*w:(j+1)*w], p[2*j*src.Width:], p[(2*j+1)*src.Width:], src, empty)
					continue
				}
				wy := ys[j]
				for i, wx := range xs {
					if nearest {
						q[j*w+i] = p[wy.centre*src.Width+wx.centre]
						continue
					}
					total, weight := 0.0, 0.0
					for y := wy.first; y < wy.last; y++ {
						line, lineWeight := wx.sum(p[y*src.Width:], src)
						fy := wy.weight(y)
						total += line * fy
						weight += lineWeight * fy
					}
					switch v := total / weight; {
					case weight == 0:
						q[j*w+i] = empty
					case src.HasNoData && src.Type.Convert(v) == src.NoData:
						q[j*w+i] = noDataReplacement(src.Type, src.NoData)
					default:
						q[j*w+i] = v
					}
				}
			}
			return nil
		})
		out.Pix = append(out.Pix, q)
	}
	return out
}

// axisWindow is the run [first, last) of source pixels one destination
// pixel covers along an axis: the first weighs firstW, the last lastW (the
// parts of them inside), those between 1.
type axisWindow struct {
	first, last   int
	firstW, lastW float64
	centre        int // the source pixel under the destination pixel's centre
}

// axisWindows maps n destination pixels onto size source pixels with GDAL's
// arithmetic (an epsilon of 1e-8 keeps rounding noise from adding a pixel).
func axisWindows(n, size int) []axisWindow {
	ratio := float64(size) / float64(n)
	out := make([]axisWindow, n)
	for i := range out {
		lo, hi := float64(i)*ratio, float64(i+1)*ratio
		a := axisWindow{first: int(lo + 1e-8), last: int(math.Ceil(hi - 1e-8))}
		if a.last == a.first {
			a.last++
		}
		a.last = min(a.last, size)
		a.firstW, a.lastW = 1-(lo-float64(a.first)), 1-(float64(a.last)-hi)
		if a.last == a.first+1 {
			a.firstW = 1
		}
		a.centre = min(int((float64(i)+0.5)*ratio), size-1)
		out[i] = a
	}
	return out
}

// weight is the weight of source pixel k of the window.
func (a axisWindow) weight(k int) float64 {
	switch k {
	case a.first:
		return a.firstW
	case a.last - 1:
		return a.lastW
	}
	return 1
}

// sum adds the valid samples of the window in row, weighted, in GDAL's
// order (first, middle, last), and their weights.
func (a axisWindow) sum(row []float64, src *Raster) (total, weight float64) {
	for k := a.first; k < a.last; k++ {
		v := row[k]
		if math.IsNaN(v) || src.IsNoData(v) {
			continue
		}
		f := a.weight(k)
		total += v * f
		weight += f
	}
	return total, weight
}

// halveRow computes one row of an overview half the size of src from its
// two source rows r0 and r1: what the windows of axisWindows compute when
// the ratio is exactly 2 (every weight 1), in the same order of operations
// (each row's valid samples summed from 0, then the rows' sums added to 0
// in turn), so that the result is the same to the bit, -0 and NaN
// included.
func halveRow(q, r0, r1 []float64, src *Raster, empty float64) {
	nd, hasND := src.NoData, src.HasNoData
	lo, hi := src.Type.sampleRange()
	valid := func(v float64) bool { return v == v && !(hasND && v == nd) }
	for i := range q {
		a, b, c, d := r0[2*i], r0[2*i+1], r1[2*i], r1[2*i+1]
		line0, w0, line1, w1 := 0.0, 0.0, 0.0, 0.0
		if valid(a) {
			line0 += a
			w0++
		}
		if valid(b) {
			line0 += b
			w0++
		}
		if valid(c) {
			line1 += c
			w1++
		}
		if valid(d) {
			line1 += d
			w1++
		}
		total, weight := 0.0, 0.0
		total += line0
		weight += w0
		total += line1
		weight += w1
		switch v := total / weight; {
		case weight == 0:
			q[i] = empty
		case hasND && mayStoreAs(v, nd, lo, hi) && src.Type.Convert(v) == nd:
			q[i] = noDataReplacement(src.Type, nd)
		default:
			q[i] = v
		}
	}
}

// mayStoreAs reports whether v may be stored as the sample nd by a type
// holding lo to hi, cheaply and never wrongly false: v is clamped or
// overflows single precision, or lies within 1 of nd plus the rounding of
// single precision. The exact test (DataType.Convert) follows.
func mayStoreAs(v, nd, lo, hi float64) bool {
	av := math.Abs(v)
	if d := math.Abs(v - nd); d <= 1+(av+math.Abs(nd))*0x1p-22 || d > math.MaxFloat64 {
		return true // near nd, or nd is infinite (v too, or NaN: Convert decides)
	}
	return v < lo || v > hi || !(av <= math.MaxFloat32)
}
