package worker

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/paulmach/orb/maptile"

	"github.com/geocluster/geocluster/libs/events"
	"github.com/geocluster/geocluster/libs/raster"
)

// The tile ops of the raster pipeline (see events.OpTileCut and friends).
// Tiles travel through geo_tiles as ZSTD-compressed (level 1) GeoTIFFs with the
// predictor of their sample type.

// tileCut reads a source raster and writes each tile's read window.
func tileCut(ctx context.Context, t Task) (json.RawMessage, error) {
	var p events.TileCutParams
	if err := decodeParams(t, &p); err != nil {
		return nil, err
	}
	src, err := getRaster(ctx, t.Tiles, p.Source)
	if err != nil {
		return nil, err
	}
	if src.Width != p.Grid.Width || src.Height != p.Grid.Height {
		return nil, Permanent(fmt.Errorf("source %s is %dx%d, the grid %dx%d", p.Source, src.Width, src.Height, p.Grid.Width, p.Grid.Height))
	}
	tiles, err := raster.Tiles(p.Grid.Width, p.Grid.Height, p.Grid.TileSize, p.Grid.Halo)
	if err != nil {
		return nil, Permanent(err)
	}
	for _, tile := range tiles {
		name := events.TileObject(p.Prefix, tile.Core.X, tile.Core.Y)
		sub, err := raster.Crop(src, tile.Read)
		if err != nil {
			return nil, Permanent(fmt.Errorf("cut %s: %w", name, err))
		}
		if _, err := putRaster(ctx, t.Tiles, name, sub, false); err != nil {
			return nil, err
		}
	}
	return json.Marshal(map[string]int{"tiles": len(tiles)})
}

// tileTerrain computes hillshade or slope of one tile's core window. A tile
// read by path is decoded straight from the file into the samples the
// operation computes in (raster.Dataset.HillshadeWindow).
func tileTerrain(ctx context.Context, t Task) (json.RawMessage, error) {
	var p events.TileTerrainParams
	if err := decodeParams(t, &p); err != nil {
		return nil, err
	}
	hp := raster.DefaultHillshadeParams()
	sp := raster.DefaultSlopeParams()
	if p.ZFactor > 0 {
		hp.ZFactor, sp.ZFactor = p.ZFactor, p.ZFactor
	}
	if p.Scale > 0 {
		hp.Scale, sp.Scale = p.Scale, p.Scale
	}
	if p.Azimuth != nil {
		hp.Azimuth = *p.Azimuth
	}
	if p.Altitude != nil {
		hp.Altitude = *p.Altitude
	}
	sp.Percent = p.Percent
	read := raster.Window{X: p.Tile.Read.X, Y: p.Tile.Read.Y, W: p.Tile.Read.W, H: p.Tile.Read.H}
	core := raster.Window{X: p.Tile.Core.X, Y: p.Tile.Core.Y, W: p.Tile.Core.W, H: p.Tile.Core.H}
	var out *raster.Raster
	if p.InputPath != "" {
		ds, err := openPath(t.DataDirs, p.InputPath)
		if err != nil {
			return nil, err
		}
		defer func() { _ = ds.Close() }()
		if t.Op == events.OpTileHillshade && p.Part != nil && p.Part.X == core.X && p.Part.Y == core.Y {
			// The part straight from the DEM: gray levels as bytes, no
			// raster of float64 samples in between.
			var buf bytes.Buffer
			if err := ds.HillshadeCOGPart(&buf, read, core, p.Band, hp, p.Part.Width, p.Part.Height, outputCOG(p.Part.Level, p.Part.Compression)); err != nil {
				return nil, Permanent(fmt.Errorf("%s of %s of %s: %w", t.Op, core, p.InputPath, err))
			}
			return putBytes(ctx, t.Tiles, p.Output, buf.Bytes(), core.W, core.H)
		}
		if t.Op == events.OpTileHillshade {
			out, err = ds.HillshadeWindow(read, core, p.Band, hp)
		} else {
			out, err = ds.SlopeWindow(read, core, p.Band, sp)
		}
		if err != nil {
			return nil, Permanent(fmt.Errorf("%s of %s of %s: %w", t.Op, core, p.InputPath, err))
		}
	} else {
		in, err := getRaster(ctx, t.Tiles, p.Input)
		if err != nil {
			return nil, err
		}
		// The core window in the tile's own pixels.
		local := raster.Window{X: core.X - read.X, Y: core.Y - read.Y, W: core.W, H: core.H}
		if t.Op == events.OpTileHillshade {
			out, err = raster.HillshadeWindow(in, p.Band, hp, local)
		} else {
			out, err = raster.SlopeWindow(in, p.Band, sp, local)
		}
		if err != nil {
			return nil, Permanent(fmt.Errorf("%s of %s: %w", t.Op, p.Input, err))
		}
	}
	if p.Part != nil {
		return putPart(ctx, t.Tiles, p.Output, out, *p.Part)
	}
	return putRaster(ctx, t.Tiles, p.Output, out, false)
}

