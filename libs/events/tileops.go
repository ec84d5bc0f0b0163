package events

import (
	"encoding/json"
	"fmt"
)

// Tile operations: the raster pipeline runs as ordinary DAG tasks. A cut
// task writes a source raster's tiles (with halos) to geo_tiles, one task per
// tile computes an operation, and an assemble task pastes the result tiles
// into one output (a Cloud-Optimized GeoTIFF). Objects are named by the
// planner (libs/pipeline); every tile object is a compressed GeoTIFF.
const (
	OpTileCut       = "tile_cut"
	OpTileHillshade = "tile_hillshade"
	OpTileSlope     = "tile_slope"
	OpTileBandMath  = "tile_bandmath"
	OpTileAssemble  = "tile_assemble"
	OpTileXYZ       = "tile_xyz"
)

// MaxXYZTiles bounds the web-map tiles one tile_xyz task renders.
const MaxXYZTiles = 4096

// TileXYZParams: render Input as web-mercator PNG tiles of zooms MinZoom to
// MaxZoom, stored as <prefix>/<z>/<x>/<y>.png (nodata transparent). Min and
// Max stretch non-Byte samples onto gray levels.
type TileXYZParams struct {
	Input   string  `json:"input"`
	Prefix  string  `json:"prefix"`
	MinZoom int     `json:"min_zoom"`
	MaxZoom int     `json:"max_zoom"`
	Band    int     `json:"band,omitempty"`
	Min     float64 `json:"min,omitempty"`
	Max     float64 `json:"max,omitempty"`
}

// PixelWindow is a rectangle of pixels of a source raster.
type PixelWindow struct {
	X int `json:"x"`
	Y int `json:"y"`
	W int `json:"w"`
	H int `json:"h"`
}

func (w PixelWindow) check(field string) error {
	if w.X < 0 || w.Y < 0 || w.W <= 0 || w.H <= 0 || w.X > 1<<20 || w.Y > 1<<20 || w.W > 1<<20 || w.H > 1<<20 {
		return invalid(field, "window %+v must have x, y in 0..1048576 and w, h in 1..1048576", w)
	}
	return nil
}

// TileRef names one tile object and the pixels of the source it covers.
type TileRef struct {
	Object string      `json:"object"`
	Core   PixelWindow `json:"core"` // the pixels the tile produces
	Read   PixelWindow `json:"read"` // core grown by the halo, clipped to the source
}

// TileGrid is how a Width x Height raster is cut: square tiles of TileSize
// whose read windows reach Halo pixels further (libs/raster.Tiles). Tile
// objects of a grid are named <prefix>/<core x>_<core y>.tif.
type TileGrid struct {
	Width    int `json:"width"`
	Height   int `json:"height"`
	TileSize int `json:"tile_size"`
	Halo     int `json:"halo,omitempty"`
}

// TileObject names the tile of a grid whose core starts at (x, y).
func TileObject(prefix string, x, y int) string {
	return fmt.Sprintf("%s/%d_%d.tif", prefix, x, y)
}

// Bounds of a grid: what one tile_cut or tile_assemble task may be asked to
// hold (a 40000 x 40000 raster is 12.8 GB as float64 samples).
const (
	MaxGridPixels = 40000 * 40000
	MaxGridTiles  = 100000
)

// Tiles is the number of tiles of the grid.
func (g TileGrid) Tiles() int64 {
	if g.TileSize <= 0 {
		return 0
	}
	ts := int64(g.TileSize)
	return (int64(g.Width) + ts - 1) / ts * ((int64(g.Height) + ts - 1) / ts)
}

func (g TileGrid) check(field string) error {
	switch {
	case g.Width <= 0 || g.Height <= 0 || g.Width > 1<<20 || g.Height > 1<<20:
		return invalid(field, "width and height must be 1 to 1048576")
	case g.TileSize < 16 || g.TileSize > 16384:
		return invalid(field+".tile_size", "must be 16 to 16384")
	case g.Halo < 0 || g.Halo > 64:
		return invalid(field+".halo", "must be 0 to 64")
	case int64(g.Width)*int64(g.Height) > MaxGridPixels:
		return tooLarge(field, "%d x %d pixels, the limit is %d", g.Width, g.Height, MaxGridPixels)
	case g.Tiles() > MaxGridTiles:
		return tooLarge(field, "%d tiles, the limit is %d", g.Tiles(), MaxGridTiles)
	}
	return nil
}

// TileCutParams: read Source from geo_tiles and write the read window of
// every tile of Grid under Prefix.
type TileCutParams struct {
	Source string   `json:"source"`
	Grid   TileGrid `json:"grid"`
	Prefix string   `json:"prefix"`
}

