package raster

import (
	"bytes"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// codecTypes are the sample types the codec supports.
var codecTypes = []DataType{Uint8, Uint16, Int16, Int32, Float32, Float64}

// testNoData is a nodata value typical of each type.
func testNoData(t DataType) float64 {
	switch t {
	case Uint8:
		return 0
	case Uint16:
		return 65535
	case Int16:
		return -32768
	case Int32:
		return -9999
	case Float32:
		return -math.MaxFloat32
	}
	return math.NaN()
}

// nanNoData makes NaN the nodata of r (a float raster): its nodata samples
// become NaN.
func nanNoData(r *Raster) {
	for _, p := range r.Pix {
		for j, v := range p {
			if v == r.NoData {
				p[j] = math.NaN()
			}
		}
	}
	r.NoData = math.NaN()
}

// randomRaster is a seeded raster of w x h with the given bands: smooth
// ramps plus noise over the type's whole range (so that predictors wrap),
// about 5% nodata, a georeference and an EPSG code.
func randomRaster(seed uint64, w, h, bands int, typ DataType) *Raster {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	r := &Raster{Width: w, Height: h, Type: typ, NoData: testNoData(typ), HasNoData: true}
	lo, hi := 0.0, 255.0
	switch typ {
	case Uint16:
		hi = 65535
	case Int16:
		lo, hi = -32768, 32767
	case Int32:
		lo, hi = math.MinInt32, math.MaxInt32
	case Float32, Float64:
		lo, hi = -1e6, 1e6
	}
	for b := range bands {
		p := make([]float64, w*h)
		for i := range p {
			x, y := i%w, i/w
			v := lo + (hi-lo)*(0.5+0.4*math.Sin(float64(x+3*b)/7)*math.Cos(float64(y)/5)) + rng.NormFloat64()*(hi-lo)/100
			switch {
			case rng.IntN(20) == 0:
				v = r.NoData
			case rng.IntN(50) == 0:
				v = hi // extremes exercise clamping and wrap-around
			case rng.IntN(50) == 0:
				v = lo
			}
			p[i] = typ.Convert(v)
		}
		r.Pix = append(r.Pix, p)
	}
	r.Transform = GeoTransform{452475, 30, 0, 3408645, 0, -30}
	r.EPSG = 32616
	return r
}

// encodeBytes encodes r with opts into memory.
func encodeBytes(t testing.TB, r *Raster, opts EncodeOptions) []byte {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, Encode(&buf, r, opts))
	return buf.Bytes()
}

// decodeBytes decodes an in-memory file.
func decodeBytes(b []byte, opts ...DecodeOption) (*Raster, error) {
	return Decode(bytes.NewReader(b), int64(len(b)), opts...)
}

// requireSamePixels asserts that two rasters hold the same samples, NaN
// matching NaN.
func requireSamePixels(t testing.TB, want, got *Raster) {
	t.Helper()
	require.Equal(t, want.Width, got.Width, "width")
	require.Equal(t, want.Height, got.Height, "height")
	require.Equal(t, want.Bands(), got.Bands(), "bands")
	for b := range want.Pix {
		for i, v := range want.Pix[b] {
			g := got.Pix[b][i]
			if v != g && !(math.IsNaN(v) && math.IsNaN(g)) {
				require.Failf(t, "pixel differs", "band %d (%d,%d): want %v, got %v", b, i%want.Width, i/want.Width, v, g)
			}
		}
	}
}

// sameSample reports a == b, NaN matching NaN.
func sameSample(a, b float64) bool { return a == b || (math.IsNaN(a) && math.IsNaN(b)) }

var (
	posInf = math.Inf(1)
	negInf = math.Inf(-1)
)

// bytesReader is an io.ReaderAt over b.
func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }

// cropPixels copies the w x h pixels of r at (x0, y0).
func cropPixels(r *Raster, x0, y0, w, h int) *Raster {
	out := &Raster{Width: w, Height: h, Type: r.Type}
	for _, p := range r.Pix {
		q := make([]float64, 0, w*h)
		for y := y0; y < y0+h; y++ {
			q = append(q, p[y*r.Width+x0:y*r.Width+x0+w]...)
		}
		out.Pix = append(out.Pix, q)
	}
	return out
}
