package raster

import (
	"bytes"
	"io"
	"testing"

	"github.com/stretchr/testify/require"
)

// tilePathDEM is a 4097 x 4097 Float32 DEM, copies of the real DEM edge to
// edge, encoded as the hillshade benchmark's DEM is (256 px tiles, LZW, no
// predictor): the window of the top-left 4096 px tile task of an 8000 px
// DEM with its halo.
func tilePathDEM(b *testing.B) *Dataset {
	b.Helper()
	src := realRaster(b, "localtileserver_co_elevation_roi.tif")
	const n = 4097
	r := &Raster{Width: n, Height: n, Type: Float32, NoData: src.NoData, HasNoData: src.HasNoData, Georef: src.Georef}
	p := make([]float64, n*n)
	for y := range n {
		for x := range n {
			p[y*n+x] = src.Pix[0][(y%src.Height)*src.Width+x%src.Width]
		}
	}
	r.Pix = [][]float64{p}
	var buf bytes.Buffer
	require.NoError(b, Encode(&buf, r, demLZWNoPredictor))
	d, err := Open(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	require.NoError(b, err)
	return d
}

// BenchmarkHillshadeTilePart is one tile task of the cluster's hillshade:
// HillshadeWindow of a 4096 px tile, then its part of the output COG
// (Deflate level 1, the worker's options: 4 overview levels).
func BenchmarkHillshadeTilePart(b *testing.B) {
	d := tilePathDEM(b)
	p := DefaultHillshadeParams()
	p.Scale = 111120
	read, core := Window{W: 4097, H: 4097}, Window{W: 4096, H: 4096}
	opts := COGOptions{EncodeOptions: EncodeOptions{Level: 1}}
	for b.Loop() {
		r, err := d.HillshadeWindow(read, core, 0, p)
		require.NoError(b, err)
		require.NoError(b, EncodeCOGPart(io.Discard, r, 0, 0, 8000, 8000, opts))
	}
}