// tileBandMath evaluates an expression over the bands of aligned tiles.
func tileBandMath(ctx context.Context, t Task) (json.RawMessage, error) {
	var p events.TileBandMathParams
	if err := decodeParams(t, &p); err != nil {
		return nil, err
	}
	srcs := make([]*raster.Raster, 0, len(p.Inputs)+len(p.InputPaths))
	for _, name := range p.Inputs {
		r, err := getRaster(ctx, t.Tiles, name)
		if err != nil {
			return nil, err
		}
		srcs = append(srcs, r)
	}
	for _, path := range p.InputPaths {
		r, err := readWindow(t.DataDirs, path, *p.Window)
		if err != nil {
			return nil, err
		}
		srcs = append(srcs, r)
	}
	out, err := raster.BandMath(srcs, p.Expr, raster.BandMathOptions{})
	if err != nil {
		return nil, Permanent(fmt.Errorf("band math %q: %w", p.Expr, err))
	}
	if p.Part != nil {
		return putPart(ctx, t.Tiles, p.Output, out, *p.Part)
	}
	return putRaster(ctx, t.Tiles, p.Output, out, false)
}

// tileAssemble pastes result tiles into one raster and writes it as a COG.
func tileAssemble(ctx context.Context, t Task) (json.RawMessage, error) {
	var p events.TileAssembleParams
	if err := decodeParams(t, &p); err != nil {
		return nil, err
	}
	tiles, err := raster.Tiles(p.Grid.Width, p.Grid.Height, p.Grid.TileSize, p.Grid.Halo)
	if err != nil {
		return nil, Permanent(err)
	}
	if p.Parts {
		return assembleParts(ctx, t, p, tiles)
	}
	if p.Level != 0 || p.Compression != "" {
		return nil, Permanent(fmt.Errorf("level %d, compression %q: only an assembly of parts takes a level or a compression", p.Level, p.Compression))
	}
	var dst *raster.Raster
	for _, tile := range tiles {
		name := events.TileObject(p.Prefix, tile.Core.X, tile.Core.Y)
		r, err := getRaster(ctx, t.Tiles, name)
		if err != nil {
			return nil, err
		}
		if dst == nil {
			if dst, err = raster.New(p.Grid.Width, p.Grid.Height, r.Bands(), r.Type); err != nil {
				return nil, Permanent(err)
			}
			dst.NoData, dst.HasNoData = r.NoData, r.HasNoData
			dst.Georef = r.Georef
			dst.Transform = r.Transform.Offset(float64(-tile.Core.X), float64(-tile.Core.Y))
		}
		if err := raster.Paste(dst, r, tile.Core.X, tile.Core.Y); err != nil {
			return nil, Permanent(fmt.Errorf("paste %s: %w", name, err))
		}
	}
	if p.OutputPath != "" {
		return writeResult(t.OutputDirs, p.OutputPath, dst.Width, dst.Height, func(w io.Writer) error {
			if err := raster.EncodeCOG(w, dst, raster.COGOptions{}); err != nil {
				return Permanent(fmt.Errorf("encode %s: %w", p.OutputPath, err))
			}
			return nil
		})
	}
	return putRaster(ctx, t.Tiles, p.Output, dst, true)
}