// TileTerrainParams: hillshade or slope of one tile. Input holds the tile's
// Read window; Output receives the Core window's result. With InputPath
// instead of Input, the tile reads its Read window straight from that
// GeoTIFF on a file system every worker mounts (only under the workers'
// data directories): no cut task, and only the chunks the window touches
// are decoded.
type TileTerrainParams struct {
	Input     string  `json:"input,omitempty"`
	InputPath string  `json:"input_path,omitempty"`
	Output    string  `json:"output"`
	Tile      TileRef `json:"tile"`
	Band      int     `json:"band,omitempty"` // 0-based
	// ZFactor, Scale, Azimuth, Altitude as gdaldem (defaults 1, 1, 315, 45).
	ZFactor  float64  `json:"z_factor,omitempty"`
	Scale    float64  `json:"scale,omitempty"`
	Azimuth  *float64 `json:"azimuth,omitempty"`
	Altitude *float64 `json:"altitude,omitempty"`
	// Percent gives slope in percent instead of degrees.
	Percent bool `json:"percent,omitempty"`
	// Part, when set, makes Output the tile's part of the output COG
	// instead of a tile GeoTIFF (see TilePart).
	Part *TilePart `json:"part,omitempty"`
}

// TilePart places a tile task's result in the output of its pipeline: the
// task writes Output as its part of the output Cloud-Optimized GeoTIFF
// (libs/raster.EncodeCOGPart: the COG's compressed blocks and the overview
// levels its pixels alone determine), for a tile_assemble task with Parts
// set. X and Y are the tile's top-left pixel in the Width x Height output;
// Level is the output COG's Deflate level, as TileAssembleParams.Level.
type TilePart struct {
	X           int    `json:"x"`
	Y           int    `json:"y"`
	Width       int    `json:"width"`
	Height      int    `json:"height"`
	Level       int    `json:"level,omitempty"`
	Compression string `json:"compression,omitempty"`
}

// COG compressions of a pipeline's output: Deflate (the default, "") or
// none (the blocks stored as they are, as gdaldem's default GTiff).
const (
	COGDeflate = "deflate"
	COGNone    = "none"
)

func checkCompression(field string, c string, level int) error {
	switch c {
	case "", COGDeflate:
		return nil
	case COGNone:
		if level != 0 {
			return invalid(field, "an uncompressed COG takes no Deflate level, got %d", level)
		}
		return nil
	}
	return invalid(field, "%q is not %q or %q", c, COGDeflate, COGNone)
}

// MaxDeflateLevel is the highest Deflate level of an output COG.
const MaxDeflateLevel = 9

func checkLevel(field string, level int) error {
	if level < 0 || level > MaxDeflateLevel {
		return invalid(field, "Deflate level %d must be 1 to %d (0: 6, GDAL's default)", level, MaxDeflateLevel)
	}
	return nil
}

func (p *TilePart) check(field string) error {
	if p == nil {
		return nil
	}
	switch {
	case p.Width <= 0 || p.Height <= 0 || p.Width > 1<<20 || p.Height > 1<<20:
		return invalid(field+".width", "width and height must be 1 to 1048576, got %d x %d", p.Width, p.Height)
	case p.X < 0 || p.Y < 0 || p.X >= p.Width || p.Y >= p.Height:
		return invalid(field+".x", "x, y (%d, %d) must lie inside the %d x %d output", p.X, p.Y, p.Width, p.Height)
	}
	if err := checkLevel(field+".level", p.Level); err != nil {
		return err
	}
	return checkCompression(field+".compression", p.Compression, p.Level)
}

// TileBandMathParams: an expression over the bands of Inputs (b1, b2, …
// numbered across the inputs in order), tile by tile. With InputPaths and
// Window instead of Inputs, the tile reads Window of each file (as
// TileTerrainParams.InputPath).
type TileBandMathParams struct {
	Inputs     []string     `json:"inputs,omitempty"`
	InputPaths []string     `json:"input_paths,omitempty"`
	Window     *PixelWindow `json:"window,omitempty"`
	Output     string       `json:"output"`
	Expr       string       `json:"expr"`
	// Part as TileTerrainParams.Part.
	Part *TilePart `json:"part,omitempty"`
}

// MaxPathLen bounds a file path in task params.
const MaxPathLen = 4096

// checkPath checks one path field: absolute, at most MaxPathLen bytes.
func checkPath(field, p string) error {
	if p == "" || len(p) > MaxPathLen || p[0] != '/' {
		return invalid(field, "must be an absolute path of at most %d bytes", MaxPathLen)
	}
	return nil
}

func checkPaths(field string, paths ...string) error {
	for i, p := range paths {
		if p == "" || len(p) > MaxPathLen || p[0] != '/' {
			return invalid(fmt.Sprintf("%s[%d]", field, i), "must be an absolute path of at most %d bytes", MaxPathLen)
		}
	}
	return nil
}

// TileAssembleParams: paste the result tiles of Grid (each covering its
// core window, named under Prefix) into one raster written to Output as a
// Cloud-Optimized GeoTIFF. With Parts the tiles are parts of that COG
// (written with TilePart): their compressed blocks are copied into it
// without decoding them. Level is the COG's Deflate level (0: 6, GDAL's
// default; 1 compresses about three times faster, to a file about a tenth
// larger for a hillshade).
//
// With OutputPath the COG is written to that file instead of the object
// Output: an absolute path in one of the worker's output directories
// (GEO_WORKER_OUTPUT_DIRS, a file system the workers share), written to a
// temporary file beside it and renamed into place, so a reader never sees
// a partial file and a retried task replaces it whole.
type TileAssembleParams struct {
	Grid       TileGrid `json:"grid"`
	Prefix     string   `json:"prefix"`
	Output     string   `json:"output,omitempty"`
	OutputPath string   `json:"output_path,omitempty"`
	Parts      bool     `json:"parts,omitempty"`
	Level      int      `json:"level,omitempty"`
	// Compression of the COG: COGDeflate ("", the default) or COGNone.
	Compression string `json:"compression,omitempty"`
}

