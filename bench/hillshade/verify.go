package main

import (
	"fmt"
	"math"

	"github.com/geocluster/geocluster/libs/raster"
)

// verdict is how one of our outputs compares with gdaldem's, both decoded
// with raster.ReadFile.
type verdict struct {
	name    string
	pixels  int     // pixels compared
	differ  int     // pixels whose values differ
	maxDiff float64 // largest absolute difference
	grid    string  // a mismatch of size, type, nodata or georeferencing; "" if none
}

// ok reports whether the output agrees with gdaldem's as GEOSPATIAL.md
// asks: the same grid, every pixel within 1. (Bit for bit is not
// reachable across machines: on an AMD EPYC, glibc's FMA variants of the
// math functions gdaldem calls move a few hundred of 64 million pixels by
// one gray level against an Intel Xeon's result, while ours do not move.)
func (v verdict) ok() bool { return v.grid == "" && v.maxDiff <= 1 }

// verify compares our outputs with gdaldem's.
func verify(outs outputs, tiled, cluster, clusterPath bool) ([]verdict, error) {
	want, err := raster.ReadFile(outs.gdal)
	if err != nil {
		return nil, fmt.Errorf("read gdaldem's output: %w", err)
	}
	files := []struct{ name, path string }{{"one process", outs.ours}}
	if tiled {
		files = append(files, struct{ name, path string }{"one process, tiled", outs.tiled})
	}
	if cluster {
		files = append(files, struct{ name, path string }{"cluster (the assembled COG)", outs.cluster})
	}
	if clusterPath {
		files = append(files, struct{ name, path string }{"cluster reading the DEM by path (the assembled COG)", outs.clusterPath})
	}
	var vs []verdict
	var ours *raster.Raster
	for _, f := range files {
		got, err := raster.ReadFile(f.path)
		if err != nil {
			return nil, fmt.Errorf("read our output: %w", err)
		}
		v := compare(want, got)
		v.name = f.name
		vs = append(vs, v)
		if f.path == outs.ours {
			ours = got // the first file: the others are compared with it
		} else {
			// The tiled and cluster outputs must be the one process's, bit
			// for bit: no seams.
			if s := compare(ours, got); s.grid != "" || s.differ > 0 {
				return nil, fmt.Errorf("%s differs from the one process's output in %d pixels %s", f.name, s.differ, s.grid)
			}
		}
	}
	return vs, nil
}

// compare counts the pixels of got that differ from want.
func compare(want, got *raster.Raster) verdict {
	switch {
	case got.Width != want.Width || got.Height != want.Height || got.Bands() != want.Bands():
		return verdict{grid: fmt.Sprintf("%dx%dx%d, gdaldem's %dx%dx%d",
			got.Width, got.Height, got.Bands(), want.Width, want.Height, want.Bands())}
	case got.Type != want.Type:
		return verdict{grid: fmt.Sprintf("type %v, gdaldem's %v", got.Type, want.Type)}
	case got.HasNoData != want.HasNoData || got.NoData != want.NoData:
		return verdict{grid: fmt.Sprintf("nodata %v (%v), gdaldem's %v (%v)", got.NoData, got.HasNoData, want.NoData, want.HasNoData)}
	case got.Transform != want.Transform || got.EPSG != want.EPSG:
		return verdict{grid: fmt.Sprintf("geotransform %v EPSG:%d, gdaldem's %v EPSG:%d", got.Transform, got.EPSG, want.Transform, want.EPSG)}
	}
	v := verdict{pixels: want.Width * want.Height}
	for b, plane := range want.Pix {
		for i, w := range plane {
			if g := got.Pix[b][i]; g != w {
				v.differ++
				v.maxDiff = max(v.maxDiff, math.Abs(g-w))
			}
		}
	}
	return v
}
