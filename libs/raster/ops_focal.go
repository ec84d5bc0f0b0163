package raster

import "math"

// The 3x3 moving window of gdaldem (GDALGeneric3x3Processing in GDAL 3.6),
// reproduced so that results match it bit for bit:
//
//   - Byte, UInt16 and Int16 bands are processed as int32, every other type
//     as float32 (a Float64 DEM is rounded to single precision, as gdaldem
//     reads it), and each algorithm does its sums in that type.
//   - The window is numbered 0 1 2 / 3 4 5 / 6 7 8, the pixel at 4.
//   - A pixel whose window contains nodata is nodata; with edges, a nodata
//     neighbour takes the centre's value instead (a nodata centre is always
//     nodata).
//   - Without edges the outermost rows and columns are nodata. With edges
//     (-compute_edges) the missing neighbours are extrapolated as 2a-b from
//     the two nearest pixels in line with them; at the corners the missing
//     column is the edge column repeated, as GDAL does.
//
// The raster given to a focal operation is the whole world: its first and
// last rows and columns are the edges. Tiles get real neighbours by being
// cropped with a halo (see Tiles).

// focalSample is the type gdaldem computes a window in.
type focalSample interface{ ~int32 | ~float32 }

// focalAlg computes a run of output pixels free of nodata: out[i] from the
// window made of columns i, i+1, i+2 of the rows r0 (above), r1 and r2
// (below), which are len(out)+2 long. A single window is a run of one.
type focalAlg[T focalSample] func(r0, r1, r2 []T, out []float32)

// focalPlane is one band of a raster in the type gdaldem computes it in.
type focalPlane[T focalSample] struct {
	w, h    int
	v       []T
	noData  T
	hasND   bool // the band has a nodata value gdaldem recognises
	isNaNND bool
	nd      []bool // which samples are nodata; nil when none is
	rowND   []bool // which rows have a nodata sample
}

// integerFocal reports whether gdaldem processes samples of type t as
// integers.
func integerFocal(t DataType) bool { return t == Uint8 || t == Uint16 || t == Int16 }

// newIntPlane converts band b of r for integer processing. As in gdaldem,
// a nodata value that is not (nearly) an integer of the type is ignored.
func newIntPlane(r *Raster, b int) *focalPlane[int32] {
	p := &focalPlane[int32]{w: r.Width, h: r.Height, v: make([]int32, len(r.Pix[b]))}
	for i, v := range r.Pix[b] {
		p.v[i] = int32(v)
	}
	if r.HasNoData {
		nd := r.NoData
		lo, hi := r.Type.sampleRange()
		if math.Abs(nd-math.Floor(nd+0.5)) < 1e-2 && nd >= lo && nd <= hi {
			p.noData, p.hasND = int32(math.Floor(nd+0.5)), true
		}
	}
	p.markNoData()
	return p
}

// newFloatPlane converts band b of r for float32 processing.
func newFloatPlane(r *Raster, b int) *focalPlane[float32] {
	p := &focalPlane[float32]{w: r.Width, h: r.Height, v: make([]float32, len(r.Pix[b]))}
	for i, v := range r.Pix[b] {
		p.v[i] = float32(v)
	}
	if r.HasNoData {
		p.noData, p.hasND, p.isNaNND = float32(r.NoData), true, math.IsNaN(r.NoData)
	}
	p.markNoData()
	return p
}

// markNoData fills p.nd.
func (p *focalPlane[T]) markNoData() {
	if !p.hasND {
		return
	}
	if vs, ok := any(p.v).([]float32); ok && !p.isNaNND {
		// isNoData for floats, its type switch out of the loop.
		nd := any(p.noData).(float32)
		ndSign := math.Float32bits(nd) >> 31
		for i, f := range vs {
			switch {
			case f == nd:
				p.mark(i)
			case math.Float32bits(f)>>31 != ndSign:
				// Opposite signs: |f-nd| >= |f+nd|, so the test below
				// is false (and false for NaN).
			case float32(math.Abs(float64(f-nd))) < float32(1.1920929e-07)*float32(math.Abs(float64(f+nd)))*2:
				p.mark(i)
			}
		}
		return
	}
	for i, v := range p.v {
		if p.isNoData(v) {
			p.mark(i)
		}
	}
}

