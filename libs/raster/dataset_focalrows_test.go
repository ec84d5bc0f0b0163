package raster

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestDatasetTerrainAcrossStrips: windows taller than one strip of
// focalRows, whose strips start and end inside tiles and whose halo rows
// come from the strip before, give the rasters of HillshadeWindow and
// SlopeWindow of ReadWindow, with and without edges, nodata or NaN nodata.
func TestDatasetTerrainAcrossStrips(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		opts  EncodeOptions
		nanND bool
		noND  bool
	}{
		{"tiles-16-lzw", EncodeOptions{Tiled: true, TileSize: 16, Compression: CompressionLZW}, false, false},
		{"tiles-48-no-nodata", EncodeOptions{Tiled: true, TileSize: 48}, false, true},
		{"strips-of-7-nan-nodata", EncodeOptions{RowsPerStrip: 7, Compression: CompressionDeflate, Predictor: PredictorFloat}, true, false},
		{"strips-of-300", EncodeOptions{RowsPerStrip: 300}, false, false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := randomRaster(uint64(700+i), 77, 3*focalStripRows+45, 1, Float32)
			if tt.nanND {
				nanNoData(r)
			}
			r.HasNoData = !tt.noND
			var buf bytes.Buffer
			require.NoError(t, Encode(&buf, r, tt.opts))
			ds, err := Open(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
			require.NoError(t, err)
			for _, size := range []int{r.Height, 333, 100} {
				tiles, err := Tiles(r.Width, r.Height, size, TerrainHalo)
				require.NoError(t, err)
				for _, edges := range []bool{false, true} {
					hp := DefaultHillshadeParams()
					hp.ComputeEdges = edges
					sp := DefaultSlopeParams()
					sp.ComputeEdges = edges
					for _, tile := range tiles {
						t.Run(fmt.Sprintf("tile %d edges %v %v", size, edges, tile.Core), func(t *testing.T) {
							in, err := ds.ReadWindow(tile.Read)
							require.NoError(t, err)
							local := Window{X: tile.Core.X - tile.Read.X, Y: tile.Core.Y - tile.Read.Y, W: tile.Core.W, H: tile.Core.H}
							want, err := HillshadeWindow(in, 0, hp, local)
							require.NoError(t, err)
							got, err := ds.HillshadeWindow(tile.Read, tile.Core, 0, hp)
							require.NoError(t, err)
							requireSameBits(t, want, got)
							want, err = SlopeWindow(in, 0, sp, local)
							require.NoError(t, err)
							got, err = ds.SlopeWindow(tile.Read, tile.Core, 0, sp)
							require.NoError(t, err)
							requireSameBits(t, want, got)
						})
					}
				}
			}
		})
	}
}
