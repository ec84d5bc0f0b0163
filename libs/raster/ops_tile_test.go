package raster

import (
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTilesCoverRasterOnceWithClippedHalos(t *testing.T) {
	for _, c := range []struct{ w, h, size, halo int }{
		{1007, 633, 256, 1}, {1007, 633, 100, 1}, {64, 64, 64, 1}, {10, 7, 3, 2}, {5, 5, 1, 0},
	} {
		t.Run(fmt.Sprint(c), func(t *testing.T) {
			tiles, err := Tiles(c.w, c.h, c.size, c.halo)
			require.NoError(t, err)
			seen := make([]int, c.w*c.h)
			full := Window{W: c.w, H: c.h}
			for _, tl := range tiles {
				require.True(t, tl.Core.In(full))
				assert.Equal(t, tl.Core.Grow(c.halo).Intersect(full), tl.Read)
				assert.Equal(t, tl.Core.W, tl.Local().W)
				assert.True(t, tl.Local().In(Window{W: tl.Read.W, H: tl.Read.H}))
				for y := tl.Core.Y; y < tl.Core.Y+tl.Core.H; y++ {
					for x := tl.Core.X; x < tl.Core.X+tl.Core.W; x++ {
						seen[y*c.w+x]++
					}
				}
			}
			for i, n := range seen {
				require.Equal(t, 1, n, "pixel %d covered %d times", i, n)
			}
		})
	}
	_, err := Tiles(10, 10, 0, 1)
	assert.ErrorIs(t, err, ErrParam)
	_, err = Tiles(0, 10, 4, 1)
	assert.ErrorIs(t, err, ErrSize)
}

// opsSyntheticDEM is a w x h DEM of type t with ridges, noise, flat areas and
// nodata holes, on square 10 m pixels.
func opsSyntheticDEM(w, h int, t DataType) *Raster {
	r, _ := New(w, h, 1, t)
	r.Transform = GeoTransform{500000, 10, 0, 4000000, 0, -10}
	r.EPSG = 32613
	r.NoData, r.HasNoData = -9999, true
	if t == Uint16 {
		r.NoData = 0
	}
	for y := range h {
		for x := range w {
			v := 2000 + 300*math.Sin(float64(x)/37)*math.Cos(float64(y)/23) + float64((x*7919+y*104729)%13) + 0.37*float64(x)
			if x > w/2 && x < w/2+20 && y > h/3 { // a plateau
				v = 2100
			}
			r.Pix[0][y*w+x] = t.Convert(v)
			if (x*31+y*17)%211 == 0 || (x >= 40 && x < 60 && y >= 30 && y < 45) || (y == 0 && x%9 == 0) {
				r.Pix[0][y*w+x] = r.NoData
			}
		}
	}
	return r
}

// opsTiled runs op tile by tile with a halo of 1 and assembles the result.
func opsTiled(t *testing.T, src *Raster, size int, op func(sub *Raster, win Window) (*Raster, error)) *Raster {
	t.Helper()
	tiles, err := Tiles(src.Width, src.Height, size, TerrainHalo)
	require.NoError(t, err)
	var dst *Raster
	for _, tl := range tiles {
		sub, err := Crop(src, tl.Read)
		require.NoError(t, err)
		out, err := op(sub, tl.Local())
		require.NoError(t, err)
		if dst == nil {
			dst, err = New(src.Width, src.Height, 1, out.Type)
			require.NoError(t, err)
			dst.NoData, dst.HasNoData, dst.Georef = out.NoData, out.HasNoData, src.Georef
		}
		require.NoError(t, Paste(dst, out, tl.Core.X, tl.Core.Y))
		// Crop then window: the same origin up to rounding.
		want := src.Transform.Offset(float64(tl.Core.X), float64(tl.Core.Y))
		require.InDeltaSlice(t, want[:], out.Transform[:], 1e-9*math.Abs(src.Transform[1]))
	}
	return dst
}

func TestTiledTerrainEqualsWholeRasterBitForBit(t *testing.T) {
	hs := DefaultHillshadeParams()
	hsEdges := hs
	hsEdges.ComputeEdges = true
	ops := map[string]func(src *Raster, win Window) (*Raster, error){
		"hillshade": func(s *Raster, w Window) (*Raster, error) { return HillshadeWindow(s, 0, hs, w) },
		"hillshade edges": func(s *Raster, w Window) (*Raster, error) {
			return HillshadeWindow(s, 0, hsEdges, w)
		},
		"slope edges": func(s *Raster, w Window) (*Raster, error) {
			return SlopeWindow(s, 0, SlopeParams{Scale: 1, ZFactor: 1, ComputeEdges: true}, w)
		},
		"aspect": func(s *Raster, w Window) (*Raster, error) { return AspectWindow(s, 0, AspectParams{}, w) },
	}
	for _, c := range []struct {
		dt    DataType
		w, h  int
		sizes []int
	}{
		{Float32, 300, 211, []int{64, 100, 256, 17}},
		{Uint16, 300, 211, []int{64, 100, 256, 17}},
		{Float32, 23, 17, []int{1, 2, 3}},
	} {
		src, dt := opsSyntheticDEM(c.w, c.h, c.dt), c.dt
		for name, op := range ops {
			whole, err := op(src, src.Bounds())
			require.NoError(t, err)
			for _, size := range c.sizes {
				t.Run(fmt.Sprintf("%s %v %dx%d tiles of %d", name, dt, c.w, c.h, size), func(t *testing.T) {
					tiled := opsTiled(t, src, size, op)
					if name == "hillshade" && size == 64 && dt == Float32 {
						// True edges stay nodata, tile edges (x 63|64) do not.
						for y := range src.Height {
							assert.Equal(t, 0.0, tiled.At(0, 0, y))
							assert.Equal(t, 0.0, tiled.At(0, src.Width-1, y))
						}
						assert.NotZero(t, tiled.At(0, 63, 100))
						assert.NotZero(t, tiled.At(0, 64, 100))
					}
					for i, want := range whole.Pix[0] {
						if math.Float64bits(want) != math.Float64bits(tiled.Pix[0][i]) {
							t.Fatalf("pixel %d,%d: whole %v, tiled %v", i%src.Width, i/src.Width, want, tiled.Pix[0][i])
						}
					}
				})
			}
		}
	}
}
