package raster

import (
	"bytes"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDatasetTerrainIsTheTerrainOfTheReadWindow: hillshade and slope of a
// tile read straight from a Dataset are the rasters of HillshadeWindow and
// SlopeWindow of ReadWindow, to the bit and with the same georeferencing,
// for float DEMs (decoded in single precision) and integer ones, one band
// or several, chunky or planar, with nodata (NaN too) or without, for tiles
// inside the image and along its edges.
func TestDatasetTerrainIsTheTerrainOfTheReadWindow(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		typ   DataType
		bands int
		opts  EncodeOptions
		nanND bool
		noND  bool
	}{
		{"float32-lzw-tiled", Float32, 1, EncodeOptions{Tiled: true, TileSize: 64, Compression: CompressionLZW}, false, false},
		{"float32-nan-nodata-strips", Float32, 1, EncodeOptions{RowsPerStrip: 7, Compression: CompressionDeflate, Predictor: PredictorFloat}, true, false},
		{"float64-no-nodata", Float64, 1, EncodeOptions{Tiled: true, TileSize: 32}, false, true},
		{"float32-two-bands-chunky", Float32, 2, EncodeOptions{Tiled: true, TileSize: 48, Compression: CompressionZSTD}, false, false},
		{"float32-two-bands-planar", Float32, 2, EncodeOptions{Tiled: true, TileSize: 48, Planar: true}, false, false},
		{"int16-falls-back", Int16, 1, EncodeOptions{Tiled: true, TileSize: 64, Compression: CompressionLZW, Predictor: PredictorHorizontal}, false, false},
	}
	hp := DefaultHillshadeParams()
	hp.Scale = 111120
	sp := DefaultSlopeParams()
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := randomRaster(uint64(980+i), 301, 187, tt.bands, tt.typ)
			if tt.nanND {
				nanNoData(r)
			}
			r.HasNoData = !tt.noND
			var buf bytes.Buffer
			require.NoError(t, Encode(&buf, r, tt.opts))
			ds, err := Open(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
			require.NoError(t, err)
			tiles, err := Tiles(r.Width, r.Height, 100, TerrainHalo)
			require.NoError(t, err)
			for _, tile := range tiles {
				in, err := ds.ReadWindow(tile.Read)
				require.NoError(t, err)
				local := Window{X: tile.Core.X - tile.Read.X, Y: tile.Core.Y - tile.Read.Y, W: tile.Core.W, H: tile.Core.H}
				band := tt.bands - 1
				want, err := HillshadeWindow(in, band, hp, local)
				require.NoError(t, err)
				got, err := ds.HillshadeWindow(tile.Read, tile.Core, band, hp)
				require.NoError(t, err)
				requireSameBits(t, want, got)
				want, err = SlopeWindow(in, band, sp, local)
				require.NoError(t, err)
				got, err = ds.SlopeWindow(tile.Read, tile.Core, band, sp)
				require.NoError(t, err)
				requireSameBits(t, want, got)
			}
		})
	}
}

func requireSameBits(t *testing.T, want, got *Raster) {
	t.Helper()
	require.Equal(t, want.Width, got.Width)
	require.Equal(t, want.Height, got.Height)
	require.Equal(t, want.Type, got.Type)
	require.Equal(t, want.Georef, got.Georef)
	require.Equal(t, want.HasNoData, got.HasNoData)
	for b := range want.Pix {
		for i, v := range want.Pix[b] {
			if math.Float64bits(v) != math.Float64bits(got.Pix[b][i]) {
				require.Failf(t, "sample differs", "band %d sample %d: want %v, got %v", b, i, v, got.Pix[b][i])
			}
		}
	}
}

// TestDatasetTerrainRejectsBadWindows: a core outside its read window, a
// read window outside the image and a missing band are errors.
func TestDatasetTerrainRejectsBadWindows(t *testing.T) {
	t.Parallel()
	r := randomRaster(990, 64, 64, 1, Float32)
	var buf bytes.Buffer
	require.NoError(t, Encode(&buf, r, EncodeOptions{}))
	ds, err := Open(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	require.NoError(t, err)
	hp := DefaultHillshadeParams()
	_, err = ds.HillshadeWindow(Window{W: 10, H: 10}, Window{X: 5, W: 10, H: 10}, 0, hp)
	assert.ErrorIs(t, err, ErrWindow)
	_, err = ds.HillshadeWindow(Window{X: 60, W: 10, H: 10}, Window{X: 61, Y: 1, W: 2, H: 2}, 0, hp)
	assert.ErrorIs(t, err, ErrWindow)
	_, err = ds.SlopeWindow(Window{W: 10, H: 10}, Window{W: 10, H: 10}, 1, DefaultSlopeParams())
	assert.ErrorIs(t, err, ErrBand)
}

// TestHillshadeCOGPartIsThePartOfTheHillshade: the part HillshadeCOGPart
// writes straight from a Dataset is byte for byte the part EncodeCOGPart
// writes of HillshadeWindow's raster, for float DEMs (bytes without the
// float64 raster) and integer ones (which fall back), with nodata or
// without, for tiles whose windows give every number of part levels (tiles
// of 128 in an image of 1024 x 640: up to five levels; the right and
// bottom tiles of an odd-sized image: none), Deflate and uncompressed.
func TestHillshadeCOGPartIsThePartOfTheHillshade(t *testing.T) {
	t.Parallel()
	hp := DefaultHillshadeParams()
	hp.Scale = 111120
	for i, tt := range []struct {
		name        string
		typ         DataType
		w, h, tile  int
		noND        bool
		compression Compression
	}{
		{"float32-aligned", Float32, 1024, 640, 128, false, 0},
		{"float32-odd-size", Float32, 601, 347, 128, false, 0},
		{"float32-no-nodata-uncompressed", Float32, 512, 512, 256, true, CompressionNone},
		{"int16-falls-back", Int16, 512, 384, 128, false, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := randomRaster(uint64(1200+i), tt.w, tt.h, 1, tt.typ)
			r.HasNoData = !tt.noND
			var buf bytes.Buffer
			require.NoError(t, Encode(&buf, r, EncodeOptions{Tiled: true, TileSize: 64, Compression: CompressionLZW}))
			ds, err := Open(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
			require.NoError(t, err)
			opts := COGOptions{EncodeOptions: EncodeOptions{Level: 1, Compression: tt.compression, TileSize: 64}}
			if tt.compression == CompressionNone {
				opts.Level = 0
			}
			tiles, err := Tiles(r.Width, r.Height, tt.tile, TerrainHalo)
			require.NoError(t, err)
			for _, tile := range tiles {
				hs, err := ds.HillshadeWindow(tile.Read, tile.Core, 0, hp)
				require.NoError(t, err)
				var want, got bytes.Buffer
				require.NoError(t, EncodeCOGPart(&want, hs, tile.Core.X, tile.Core.Y, r.Width, r.Height, opts))
				require.NoError(t, ds.HillshadeCOGPart(&got, tile.Read, tile.Core, 0, hp, r.Width, r.Height, opts))
				require.True(t, bytes.Equal(want.Bytes(), got.Bytes()), "tile %v: %d bytes written, %d wanted", tile.Core, got.Len(), want.Len())
			}
			// A core outside its read window is refused, as by HillshadeWindow.
			err = ds.HillshadeCOGPart(&bytes.Buffer{}, tiles[0].Read, Window{X: -1, W: 2, H: 2}, 0, hp, r.Width, r.Height, opts)
			require.ErrorIs(t, err, ErrWindow)
		})
	}
}