// xyzCheckpointEvery is how many web-map tiles tile_xyz writes between
// checkpoints.
const xyzCheckpointEvery = 64

// tileXYZ renders a raster as web-mercator PNG tiles.
func tileXYZ(ctx context.Context, t Task) (json.RawMessage, error) {
	var p events.TileXYZParams
	if err := decodeParams(t, &p); err != nil {
		return nil, err
	}
	src, err := getRaster(ctx, t.Tiles, p.Input)
	if err != nil {
		return nil, err
	}
	var tiles []maptile.Tile
	for z := p.MinZoom; z <= p.MaxZoom; z++ {
		zt, err := raster.XYZTiles(src, z)
		if err != nil {
			return nil, Permanent(err)
		}
		tiles = append(tiles, zt...)
		if len(tiles) > events.MaxXYZTiles {
			return nil, Permanent(fmt.Errorf("zooms %d..%d need more than %d tiles", p.MinZoom, p.MaxZoom, events.MaxXYZTiles))
		}
	}
	// Progress is checkpointed: a rerun skips the tiles already written.
	done := 0
	if cp, err := t.LoadCheckpoint(ctx); err == nil {
		if n, err := strconv.Atoi(string(cp)); err == nil && n >= 0 && n <= len(tiles) {
			done = n
		}
	}
	for i, tile := range tiles {
		if i < done {
			continue
		}
		if i > done && i%xyzCheckpointEvery == 0 {
			if err := t.SaveCheckpoint(ctx, []byte(strconv.Itoa(i))); err != nil {
				return nil, err
			}
		}
		img, err := raster.XYZTile(src, tile, raster.XYZOptions{Band: p.Band, Min: p.Min, Max: p.Max})
		if err != nil {
			return nil, Permanent(err)
		}
		var buf bytes.Buffer
		if err := raster.EncodePNG(&buf, img); err != nil {
			return nil, Permanent(err)
		}
		name := fmt.Sprintf("%s/%d/%d/%d.png", p.Prefix, tile.Z, tile.X, tile.Y)
		if err := t.Tiles.Put(ctx, name, buf.Bytes()); err != nil {
			return nil, fmt.Errorf("put object %q: %w", name, err)
		}
	}
	return json.Marshal(map[string]any{"prefix": p.Prefix, "tiles": len(tiles), "resumed_at": done})
}

// TileResult is what a tile op that writes an object returns.
type TileResult struct {
	Object string `json:"object,omitempty"`
	// Path is the file an output written by path went to.
	Path   string `json:"path,omitempty"`
	Bytes  int    `json:"bytes"`
	SHA256 string `json:"sha256"`
	Width  int    `json:"width"`
	Height int    `json:"height"`
}

func getRaster(ctx context.Context, tiles TileStore, name string) (*raster.Raster, error) {
	data, err := tiles.Get(ctx, name)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return nil, Permanent(fmt.Errorf("object %q not found in %s", name, events.ObjectTiles))
	}
	if err != nil {
		return nil, fmt.Errorf("get object %q: %w", name, err)
	}
	r, err := raster.Decode(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, Permanent(fmt.Errorf("decode %q: %w", name, err))
	}
	return r, nil
}

// outputCOG are the options of a pipeline's output COG: the defaults of
// raster.COGOptions (512 blocks, Deflate, average overviews as GDAL's COG
// driver) at the Deflate level asked for (0: 6). Tile tasks writing parts
// and the assemble task share them.
func outputCOG(level int, compression string) raster.COGOptions {
	o := raster.COGOptions{EncodeOptions: raster.EncodeOptions{Level: level}}
	if compression == events.COGNone {
		o.Compression = raster.CompressionNone
	}
	return o
}

