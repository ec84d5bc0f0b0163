package raster

import (
	"fmt"
	"math"
)

// readGeoref reads the GeoTIFF tags of an IFD into a Georef, the transform
// computed as GDAL does: from ModelTransformation, else from one tie point
// and the pixel scale; shifted by half a pixel when the keys say the raster
// is PixelIsPoint (GDAL's default, GTIFF_POINT_GEO_IGNORE=FALSE).
func readGeoref(d *ifd) (Georef, error) {
	var g Georef
	if d.has(tagGeoKeyDirectory) {
		dir, err := d.uints(tagGeoKeyDirectory, -1)
		if err != nil {
			return g, err
		}
		doubles, err := d.floats(tagGeoDoubleParams)
		if err != nil {
			return g, err
		}
		ascii, _, err := d.ascii(tagGeoASCIIParams)
		if err != nil {
			return g, err
		}
		if g.GeoKeys, err = parseGeoKeys(dir, doubles, ascii); err != nil {
			return g, err
		}
		g.EPSG = epsgOf(g.GeoKeys)
	}
	m, err := d.floats(tagModelTransformation)
	if err != nil {
		return g, err
	}
	tie, err := d.floats(tagModelTiepoint)
	if err != nil {
		return g, err
	}
	scale, err := d.floats(tagModelPixelScale)
	if err != nil {
		return g, err
	}
	switch {
	case len(m) >= 16:
		g.Transform = GeoTransform{m[3], m[0], m[1], m[7], m[4], m[5]}
	case len(tie) >= 6 && len(scale) >= 2:
		// Several tie points without a scale are GCPs, which GDAL does not
		// turn into a transform either.
		g.Transform = GeoTransform{
			tie[3] - tie[0]*scale[0], scale[0], 0,
			tie[4] + tie[1]*scale[1], 0, -scale[1],
		}
	case len(m) > 0:
		return g, fmt.Errorf("%w: ModelTransformation of %d values", ErrFormat, len(m))
	default:
		return g, nil
	}
	for _, v := range g.Transform {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return g, fmt.Errorf("%w: geotransform %v is not finite", ErrFormat, g.Transform)
		}
	}
	if rt, ok := findKey(g.GeoKeys, keyRasterType); ok && rt == rasterPixelPt {
		t := &g.Transform
		t[0] -= (t[1] + t[2]) / 2
		t[3] -= (t[4] + t[5]) / 2
	}
	return g, nil
}

// scaled is the transform of an overview of w x h pixels of a full image of
// fullW x fullH, as GDAL derives it.
func (t GeoTransform) scaled(fullW, fullH, w, h int) GeoTransform {
	sx, sy := float64(fullW)/float64(w), float64(fullH)/float64(h)
	return GeoTransform{t[0], t[1] * sx, t[2] * sy, t[3], t[4] * sx, t[5] * sy}
}

// geoTags adds the GeoTIFF tags of g to an IFD under construction. Keys are
// g.GeoKeys when they name g.EPSG (or g.EPSG is 0: nothing contradicts
// them), else built from the EPSG code, so that an operation that changes
// the CRS only needs to set EPSG.
func geoTags(b *entryBuilder, g Georef) error {
	keys := g.GeoKeys
	if len(keys) == 0 || (g.EPSG != 0 && epsgOf(keys) != g.EPSG) {
		keys = nil
		if g.EPSG != 0 {
			if g.EPSG < 1 || g.EPSG >= userDefined {
				return fmt.Errorf("%w: EPSG code %d does not fit a GeoKey", ErrFormat, g.EPSG)
			}
			keys = minimalGeoKeys(g.EPSG)
		}
	}
	t := g.Transform
	if t != (GeoTransform{}) {
		for _, v := range t {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("%w: geotransform %v is not finite", ErrFormat, t)
			}
		}
		if rt, ok := findKey(keys, keyRasterType); ok && rt == rasterPixelPt {
			t[0] += (t[1] + t[2]) / 2
			t[3] += (t[4] + t[5]) / 2
		}
		if t[2] == 0 && t[4] == 0 {
			b.doubles(tagModelPixelScale, t[1], -t[5], 0)
			b.doubles(tagModelTiepoint, 0, 0, 0, t[0], t[3], 0)
		} else {
			b.doubles(tagModelTransformation,
				t[1], t[2], 0, t[0],
				t[4], t[5], 0, t[3],
				0, 0, 0, 0,
				0, 0, 0, 1)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	dir, doubles, ascii, err := buildGeoKeys(keys)
	if err != nil {
		return err
	}
	b.shorts(tagGeoKeyDirectory, dir...)
	if len(doubles) > 0 {
		b.doubles(tagGeoDoubleParams, doubles...)
	}
	if ascii != "" {
		b.ascii(tagGeoASCIIParams, ascii)
	}
	return nil
}
