package raster

import (
	"bytes"
	"io"
	"math"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// demLike is a 2048x2048 float32 DEM-like raster: smooth terrain with
// noise, as a real elevation model compresses.
func demLike() *Raster {
	const n = 2048
	r := &Raster{Width: n, Height: n, Type: Float32, NoData: -9999, HasNoData: true,
		Georef: Georef{Transform: GeoTransform{-107, 1.0 / 3600, 0, 39, 0, -1.0 / 3600}, EPSG: 4269}}
	p := make([]float64, n*n)
	for y := range n {
		for x := range n {
			v := 3000 + 400*math.Sin(float64(x)/97)*math.Cos(float64(y)/131) + 30*math.Sin(float64(x*y)/5000)
			p[y*n+x] = float64(float32(v))
		}
	}
	r.Pix = [][]float64{p}
	return r
}

var demLZW = EncodeOptions{Tiled: true, Compression: CompressionLZW, Predictor: PredictorFloat}

func BenchmarkEncodeDEMLZWFloatPredictor(b *testing.B) {
	r := demLike()
	b.SetBytes(int64(r.Width * r.Height * 4))
	for b.Loop() {
		require.NoError(b, Encode(io.Discard, r, demLZW))
	}
}

func BenchmarkDecodeDEMLZWFloatPredictor(b *testing.B) {
	var buf bytes.Buffer
	require.NoError(b, Encode(&buf, demLike(), demLZW))
	file := buf.Bytes()
	b.SetBytes(2048 * 2048 * 4)
	for b.Loop() {
		_, err := decodeBytes(file)
		require.NoError(b, err)
	}
}

func BenchmarkEncodeCOGDEMDeflate(b *testing.B) {
	r := demLike()
	b.SetBytes(int64(r.Width * r.Height * 4))
	for b.Loop() {
		require.NoError(b, EncodeCOG(io.Discard, r, COGOptions{}))
	}
}

// TestCodecLeavesNoGoroutines encodes and decodes in parallel and checks
// that no goroutine outlives the calls.
func TestCodecLeavesNoGoroutines(t *testing.T) {
	defer goleak.VerifyNone(t)
	r := randomRaster(8, 300, 200, 2, Float32)
	for _, c := range []Compression{CompressionLZW, CompressionDeflate, CompressionZSTD} {
		file := encodeBytes(t, r, EncodeOptions{Tiled: true, TileSize: 64, Compression: c, Concurrency: 4})
		got, err := decodeBytes(file, ReadConcurrency(4))
		require.NoError(t, err)
		requireSamePixels(t, r, got)
	}
}

// demLZWNoPredictor is the hillshade DEM's layout: 256 px tiles, LZW
// without a predictor.
var demLZWNoPredictor = EncodeOptions{Tiled: true, Compression: CompressionLZW}

func BenchmarkDecodeLZWFloat32(b *testing.B) {
	var buf bytes.Buffer
	require.NoError(b, Encode(&buf, demLike(), demLZWNoPredictor))
	file := buf.Bytes()
	b.SetBytes(2048 * 2048 * 4)
	for b.Loop() {
		_, err := decodeBytes(file)
		require.NoError(b, err)
	}
}

// BenchmarkReadWindowLZWFloat32 reads one 1024 px tile task's window (with
// its 1 px halo) of the same file: a quarter of the pixels, 25 of the 64
// tiles.
func BenchmarkReadWindowLZWFloat32(b *testing.B) {
	var buf bytes.Buffer
	require.NoError(b, Encode(&buf, demLike(), demLZWNoPredictor))
	file := buf.Bytes()
	d, err := Open(bytes.NewReader(file), int64(len(file)))
	require.NoError(b, err)
	win := Window{X: 1023, Y: 1023, W: 1025, H: 1025}
	b.SetBytes(int64(win.W * win.H * 4))
	for b.Loop() {
		_, err := d.ReadWindow(win)
		require.NoError(b, err)
	}
}