// mark records sample i as nodata.
func (p *focalPlane[T]) mark(i int) {
	if p.nd == nil {
		p.nd, p.rowND = make([]bool, len(p.v)), make([]bool, p.h)
	}
	p.nd[i] = true
	p.rowND[i/p.w] = true
}

// isNoData is gdaldem's test: NaN for a NaN nodata, otherwise equality
// within 2 float32 ulps (ARE_REAL_EQUAL) for floats, exact for integers.
func (p *focalPlane[T]) isNoData(v T) bool {
	if !p.hasND {
		return false
	}
	if p.isNaNND {
		return v != v
	}
	if v == p.noData {
		return true
	}
	if f, ok := any(v).(float32); ok {
		nd := float32(p.noData)
		return float32(math.Abs(float64(f-nd))) < float32(1.1920929e-07)*float32(math.Abs(float64(f+nd)))*2
	}
	return false
}

// interpol extrapolates the neighbour beyond a from a and b (GDAL's
// INTERPOL): nodata if either is, and for integers never the nodata value.
func (p *focalPlane[T]) interpol(a, b T) T {
	if p.hasND && (p.isNoData(a) || p.isNoData(b)) {
		return p.noData
	}
	v := 2*a - b
	if _, isInt := any(v).(int32); isInt && p.hasND && v == p.noData {
		v++
	}
	return v
}

// run computes alg over win of p into dst (row-major, win.W wide); pixels
// that get no value are set to dstNoData.
func (p *focalPlane[T]) run(win Window, edges bool, dstNoData float32, alg focalAlg[T], dst []float32) {
	var w [9]T
	// Interior columns: the window does not cross the left or right edge.
	x0, x1 := max(win.X, 1), min(win.X+win.W, p.w-1)
	for y := win.Y; y < win.Y+win.H; y++ {
		out := dst[(y-win.Y)*win.W : (y-win.Y+1)*win.W]
		interiorRow := y > 0 && y < p.h-1
		switch {
		case p.w < 2 || p.h < 2 || !interiorRow && !edges:
			fillF32(out, dstNoData)
			continue
		case !interiorRow:
			for x := win.X; x < win.X+win.W; x++ {
				out[x-win.X] = p.edgePixel(x, y, dstNoData, alg, &w)
			}
			continue
		case x0 >= x1:
		case p.nd == nil || !p.rowND[y-1] && !p.rowND[y] && !p.rowND[y+1]:
			r := p.v[(y-1)*p.w : (y+2)*p.w]
			alg(r[x0-1:x1+1], r[p.w+x0-1:p.w+x1+1], r[2*p.w+x0-1:2*p.w+x1+1], out[x0-win.X:x1-win.X])
		default:
			p.rowWithNoData(y, x0, x1, edges, dstNoData, alg, out[x0-win.X:x1-win.X], &w)
		}
		for _, x := range [2]int{0, p.w - 1} { // the edge columns in win
			if x >= win.X && x < win.X+win.W {
				out[x-win.X] = dstNoData
				if edges {
					out[x-win.X] = p.edgePixel(x, y, dstNoData, alg, &w)
				}
			}
		}
	}
}

func fillF32(s []float32, v float32) {
	for i := range s {
		s[i] = v
	}
}

// one computes alg on the single window w.
func focalOne[T focalSample](alg focalAlg[T], w *[9]T) float32 {
	var out [1]float32
	alg(w[0:3], w[3:6], w[6:9], out[:])
	return out[0]
}

