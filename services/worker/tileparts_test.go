package worker_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/geocluster/geocluster/libs/events"
	"github.com/geocluster/geocluster/libs/natstest"
	"github.com/geocluster/geocluster/libs/raster"
	"github.com/geocluster/geocluster/services/worker"
)

// testDEM is a Float32 DEM of w x h with a nodata value and a few nodata
// pixels, georeferenced in degrees.
func testDEM(w, h int) *raster.Raster {
	r, _ := raster.New(w, h, 1, raster.Float32)
	r.NoData, r.HasNoData = -9999, true
	r.Transform = raster.GeoTransform{-105.5, 1.0 / 3600, 0, 40.2, 0, -1.0 / 3600}
	r.EPSG = 4269
	for i := range r.Pix[0] {
		x, y := float64(i%w), float64(i/w)
		r.Pix[0][i] = raster.Float32.Convert(2500 + 300*math.Sin(x/37)*math.Cos(y/23) + 0.5*x)
		if i%997 == 0 {
			r.Pix[0][i] = r.NoData
		}
	}
	return r
}

// TestTileTasksAndAssembleMakeTheCOGOfTheWholeHillshade: tile_hillshade
// tasks reading their windows by path write their parts, and tile_assemble
// with parts writes, byte for byte, the COG of the whole raster's
// hillshade; a missing part fails the assemble permanently, naming it.
func TestTileTasksAndAssembleMakeTheCOGOfTheWholeHillshade(t *testing.T) {
	t.Parallel()
	for _, comp := range []string{"", events.COGNone} {
		t.Run("compression="+comp, func(t *testing.T) {
			t.Parallel()
			assembleWholeHillshade(t, comp)
		})
	}
}

// assembleWholeHillshade runs the tile tasks and the assemble of a COG
// compressed as comp and checks it is the COG of the whole hillshade.
func assembleWholeHillshade(t *testing.T, comp string) {
	_, js := natstest.Provisioned(t, natstest.Topology())
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	dem := testDEM(1300, 1100)
	path := filepath.Join(dir, "dem.tif")
	require.NoError(t, raster.WriteFile(path, dem, raster.EncodeOptions{Tiled: true, Compression: raster.CompressionLZW}))

	const size = 512
	tiles, err := raster.Tiles(dem.Width, dem.Height, size, raster.TerrainHalo)
	require.NoError(t, err)
	run := func(m events.TaskMessage) (json.RawMessage, error) {
		op, ok := worker.PlatformRegistry().Lookup(m.Op)
		require.True(t, ok)
		return op(ctx, worker.Task{TaskMessage: m, JS: js, Tiles: worker.ObjectTiles(js), DataDirs: []string{dir}})
	}
	for _, tile := range tiles {
		p := events.TileTerrainParams{
			InputPath: path, Output: events.TileObject("parts", tile.Core.X, tile.Core.Y), Scale: 111120,
			Tile: events.TileRef{Object: "x",
				Core: events.PixelWindow{X: tile.Core.X, Y: tile.Core.Y, W: tile.Core.W, H: tile.Core.H},
				Read: events.PixelWindow{X: tile.Read.X, Y: tile.Read.Y, W: tile.Read.W, H: tile.Read.H}},
			Part: &events.TilePart{X: tile.Core.X, Y: tile.Core.Y, Width: dem.Width, Height: dem.Height, Compression: comp},
		}
		raw, err := json.Marshal(p)
		require.NoError(t, err)
		_, err = run(task("parts", fmt.Sprintf("t-%d-%d", tile.Core.X, tile.Core.Y), events.OpTileHillshade, string(raw)))
		require.NoError(t, err)
	}
	assemble := fmt.Sprintf(`{"grid":{"width":%d,"height":%d,"tile_size":%d},"prefix":"parts","output":"out.tif","parts":true,"compression":%q}`, dem.Width, dem.Height, size, comp)
	out, err := run(task("parts", "assemble", events.OpTileAssemble, assemble))
	require.NoError(t, err)
	var res worker.TileResult
	require.NoError(t, json.Unmarshal(out, &res))
	assert.Equal(t, "out.tif", res.Object)

	hp := raster.DefaultHillshadeParams()
	hp.Scale = 111120
	want, err := raster.Hillshade(dem, 0, hp)
	require.NoError(t, err)
	var cog bytes.Buffer
	opts := raster.COGOptions{}
	if comp == events.COGNone {
		opts.Compression = raster.CompressionNone
	}
	require.NoError(t, raster.EncodeCOG(&cog, want, opts))
	store, err := js.ObjectStore(ctx, events.ObjectTiles)
	require.NoError(t, err)
	got, err := store.GetBytes(ctx, "out.tif")
	require.NoError(t, err)
	assert.Equal(t, cog.Len(), res.Bytes)
	assert.True(t, bytes.Equal(cog.Bytes(), got), "the assembled COG is not the COG of the whole hillshade")

	require.NoError(t, store.Delete(ctx, events.TileObject("parts", 512, 512)))
	_, err = run(task("parts", "assemble", events.OpTileAssemble, assemble))
	require.Error(t, err)
	assert.True(t, worker.IsPermanent(err))
	assert.Contains(t, err.Error(), events.TileObject("parts", 512, 512))
}