func tileOps() OpCatalog {
	objects := func(field string, names ...string) error {
		for _, n := range names {
			if n == "" || len(n) > 1024 {
				return invalid(field, "object names are 1 to 1024 bytes")
			}
		}
		return nil
	}
	return OpCatalog{
		OpTileCut: func(raw json.RawMessage) error {
			var p TileCutParams
			if err := DecodeParams(raw, &p); err != nil {
				return err
			}
			if err := objects("source", p.Source); err != nil {
				return err
			}
			if err := objects("prefix", p.Prefix); err != nil {
				return err
			}
			return p.Grid.check("grid")
		},
		OpTileHillshade: terrainCheck,
		OpTileSlope:     terrainCheck,
		OpTileBandMath: func(raw json.RawMessage) error {
			var p TileBandMathParams
			if err := DecodeParams(raw, &p); err != nil {
				return err
			}
			switch {
			case len(p.Inputs) > 0 && len(p.InputPaths) > 0:
				return invalid("inputs", "give inputs or input_paths, not both")
			case len(p.InputPaths) > 0:
				if err := checkPaths("input_paths", p.InputPaths...); err != nil {
					return err
				}
				if p.Window == nil {
					return invalid("window", "is required with input_paths")
				}
				if err := p.Window.check("window"); err != nil {
					return err
				}
			case len(p.Inputs) == 0:
				return invalid("inputs", "at least one input")
			default:
				if err := objects("inputs", p.Inputs...); err != nil {
					return err
				}
			}
			if p.Expr == "" {
				return invalid("expr", "is required")
			}
			if err := p.Part.check("part"); err != nil {
				return err
			}
			return objects("output", p.Output)
		},
		OpTileXYZ: func(raw json.RawMessage) error {
			var p TileXYZParams
			if err := DecodeParams(raw, &p); err != nil {
				return err
			}
			if err := objects("input", p.Input); err != nil {
				return err
			}
			if err := objects("prefix", p.Prefix); err != nil {
				return err
			}
			if p.MinZoom < 0 || p.MaxZoom > 22 || p.MinZoom > p.MaxZoom {
				return invalid("min_zoom", "zooms must satisfy 0 <= min_zoom <= max_zoom <= 22")
			}
			if p.Band < 0 {
				return invalid("band", "must not be negative")
			}
			return nil
		},
		OpTileAssemble: func(raw json.RawMessage) error {
			var p TileAssembleParams
			if err := DecodeParams(raw, &p); err != nil {
				return err
			}
			if err := p.Grid.check("grid"); err != nil {
				return err
			}
			if err := objects("prefix", p.Prefix); err != nil {
				return err
			}
			if err := checkLevel("level", p.Level); err != nil {
				return err
			}
			if err := checkCompression("compression", p.Compression, p.Level); err != nil {
				return err
			}
			switch {
			case p.Output != "" && p.OutputPath != "":
				return invalid("output_path", "give output or output_path, not both")
			case p.OutputPath != "":
				return checkPath("output_path", p.OutputPath)
			}
			return objects("output", p.Output)
		},
	}
}

func (t TileRef) check(field string) error {
	if t.Object == "" || len(t.Object) > 1024 {
		return invalid(field+".object", "object names are 1 to 1024 bytes")
	}
	if err := t.Core.check(field + ".core"); err != nil {
		return err
	}
	return t.Read.check(field + ".read")
}

func terrainCheck(raw json.RawMessage) error {
	var p TileTerrainParams
	if err := DecodeParams(raw, &p); err != nil {
		return err
	}
	switch {
	case p.Input != "" && p.InputPath != "":
		return invalid("input", "give input or input_path, not both")
	case p.InputPath != "":
		if err := checkPaths("input_path", p.InputPath); err != nil {
			return err
		}
	case p.Input == "":
		return invalid("input", "an input object or input_path is required")
	}
	if p.Output == "" || len(p.Output) > 1024 {
		return invalid("output", "object names are 1 to 1024 bytes")
	}
	if p.Band < 0 {
		return invalid("band", "must not be negative")
	}
	if p.ZFactor < 0 || p.Scale < 0 {
		return invalid("scale", "z_factor and scale must not be negative")
	}
	if err := p.Part.check("part"); err != nil {
		return err
	}
	if p.Part != nil && (p.Part.X != p.Tile.Core.X || p.Part.Y != p.Tile.Core.Y) {
		return invalid("part.x", "the part at (%d, %d) must be the tile's core at (%d, %d)", p.Part.X, p.Part.Y, p.Tile.Core.X, p.Tile.Core.Y)
	}
	return p.Tile.check("tile")
}