// rowWithNoData computes columns x0..x1-1 (off the edges) of row y, which
// is off the edges and has nodata in its window rows, into out: runs of
// windows free of nodata together, the others one by one.
func (p *focalPlane[T]) rowWithNoData(y, x0, x1 int, edges bool, dstNoData float32, alg focalAlg[T], out []float32, w *[9]T) {
	up, mid, down := p.v[(y-1)*p.w:y*p.w], p.v[y*p.w:(y+1)*p.w], p.v[(y+1)*p.w:(y+2)*p.w]
	bad := func(x int) bool { // column x of the three rows has nodata
		return p.nd[(y-1)*p.w+x] || p.nd[y*p.w+x] || p.nd[(y+1)*p.w+x]
	}
	for x := x0; x < x1; {
		if bad(x-1) || bad(x) || bad(x+1) {
			out[x-x0] = p.interiorWithNoData(x, y, edges, dstNoData, alg, w)
			x++
			continue
		}
		end := x + 1 // the window at end is clean if column end+1 is
		for end < x1 && !bad(end+1) {
			end++
		}
		alg(up[x-1:end+1], mid[x-1:end+1], down[x-1:end+1], out[x-x0:end-x0])
		x = end
	}
}

// interiorWithNoData computes a pixel off the raster's edge when its rows
// have nodata.
func (p *focalPlane[T]) interiorWithNoData(x, y int, edges bool, dstNoData float32, alg focalAlg[T], w *[9]T) float32 {
	var idx [9]int
	bad := false
	for k := range w {
		idx[k] = (y+k/3-1)*p.w + x + k%3 - 1
		w[k] = p.v[idx[k]]
		bad = bad || p.nd[idx[k]]
	}
	if bad {
		if p.nd[idx[4]] || !edges {
			return dstNoData
		}
		for k := range w {
			if p.nd[idx[k]] {
				w[k] = w[4]
			}
		}
	}
	return focalOne(alg, w)
}

// edgePixel computes a pixel on the edge of a raster at least 2x2 as
// gdaldem -compute_edges does.
func (p *focalPlane[T]) edgePixel(x, y int, dstNoData float32, alg focalAlg[T], w *[9]T) float32 {
	*w = p.edgeWindow(x, y)
	if p.hasND {
		if p.isNoData(w[4]) {
			return dstNoData
		}
		for k := range w {
			if p.isNoData(w[k]) {
				w[k] = w[4]
			}
		}
	}
	return focalOne(alg, w)
}

// edgeWindow builds the window of a pixel on the raster's edge as gdaldem
// -compute_edges does.
func (p *focalPlane[T]) edgeWindow(x, y int) [9]T {
	at := func(col, row int) T { return p.v[row*p.w+col] }
	xl, xr := max(x-1, 0), min(x+1, p.w-1)
	switch y {
	case 0: // first row: the row above is extrapolated, corners repeat
		return [9]T{
			p.interpol(at(xl, 0), at(xl, 1)), p.interpol(at(x, 0), at(x, 1)), p.interpol(at(xr, 0), at(xr, 1)),
			at(xl, 0), at(x, 0), at(xr, 0),
			at(xl, 1), at(x, 1), at(xr, 1)}
	case p.h - 1: // last row: the row below is extrapolated, corners repeat
		u, c := y-1, y
		return [9]T{
			at(xl, u), at(x, u), at(xr, u),
			at(xl, c), at(x, c), at(xr, c),
			p.interpol(at(xl, c), at(xl, u)), p.interpol(at(x, c), at(x, u)), p.interpol(at(xr, c), at(xr, u))}
	}
	var w [9]T
	for i, row := range [3]int{y - 1, y, y + 1} {
		if x == 0 { // first column: the column to the left is extrapolated
			w[3*i], w[3*i+1], w[3*i+2] = p.interpol(at(0, row), at(1, row)), at(0, row), at(1, row)
		} else { // last column: the column to the right is extrapolated
			w[3*i], w[3*i+1], w[3*i+2] = at(x-1, row), at(x, row), p.interpol(at(x, row), at(x-1, row))
		}
	}
	return w
}