// putPart writes r as its part of the output COG (raster.EncodeCOGPart).
func putPart(ctx context.Context, tiles TileStore, name string, r *raster.Raster, part events.TilePart) (json.RawMessage, error) {
	var buf bytes.Buffer
	if err := raster.EncodeCOGPart(&buf, r, part.X, part.Y, part.Width, part.Height, outputCOG(part.Level, part.Compression)); err != nil {
		return nil, Permanent(fmt.Errorf("encode part %q: %w", name, err))
	}
	return putBytes(ctx, tiles, name, buf.Bytes(), r.Width, r.Height)
}

// assembleParts fetches the parts the tile tasks wrote, a few at a time,
// and assembles the COG from their compressed blocks.
func assembleParts(ctx context.Context, t Task, p events.TileAssembleParams, grid []raster.Tile) (json.RawMessage, error) {
	tiles := t.Tiles
	parts := make([]raster.COGPart, len(grid))
	err := fetchAll(ctx, len(grid), func(ctx context.Context, i int) error {
		c := grid[i].Core
		name := events.TileObject(p.Prefix, c.X, c.Y)
		data, err := tiles.Get(ctx, name)
		if errors.Is(err, jetstream.ErrObjectNotFound) {
			return Permanent(fmt.Errorf("object %q not found in %s", name, events.ObjectTiles))
		}
		if err != nil {
			return fmt.Errorf("get object %q: %w", name, err)
		}
		parts[i] = raster.COGPart{X: c.X, Y: c.Y, Data: data}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if p.OutputPath != "" {
		return writeResult(t.OutputDirs, p.OutputPath, p.Grid.Width, p.Grid.Height, func(w io.Writer) error {
			if err := raster.AssembleCOG(w, p.Grid.Width, p.Grid.Height, parts, outputCOG(p.Level, p.Compression)); err != nil {
				return Permanent(fmt.Errorf("assemble %s: %w", p.OutputPath, err))
			}
			return nil
		})
	}
	var buf bytes.Buffer
	if err := raster.AssembleCOG(&buf, p.Grid.Width, p.Grid.Height, parts, outputCOG(p.Level, p.Compression)); err != nil {
		return nil, Permanent(fmt.Errorf("assemble %q: %w", p.Output, err))
	}
	return putBytes(ctx, tiles, p.Output, buf.Bytes(), p.Grid.Width, p.Grid.Height)
}

// putRaster writes r as a ZSTD GeoTIFF (a Deflate COG when cog is set).
func putRaster(ctx context.Context, tiles TileStore, name string, r *raster.Raster, cog bool) (json.RawMessage, error) {
	var buf bytes.Buffer
	var err error
	if cog {
		err = raster.EncodeCOG(&buf, r, raster.COGOptions{})
	} else {
		pred := raster.PredictorHorizontal
		if !r.Type.IsInteger() {
			pred = raster.PredictorFloat
		}
		err = raster.Encode(&buf, r, raster.EncodeOptions{Tiled: true, Compression: raster.CompressionZSTD, Level: 1, Predictor: pred})
	}
	if err != nil {
		return nil, Permanent(fmt.Errorf("encode %q: %w", name, err))
	}
	return putBytes(ctx, tiles, name, buf.Bytes(), r.Width, r.Height)
}

// writeResult writes a width x height output to the file at path (see
// writeFile) and returns its TileResult.
func writeResult(dirs []string, path string, width, height int, write func(io.Writer) error) (json.RawMessage, error) {
	out, err := writeFile(dirs, path, write)
	if err != nil {
		return nil, err
	}
	return json.Marshal(TileResult{Path: out.Path, Bytes: int(out.Bytes), SHA256: out.SHA256, Width: width, Height: height})
}

// putBytes stores data, the encoding of a width x height raster, as name.
func putBytes(ctx context.Context, tiles TileStore, name string, data []byte, width, height int) (json.RawMessage, error) {
	if err := tiles.Put(ctx, name, data); err != nil {
		return nil, fmt.Errorf("put object %q: %w", name, err)
	}
	sum := sha256.Sum256(data)
	return json.Marshal(TileResult{Object: name, Bytes: len(data), SHA256: hex.EncodeToString(sum[:]), Width: width, Height: height})
}
