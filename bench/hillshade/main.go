// Command hillshade benchmarks hillshade of a large DEM, in one run:
//
//   - builds a DEM of -size x -size pixels by mosaicking copies of the real
//     DEM in -data edge to edge with GDAL (a VRT, then gdal_translate to a
//     tiled LZW GeoTIFF), checks every pixel of it, and caches it;
//   - times `gdaldem hillshade -s 111120 <dem> <out>` (the baseline);
//   - times our single process, raster.ReadFile -> raster.Hillshade ->
//     raster.WriteFile with gdaldem's parameters and output compression
//     (none), end to end and compute only; like gdaldem, each run is a
//     process of its own (this executable, re-run as a child);
//   - times the same with the hillshade cut into tiles with halos
//     (raster.Tiles, Crop, HillshadeWindow, Paste) computed on GOMAXPROCS
//     goroutines, the work a cluster tile task does, minus the transport;
//   - times a one-process cluster with -cluster workers (2), each running
//     -capacity tasks at once (1), through the tile pipeline in tiles of
//     -cluster-tile (4096): once uploading the DEM to geo_tiles (cut, shade
//     each tile, assemble a COG; -upload=false skips it) and once with the
//     workers reading their windows of the DEM by path, each tile task
//     writing its part of the COG (blocks compressed at Deflate -cog-level,
//     1, and the overviews its pixels determine) and the assemble task
//     copying the blocks into the COG, which it writes by path into the
//     output folder, as gdaldem writes its file; the uploading run
//     downloads its COG from the object store (start-up not timed; the
//     cluster runs in this process, whose CPU time is reported);
//   - decodes every output and counts the pixels that differ from gdaldem's;
//   - prints the figures as markdown.
//
// The DEM is cached in $TMPDIR/geocluster-bench-hillshade (or -keep DIR,
// which also keeps the outputs) and checked again whenever it is reused.
//
// Usage: go run ./bench/hillshade [-size 8000] [-runs 3] [-keep DIR] [-data ../shared/data] [-tile 1024] [-cluster 2] [-upload=true] [-cluster-tile 4096] [-capacity 1] [-cog-level 1] [-cpuprofile FILE] [-timeline]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"runtime/pprof"
	"syscall"

	"github.com/geocluster/geocluster/libs/raster"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	var err error
	if len(os.Args) > 1 && os.Args[1] == childArg {
		err = runChild(os.Args[2:], os.Stdout, os.Stderr)
	} else {
		err = run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	}
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench/hillshade:", err)
		os.Exit(1)
	}
}

// config is what the flags set.
type config struct {
	size int    // DEM width and height in pixels (8000)
	runs int    // timed runs of each tool; the median is reported (3)
	data string // directory holding the real DEM (../shared/data)
	keep string // directory for the DEM and the outputs, kept ("": the DEM cached in the temp dir, outputs removed)
	tile int    // tile size of the tiled run, 0 to skip it (1024)
	// cluster is the number of workers of the cluster run, 0 to skip it (2).
	cluster int
	// upload runs the cluster row that uploads the DEM to the object store
	// (true); the row reading the DEM by path always runs with -cluster.
	upload bool
	// clusterTile is the tile size of the cluster's pipeline (4096: with 2
	// workers, 4 tasks of about 4000 x 4000 pixels, whose 1-pixel halos
	// decode 1.1 times the DEM's blocks; tiles of 2048 decode 1.4 times).
	clusterTile int
	// capacity is how many tasks each worker of the cluster runs at once
	// (1: a tile task already keeps the cores busy).
	capacity int
	// cogLevel is the Deflate level of the cluster's output COG (1; 0 is 6,
	// GDAL's default, which compresses the hillshade about 10 % smaller in
	// about three times the time).
	cogLevel int
	// cogCompression is the cluster's output COG compression: deflate (the
	// default) or none (uncompressed blocks, like gdaldem's GTiff).
	cogCompression string
	// cpuProfile, when set, is where the CPU profile of this process goes:
	// the cluster runs (the other tools run as processes of their own).
	cpuProfile string
	// timeline, when set (-timeline), receives each cluster job's task
	// events as they arrive: seconds since the submit, state, op, task and
	// worker.
	timeline io.Writer
}

