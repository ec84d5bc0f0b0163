// Package pipeline plans raster pipelines as ordinary geocluster jobs: one
// tile_cut task per input writes the input's tiles (with the halo the
// operation needs) to geo_tiles, one task per tile computes the operation,
// and a tile_assemble task pastes the results into one Cloud-Optimized
// GeoTIFF. A lost worker costs one tile, not the job, and the tiled result is
// pixel for pixel the single-process result (the operations' halo handling
// guarantees it).
//
// When the tile size is a multiple of the COG's 512-pixel blocks, each tile
// task writes its tile as a part of the output COG (its blocks compressed
// as the COG's, and the overview levels its pixels alone determine), and
// the assemble task copies those blocks into the COG instead of decoding
// and compressing the whole raster again: the same file, made in parallel.
package pipeline

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/geocluster/geocluster/libs/events"
	"github.com/geocluster/geocluster/libs/raster"
)

// Operations a pipeline runs.
const (
	Hillshade = "hillshade"
	Slope     = "slope"
	BandMath  = "bandmath"
)

// Input is a raster already stored in geo_tiles (Object), or a GeoTIFF on
// a file system every worker mounts under its data directories (Path, an
// absolute path): then no cut task runs and each tile task reads its own
// window of the file.
type Input struct {
	Object        string
	Path          string
	Width, Height int
}

// Spec describes a pipeline.
type Spec struct {
	// ID of the job; also the object prefix jobs/<ID>/.
	ID string
	// Name of the job, for people.
	Name string
	// Op is Hillshade, Slope or BandMath.
	Op string
	// Inputs: one for terrain ops; one or more of equal size for band math.
	Inputs []Input
	// TileSize is the edge of a tile in pixels (256).
	TileSize int
	// Band of the input the terrain ops read, 0-based.
	Band int
	// Scale, ZFactor, Azimuth, Altitude, Percent as gdaldem (see events.TileTerrainParams).
	Scale, ZFactor    float64
	Azimuth, Altitude *float64
	Percent           bool
	// Expr is the band math expression (b1, b2, … across the inputs).
	Expr string
	// Output names the result object (jobs/<ID>/<Op>.tif).
	Output string
	// OutputPath, instead of Output, is an absolute path the assemble task
	// writes the COG to, in one of the workers' output directories
	// (GEO_WORKER_OUTPUT_DIRS); the job's label output_path names it. Not
	// with XYZ, which renders the output object.
	OutputPath string
	// COGLevel is the Deflate level of the output COG, 1–9 (0: 6, GDAL's
	// default); only with a tile size that is a multiple of 512, where the
	// tile tasks compress the COG's blocks.
	COGLevel int
	// COGCompression is events.COGDeflate ("", the default) or
	// events.COGNone (uncompressed blocks, as gdaldem's default GTiff); only
	// with a tile size that is a multiple of 512.
	COGCompression string
	// Priority of the job's tasks (normal).
	Priority events.Priority
	// XYZ, when set, adds a task that renders the output as web-mercator
	// PNG tiles under jobs/<ID>/xyz/<z>/<x>/<y>.png.
	XYZ *XYZ
}

// XYZ are the zooms of the web-map tiles and the stretch of non-Byte
// outputs onto gray levels.
type XYZ struct {
	MinZoom, MaxZoom int
	Min, Max         float64
}

// Labels of a pipeline job: the output object, or the output path.
const (
	LabelOutput     = "output"
	LabelOutputPath = "output_path"
)

