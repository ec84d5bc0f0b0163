package raster

import "fmt"

// Focal operations (terrain) need neighbours: a tile computed on its own
// would see a false raster edge along each side it shares with another tile.
// The cluster therefore cuts a raster into Tiles: each has a Core, the pixels
// the tile produces, and a Read window, the Core grown by a halo of real
// neighbouring pixels and clipped to the raster. A tile task receives
// Crop(src, Read) and computes only Local(), the Core in the crop's pixel
// coordinates, with one of the *Window operations:
//
//	sub, _ := raster.Crop(src, t.Read)
//	out, _ := raster.HillshadeWindow(sub, 0, p, t.Local())
//	raster.Paste(dst, out, t.Core.X, t.Core.Y)
//
// A task that holds no decoded source reads the same pixels straight from
// the file, decoding only the chunks they lie in: Open(file) once, then
// ReadWindow(t.Read) equals Crop(src, t.Read).
//
// Because the crop stops only where the source stops, every edge of the crop
// that is not a true raster edge lies at least Halo pixels from the Core, so
// the tile's pixels equal those of the whole-raster computation bit for bit,
// for any tile size. Terrain operations need a halo of 1 (TerrainHalo).

// TerrainHalo is the halo the 3x3 terrain operations need.
const TerrainHalo = 1

// Tile is one piece of a raster cut for tiled processing.
type Tile struct {
	// Core is the part of the raster the tile produces, in source pixels.
	Core Window
	// Read is Core grown by the halo and clipped to the raster: the pixels
	// the tile task needs, in source pixels.
	Read Window
}

// Local is Core in the pixel coordinates of Crop(src, Read).
func (t Tile) Local() Window {
	return Window{X: t.Core.X - t.Read.X, Y: t.Core.Y - t.Read.Y, W: t.Core.W, H: t.Core.H}
}

// Tiles cuts a width x height raster into tiles of at most size x size
// pixels in row-major order, each with a halo of halo pixels. Edge tiles are
// narrower where the size does not divide the raster.
func Tiles(width, height, size, halo int) ([]Tile, error) {
	if width <= 0 || height <= 0 {
		return nil, fmt.Errorf("%w: %dx%d", ErrSize, width, height)
	}
	if size <= 0 || halo < 0 {
		return nil, fmt.Errorf("%w: tile size %d, halo %d", ErrParam, size, halo)
	}
	full := Window{W: width, H: height}
	nx, ny := (width+size-1)/size, (height+size-1)/size
	tiles := make([]Tile, 0, nx*ny)
	for y := 0; y < height; y += size {
		for x := 0; x < width; x += size {
			core := Window{X: x, Y: y, W: min(size, width-x), H: min(size, height-y)}
			tiles = append(tiles, Tile{Core: core, Read: core.Grow(halo).Intersect(full)})
		}
	}
	return tiles, nil
}
