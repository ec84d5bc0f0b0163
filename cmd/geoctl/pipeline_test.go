package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/geocluster/geocluster/internal/onebox"
	"github.com/geocluster/geocluster/libs/natstest"
	"github.com/geocluster/geocluster/libs/raster"
)

// TestPipelineRunsHillshadeOnARealCluster: geoctl uploads the real DEM,
// the cluster shades it tile by tile, and geoctl downloads the COG.
func TestPipelineRunsHillshadeOnARealCluster(t *testing.T) {
	dem := filepath.Join("..", "..", "..", "shared", "data", "localtileserver_co_elevation_roi.tif")
	if _, err := os.Stat(dem); err != nil {
		t.Skipf("real DEM not found at %s: %v", dem, err)
	}
	cfg := onebox.DefaultConfig()
	cfg.Port, cfg.Workers, cfg.Topology = -1, 2, natstest.Topology()
	cl, err := onebox.Start(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, cl.Stop()) })

	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	getenv := func(k string) string {
		if k == envServer {
			return cl.URL()
		}
		return ""
	}
	err = run(ctx, []string{"pipeline", "hillshade", "--input", dem, "--scale", "111120", "--tile-size", "200", "--out", out, "--progress", "plain"},
		getenv, strings.NewReader(""), &stdout, &stderr)
	require.NoError(t, err, stderr.String())
	assert.Contains(t, stdout.String(), "state:     succeeded")
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	path := lines[len(lines)-1] // the summary, then the path of the result
	assert.Equal(t, filepath.Join(out, "hillshade.tif"), path)

	got, err := raster.ReadFile(path)
	require.NoError(t, err)
	want := singleProcessHillshade(t, dem)
	assert.Equal(t, want.Pix, got.Pix)
	assert.Equal(t, want.Transform, got.Transform)

	err = run(ctx, []string{"pipeline", "bandmath", "--input", dem, "--expr", "b1 +", "--out", out}, getenv, strings.NewReader(""), &stdout, &stderr)
	require.ErrorContains(t, err, "expression")
}

// TestPipelineReadsInputsByPathAndRendersWebTiles: with --path the workers
// read the DEM from the shared folder themselves (nothing uploaded), and
// --xyz brings the web-map tiles home.
func TestPipelineReadsInputsByPathAndRendersWebTiles(t *testing.T) {
	dem, err := filepath.Abs(filepath.Join("..", "..", "..", "shared", "data", "localtileserver_co_elevation_roi.tif"))
	require.NoError(t, err)
	if _, err := os.Stat(dem); err != nil {
		t.Skipf("real DEM not found at %s: %v", dem, err)
	}
	cfg := onebox.DefaultConfig()
	cfg.Port, cfg.Workers, cfg.Topology = -1, 2, natstest.Topology()
	cfg.Worker.DataDirs = []string{filepath.Dir(dem)}
	cl, err := onebox.Start(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, cl.Stop()) })

	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	getenv := func(k string) string {
		if k == envServer {
			return cl.URL()
		}
		return ""
	}
	err = run(ctx, []string{"pipeline", "slope", "--input", dem, "--path", "--scale", "111120", "--tile-size", "300", "--xyz", "11-12", "--stretch", "0,60", "--out", out, "--progress", "none"},
		getenv, strings.NewReader(""), &stdout, &stderr)
	require.NoError(t, err, stderr.String())
	assert.Contains(t, stderr.String(), "web-map tiles in "+filepath.Join(out, "xyz"))
	pngs, err := filepath.Glob(filepath.Join(out, "xyz", "1[12]", "*", "*.png"))
	require.NoError(t, err)
	assert.NotEmpty(t, pngs)

	got, err := raster.ReadFile(filepath.Join(out, "slope.tif"))
	require.NoError(t, err)
	src, err := raster.ReadFile(dem)
	require.NoError(t, err)
	p := raster.DefaultSlopeParams()
	p.Scale = 111120
	want, err := raster.Slope(src, 0, p)
	require.NoError(t, err)
	assert.Equal(t, want.Pix, got.Pix)
}

// TestPipelineWritesItsOutputByPath: with --output-path the assemble task
// writes the COG into the workers' output directory itself (nothing is
// downloaded), the same pixels as the one-process hillshade, with no
// temporary file left beside it; a path outside the output directories
// fails the job with an error naming the rule, and no file appears.
func TestPipelineWritesItsOutputByPath(t *testing.T) {
	dem, err := filepath.Abs(filepath.Join("..", "..", "..", "shared", "data", "localtileserver_co_elevation_roi.tif"))
	require.NoError(t, err)
	if _, err := os.Stat(dem); err != nil {
		t.Skipf("real DEM not found at %s: %v", dem, err)
	}
	outDir, elsewhere := t.TempDir(), t.TempDir()
	cfg := onebox.DefaultConfig()
	cfg.Port, cfg.Workers, cfg.Topology = -1, 2, natstest.Topology()
	cfg.Worker.DataDirs = []string{filepath.Dir(dem)}
	cfg.Worker.OutputDirs = []string{outDir}
	cl, err := onebox.Start(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, cl.Stop()) })
	getenv := func(k string) string {
		if k == envServer {
			return cl.URL()
		}
		return ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	// Tiles of 512 make the tile tasks write parts of the COG (assembled by
	// copying blocks), tiles of 300 a COG encoded from pasted tiles: both
	// ways of assembling write by path.
	for _, tile := range []string{"512", "300"} {
		dst := filepath.Join(outDir, "hillshade-"+tile+".tif")
		var stdout, stderr bytes.Buffer
		err = run(ctx, []string{"pipeline", "hillshade", "--input", dem, "--path", "--scale", "111120", "--tile-size", tile, "--output-path", dst, "--progress", "none"},
			getenv, strings.NewReader(""), &stdout, &stderr)
		require.NoError(t, err, stderr.String())
		assert.True(t, strings.HasSuffix(stdout.String(), "\n"+dst+"\n"), "the output path ends the report: %q", stdout.String())

		got, err := raster.ReadFile(dst)
		require.NoError(t, err)
		want := singleProcessHillshade(t, dem)
		assert.Equal(t, want.Pix, got.Pix, "tiles of %s", tile)
		assert.Equal(t, want.Transform, got.Transform)
		fi, err := os.Stat(dst)
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o644), fi.Mode().Perm())
	}
	left, err := filepath.Glob(filepath.Join(outDir, ".*"))
	require.NoError(t, err)
	assert.Empty(t, left, "temporary files left in the output directory")

	outside := filepath.Join(elsewhere, "hillshade.tif")
	var stdout, stderr bytes.Buffer
	err = run(ctx, []string{"pipeline", "hillshade", "--input", dem, "--path", "--scale", "111120", "--tile-size", "512", "--output-path", outside, "--progress", "none"},
		getenv, strings.NewReader(""), &stdout, &stderr)
	require.Error(t, err)
	assert.Contains(t, err.Error()+stderr.String(), "output directories")
	_, err = os.Stat(outside)
	assert.ErrorIs(t, err, os.ErrNotExist)

	err = run(ctx, []string{"pipeline", "hillshade", "--input", dem, "--path", "--output-path", outside, "--out", outDir, "--progress", "none"},
		getenv, strings.NewReader(""), &stdout, &stderr)
	require.ErrorContains(t, err, "--out and --output-path")
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