// Limits of -size: a DEM decodes to size*size float64 samples, which must
// stay under raster.DefaultDecodeLimit.
const (
	minSize = 64
	maxSize = 20000
)

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("hillshade", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&c.size, "size", 8000, "width and height of the DEM in pixels")
	fs.IntVar(&c.runs, "runs", 3, "timed runs of each tool; the median is reported")
	fs.StringVar(&c.data, "data", filepath.Join("..", "shared", "data"), "directory holding "+demName)
	fs.StringVar(&c.keep, "keep", "", "directory to keep the DEM and the outputs in (default: cache the DEM in the temp dir, remove the outputs)")
	fs.IntVar(&c.tile, "tile", 1024, "tile size of the tiled run (0: skip it)")
	fs.IntVar(&c.cluster, "cluster", 2, "workers of the one-process cluster run (0: skip it)")
	fs.BoolVar(&c.upload, "upload", true, "with -cluster, also run the cluster row that uploads the DEM to the object store")
	fs.IntVar(&c.clusterTile, "cluster-tile", 4096, "tile size of the cluster's pipeline, a multiple of 512 for the tile tasks to write the COG's blocks")
	fs.IntVar(&c.capacity, "capacity", 1, "tasks each worker of the cluster runs at once")
	fs.IntVar(&c.cogLevel, "cog-level", 1, "Deflate level 1–9 of the cluster's output COG (0: 6, GDAL's default)")
	fs.StringVar(&c.cogCompression, "cog-compression", "deflate", "the cluster's output COG compression: deflate, or none (uncompressed blocks, as gdaldem's GTiff; -cog-level is then ignored)")
	fs.StringVar(&c.cpuProfile, "cpuprofile", "", "write the CPU profile of the cluster runs (this process) to this file")
	timeline := fs.Bool("timeline", false, "print each cluster job's task events, with the seconds since its submit, to stderr")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if *timeline {
		c.timeline = stderr
	}
	var errs []error
	if c.size < minSize || c.size > maxSize {
		errs = append(errs, fmt.Errorf("-size %d outside %d–%d", c.size, minSize, maxSize))
	}
	if c.runs < 1 {
		errs = append(errs, fmt.Errorf("-runs %d: need at least 1", c.runs))
	}
	if c.cogCompression != "deflate" && c.cogCompression != "none" {
		errs = append(errs, fmt.Errorf("-cog-compression %q: deflate or none", c.cogCompression))
	}
	if c.cogLevel < 0 || c.cogLevel > 9 {
		errs = append(errs, fmt.Errorf("-cog-level %d outside 1–9 (0: the default, 6)", c.cogLevel))
	}
	if c.clusterTile < 16 {
		errs = append(errs, fmt.Errorf("-cluster-tile %d: at least 16", c.clusterTile))
	}
	if c.capacity < 1 {
		errs = append(errs, fmt.Errorf("-capacity %d: at least 1", c.capacity))
	}
	if c.tile < 0 {
		errs = append(errs, fmt.Errorf("-tile %d", c.tile))
	}
	if fs.NArg() > 0 {
		errs = append(errs, fmt.Errorf("unexpected arguments %q", fs.Args()))
	}
	return c, errors.Join(errs...)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	dir, err := workDir(cfg.keep)
	if err != nil {
		return err
	}
	mach, err := describeMachine(ctx)
	if err != nil {
		return err
	}
	dem, err := prepareDEM(ctx, cfg, dir, stderr)
	if err != nil {
		return err
	}
	outs := outputs{
		gdal:        filepath.Join(dir, "hillshade-gdaldem.tif"),
		ours:        filepath.Join(dir, "hillshade-ours.tif"),
		tiled:       filepath.Join(dir, "hillshade-ours-tiled.tif"),
		cluster:     filepath.Join(dir, "hillshade-cluster.tif"),
		clusterPath: filepath.Join(dir, "hillshade-cluster-path.tif"),
	}
	if cfg.keep == "" {
		defer outs.remove()
	}
	debug.FreeOSMemory() // the DEM check's samples: no run competes with them
	if cfg.cpuProfile != "" {
		f, err := os.Create(cfg.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
	}
	res, err := measure(ctx, cfg, dem.path, outs, stderr)
	if cfg.cpuProfile != "" {
		pprof.StopCPUProfile()
	}
	if err != nil {
		return err
	}
	if res.verify, err = verify(outs, cfg.tile > 0, cfg.cluster > 0 && cfg.upload, cfg.cluster > 0); err != nil {
		return err
	}
	report(stdout, cfg, mach, dem, res)
	for _, v := range res.verify {
		if !v.ok() {
			return fmt.Errorf("%s: the output is not within 1 of gdaldem's (see the report)", v.name)
		}
	}
	return nil
}

// workDir is -keep, or else the DEM cache in the temp dir, which outlives
// the run on purpose; created if needed.
func workDir(keep string) (string, error) {
	dir := keep
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "geocluster-bench-hillshade")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("create %s: %w", dir, err)
	}
	return dir, nil
}

// outputs are the hillshade files each tool writes, kept from the last run.
type outputs struct {
	gdal, ours, tiled, cluster, clusterPath string
}

func (o outputs) remove() {
	for _, p := range []string{o.gdal, o.ours, o.tiled, o.cluster, o.clusterPath} {
		_ = os.Remove(p)
	}
}

// hillshadeParams are gdaldem hillshade's defaults with -s 111120, the
// scale for a DEM in degrees with elevations in metres.
func hillshadeParams() raster.HillshadeParams {
	p := raster.DefaultHillshadeParams()
	p.Scale = gdaldemScale
	return p
}

const gdaldemScale = 111120
