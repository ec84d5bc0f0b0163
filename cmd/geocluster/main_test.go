package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/geocluster/geocluster/libs/raster"
)

// TestDemoRunsOnTheSampleRasters runs the README's first command in process.
func TestDemoRunsOnTheSampleRasters(t *testing.T) {
	data := filepath.Join("..", "..", "..", "shared", "data")
	if _, err := os.Stat(data); err != nil {
		t.Skipf("sample rasters not found at %s (the project's shared/data): %v", data, err)
	}
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	getenv := func(string) string { return "" }
	err := run(ctx, []string{"demo", "--demo-data", data, "--out", out, "--workers", "2"}, getenv, &stdout, &stderr)
	require.NoError(t, err, "stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	assert.Contains(t, stdout.String(), "same pixels as the single-process run")

	hs, err := raster.ReadFile(filepath.Join(out, "hillshade.tif"))
	require.NoError(t, err)
	assert.Equal(t, raster.Uint8, hs.Type)
	assert.Equal(t, 4269, hs.EPSG)
	assert.Equal(t, [2]int{1007, 633}, [2]int{hs.Width, hs.Height})
	ndvi, err := raster.ReadFile(filepath.Join(out, "ndvi.tif"))
	require.NoError(t, err)
	assert.Equal(t, raster.Float32, ndvi.Type)
	assert.Equal(t, 32616, ndvi.EPSG)
}

func TestBadFlagsAreRefused(t *testing.T) {
	var stderr bytes.Buffer
	err := run(context.Background(), []string{"serve", "--workers", "0"}, func(string) string { return "" }, &bytes.Buffer{}, &stderr)
	require.ErrorContains(t, err, "--workers")
	err = run(context.Background(), []string{"demo", "extra"}, func(string) string { return "" }, &bytes.Buffer{}, &stderr)
	require.ErrorContains(t, err, `unexpected argument "extra"`)
}
