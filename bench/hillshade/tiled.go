package main

import (
	"errors"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/geocluster/geocluster/libs/raster"
)

// hillshadeTiled is raster.Hillshade of band 0 of src computed the way the
// cluster's tile tasks compute it: src cut into tiles of size x size with
// the terrain halo, each cropped, shaded over its core and pasted into the
// output, on workers goroutines. The result equals raster.Hillshade's bit
// for bit (checked by verify). It also returns the number of tiles.
func hillshadeTiled(src *raster.Raster, p raster.HillshadeParams, size, workers int) (*raster.Raster, int, error) {
	tiles, err := raster.Tiles(src.Width, src.Height, size, raster.TerrainHalo)
	if err != nil {
		return nil, 0, err
	}
	dst, err := raster.New(src.Width, src.Height, 1, raster.Uint8)
	if err != nil {
		return nil, 0, err
	}
	dst.NoData, dst.HasNoData = raster.HillshadeNoData, true
	dst.Georef = src.Georef
	dst.GeoKeys = slices.Clone(src.GeoKeys)

	var next atomic.Int64
	var failed atomic.Bool
	errs := make([]error, max(1, workers))
	var wg sync.WaitGroup
	for w := range errs {
		wg.Go(func() {
			for !failed.Load() {
				i := int(next.Add(1) - 1)
				if i >= len(tiles) {
					return
				}
				if err := shadeTile(dst, src, p, tiles[i]); err != nil {
					errs[w] = err
					failed.Store(true)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, 0, err
	}
	return dst, len(tiles), nil
}

// shadeTile computes one tile into its core of dst; tiles' cores do not
// overlap, so tiles can be pasted concurrently.
func shadeTile(dst, src *raster.Raster, p raster.HillshadeParams, t raster.Tile) error {
	sub, err := raster.Crop(src, t.Read)
	if err != nil {
		return err
	}
	out, err := raster.HillshadeWindow(sub, 0, p, t.Local())
	if err != nil {
		return err
	}
	return raster.Paste(dst, out, t.Core.X, t.Core.Y)
}