// Plan returns the job that runs s.
func Plan(s Spec) (events.JobSpec, error) {
	if !events.ValidToken(s.ID) {
		return events.JobSpec{}, fmt.Errorf("pipeline id %q is not a valid job id", s.ID)
	}
	if len(s.Inputs) == 0 {
		return events.JobSpec{}, errors.New("pipeline needs an input")
	}
	w, h := s.Inputs[0].Width, s.Inputs[0].Height
	byPath := s.Inputs[0].Path != ""
	for _, in := range s.Inputs {
		if (in.Path != "") != byPath || (in.Path != "") == (in.Object != "") {
			return events.JobSpec{}, errors.New("every input names an object or every input names a path, one of the two")
		}
	}
	for _, in := range s.Inputs[1:] {
		if in.Width != w || in.Height != h {
			return events.JobSpec{}, fmt.Errorf("inputs differ in size: %s is %dx%d, %s is %dx%d", s.Inputs[0].Object, w, h, in.Object, in.Width, in.Height)
		}
	}
	halo := 0
	switch s.Op {
	case Hillshade, Slope:
		if len(s.Inputs) != 1 {
			return events.JobSpec{}, fmt.Errorf("%s takes one input, got %d", s.Op, len(s.Inputs))
		}
		halo = raster.TerrainHalo
	case BandMath:
		if _, err := raster.ParseExpr(s.Expr); err != nil {
			return events.JobSpec{}, err
		}
	default:
		return events.JobSpec{}, fmt.Errorf("unknown pipeline op %q (hillshade, slope, bandmath)", s.Op)
	}
	if s.TileSize == 0 {
		s.TileSize = 256
	}
	parts := s.TileSize%cogBlock == 0
	if s.COGLevel < 0 || s.COGLevel > events.MaxDeflateLevel || (s.COGLevel != 0 && !parts) {
		return events.JobSpec{}, fmt.Errorf("cog level %d: a Deflate level 1–%d, with a tile size that is a multiple of %d", s.COGLevel, events.MaxDeflateLevel, cogBlock)
	}
	if s.COGCompression != "" && (!parts || (s.COGCompression != events.COGDeflate && s.COGCompression != events.COGNone) || (s.COGCompression == events.COGNone && s.COGLevel != 0)) {
		return events.JobSpec{}, fmt.Errorf("cog compression %q: %q or %q (no level), with a tile size that is a multiple of %d", s.COGCompression, events.COGDeflate, events.COGNone, cogBlock)
	}
	if s.XYZ != nil && s.Op != Hillshade && !(s.XYZ.Max > s.XYZ.Min) {
		return events.JobSpec{}, fmt.Errorf("xyz: the %s output is Float32: give min < max to stretch it onto gray levels", s.Op)
	}
	grid := events.TileGrid{Width: w, Height: h, TileSize: s.TileSize, Halo: halo}
	if n := grid.Tiles(); n > int64(events.DefaultLimits.MaxDeps) || n+int64(len(s.Inputs))+2 > int64(events.DefaultLimits.MaxTasks) {
		return events.JobSpec{}, fmt.Errorf("%dx%d in tiles of %d is %d tiles: the assemble task may depend on at most %d; use larger tiles", w, h, s.TileSize, n, events.DefaultLimits.MaxDeps)
	}
	tiles, err := raster.Tiles(w, h, s.TileSize, halo)
	if err != nil {
		return events.JobSpec{}, err
	}
	job := events.JobSpec{ID: s.ID, Name: s.Name, Priority: s.Priority, Labels: map[string]string{"pipeline": s.Op}}
	switch {
	case s.OutputPath != "" && s.Output != "":
		return events.JobSpec{}, errors.New("give an output object or an output path, not both")
	case s.OutputPath != "" && !filepath.IsAbs(s.OutputPath):
		return events.JobSpec{}, fmt.Errorf("output path %q is not absolute", s.OutputPath)
	case s.OutputPath != "" && s.XYZ != nil:
		return events.JobSpec{}, errors.New("the web-map tiles are rendered from an output object: not with an output path")
	case s.OutputPath != "":
		job.Labels[LabelOutputPath] = s.OutputPath
	default:
		if s.Output == "" {
			s.Output = fmt.Sprintf("jobs/%s/%s.tif", s.ID, s.Op)
		}
		job.Labels[LabelOutput] = s.Output
	}
	prefix := "jobs/" + s.ID
	inPrefix := func(k int) string { return fmt.Sprintf("%s/in%d", prefix, k) }
	outPrefix := prefix + "/out"
	var cuts []string
	for k, in := range s.Inputs {
		if byPath {
			break
		}
		id := fmt.Sprintf("cut-%d", k)
		job.Tasks = append(job.Tasks, task(id, events.OpTileCut, events.TileCutParams{Source: in.Object, Grid: grid, Prefix: inPrefix(k)}, nil, in.Object))
		cuts = append(cuts, id)
	}
	var part func(t raster.Tile) *events.TilePart
	if parts {
		part = func(t raster.Tile) *events.TilePart {
			return &events.TilePart{X: t.Core.X, Y: t.Core.Y, Width: w, Height: h, Level: s.COGLevel, Compression: s.COGCompression}
		}
	} else {
		part = func(raster.Tile) *events.TilePart { return nil }
	}
	var computed, outputs []string
	for _, t := range tiles {
		out := events.TileObject(outPrefix, t.Core.X, t.Core.Y)
		id := fmt.Sprintf("tile-%d-%d", t.Core.X, t.Core.Y)
		var spec events.TaskSpec
		switch s.Op {
		case BandMath:
			p := events.TileBandMathParams{Output: out, Expr: s.Expr, Part: part(t)}
			for k, in := range s.Inputs {
				if byPath {
					p.InputPaths = append(p.InputPaths, in.Path)
					p.Window = &events.PixelWindow{X: t.Read.X, Y: t.Read.Y, W: t.Read.W, H: t.Read.H}
					continue
				}
				p.Inputs = append(p.Inputs, events.TileObject(inPrefix(k), t.Core.X, t.Core.Y))
			}
			spec = task(id, events.OpTileBandMath, p, cuts, p.Inputs...)
		default:
			op := events.OpTileHillshade
			if s.Op == Slope {
				op = events.OpTileSlope
			}
			p := events.TileTerrainParams{Output: out, Tile: ref(out, t), Band: s.Band,
				Scale: s.Scale, ZFactor: s.ZFactor, Azimuth: s.Azimuth, Altitude: s.Altitude, Percent: s.Percent, Part: part(t)}
			if byPath {
				p.InputPath = s.Inputs[0].Path
				spec = task(id, op, p, nil)
			} else {
				p.Input = events.TileObject(inPrefix(0), t.Core.X, t.Core.Y)
				spec = task(id, op, p, cuts, p.Input)
			}
		}
		job.Tasks = append(job.Tasks, spec)
		computed = append(computed, id)
		outputs = append(outputs, out)
	}
	if len(outputs) > events.DefaultLimits.MaxInputs {
		outputs = nil // inputs are a locality hint: past the limit, none
	}
	assemble := events.TileAssembleParams{Grid: events.TileGrid{Width: w, Height: h, TileSize: s.TileSize}, Prefix: outPrefix, Output: s.Output,
		OutputPath: s.OutputPath, Parts: parts, Level: s.COGLevel, Compression: s.COGCompression}
	job.Tasks = append(job.Tasks, task("assemble", events.OpTileAssemble, assemble, computed, outputs...))
	if s.XYZ != nil {
		xyz := events.TileXYZParams{Input: s.Output, Prefix: prefix + "/xyz", MinZoom: s.XYZ.MinZoom, MaxZoom: s.XYZ.MaxZoom, Min: s.XYZ.Min, Max: s.XYZ.Max}
		job.Tasks = append(job.Tasks, task("xyz", events.OpTileXYZ, xyz, []string{"assemble"}, s.Output))
		job.Labels["xyz"] = xyz.Prefix
	}
	return job, nil
}

// cogBlock is the block size of the output COG (raster.COGOptions' default,
// which the assemble task writes).
const cogBlock = 512

func ref(object string, t raster.Tile) events.TileRef {
	return events.TileRef{
		Object: object,
		Core:   events.PixelWindow{X: t.Core.X, Y: t.Core.Y, W: t.Core.W, H: t.Core.H},
		Read:   events.PixelWindow{X: t.Read.X, Y: t.Read.Y, W: t.Read.W, H: t.Read.H},
	}
}

func task(id, op string, params any, deps []string, inputs ...string) events.TaskSpec {
	raw, _ := json.Marshal(params) // plain structs of this package: cannot fail
	return events.TaskSpec{ID: id, Op: op, Params: raw, Deps: deps, Inputs: inputs}
}
