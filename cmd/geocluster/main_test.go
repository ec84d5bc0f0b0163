package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
	assert.Contains(t, stdout.String(), "checksums match")

	raw, err := os.ReadFile(filepath.Join(out, "results.json"))
	require.NoError(t, err)
	var res struct {
		Job struct {
			State string `json:"state"`
			Total int    `json:"total"`
		} `json:"job"`
		Results []struct {
			Object string `json:"object"`
			Match  bool   `json:"matches_local"`
		} `json:"results"`
	}
	require.NoError(t, json.Unmarshal(raw, &res))
	assert.Equal(t, "succeeded", res.Job.State)
	files, _ := filepath.Glob(filepath.Join(data, "*.tif"))
	require.Len(t, res.Results, len(files))
	assert.Equal(t, len(files)+1, res.Job.Total)
	for _, r := range res.Results {
		assert.True(t, r.Match, r.Object)
	}
}

func TestBadFlagsAreRefused(t *testing.T) {
	var stderr bytes.Buffer
	err := run(context.Background(), []string{"serve", "--workers", "0"}, func(string) string { return "" }, &bytes.Buffer{}, &stderr)
	require.ErrorContains(t, err, "--workers")
	err = run(context.Background(), []string{"demo", "extra"}, func(string) string { return "" }, &bytes.Buffer{}, &stderr)
	require.ErrorContains(t, err, `unexpected argument "extra"`)
}
