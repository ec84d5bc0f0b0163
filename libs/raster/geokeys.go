package raster

import (
	"fmt"
	"slices"
	"strings"
)

// GeoKey IDs the codec interprets or writes.
const (
	keyModelType      = 1024 // GTModelTypeGeoKey
	keyRasterType     = 1025 // GTRasterTypeGeoKey
	keyCitation       = 1026 // GTCitationGeoKey
	keyGeographicType = 2048 // GeographicTypeGeoKey
	keyProjectedType  = 3072 // ProjectedCSTypeGeoKey

	modelProjected  = 1
	modelGeographic = 2
	rasterPixelArea = 1
	rasterPixelPt   = 2
	userDefined     = 32767
)

// parseGeoKeys decodes a GeoKeyDirectory with its double and ASCII params.
// Keys whose values live in the directory itself (location 34735, used by no
// common key) are skipped: GeoKey cannot hold them.
func parseGeoKeys(dir []uint64, doubles []float64, ascii string) ([]GeoKey, error) {
	if len(dir) < 4 {
		return nil, fmt.Errorf("%w: GeoKeyDirectory of %d values", ErrFormat, len(dir))
	}
	// Compare before converting: a huge count would overflow 4+4*n.
	if dir[3] > uint64(len(dir)-4)/4 {
		return nil, fmt.Errorf("%w: GeoKeyDirectory claims %d keys in %d values", ErrFormat, dir[3], len(dir))
	}
	n := int(dir[3])
	keys := make([]GeoKey, 0, n)
	for i := range n {
		e := dir[4+4*i : 8+4*i]
		id, loc, count, val := uint16(e[0]), e[1], int(e[2]), int(e[3])
		k := GeoKey{ID: id, Kind: uint16(loc)}
		switch loc {
		case 0:
			k.Short = uint16(val)
		case tagGeoDoubleParams:
			if val+count > len(doubles) {
				return nil, fmt.Errorf("%w: geokey %d: doubles [%d,%d) out of %d", ErrFormat, id, val, val+count, len(doubles))
			}
			k.Double = slices.Clone(doubles[val : val+count])
		case tagGeoASCIIParams:
			if val > len(ascii) {
				return nil, fmt.Errorf("%w: geokey %d: text at %d out of %d", ErrFormat, id, val, len(ascii))
			}
			// Writers disagree on whether count includes the '|'; take what
			// is there.
			end := min(val+count, len(ascii))
			// Read as GDAL does, as a C string: it ends at the first NUL.
			// An inner '|' (the terminator) cannot be written back, so it
			// reads as a space.
			text := ascii[val:end]
			if i := strings.IndexByte(text, 0); i >= 0 {
				text = text[:i]
			}
			k.ASCII = strings.ReplaceAll(strings.TrimRight(text, "|"), "|", " ")
		case tagGeoKeyDirectory:
			continue
		default:
			return nil, fmt.Errorf("%w: geokey %d in unknown tag %d", ErrFormat, id, loc)
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// buildGeoKeys encodes keys, sorted by ID as the GeoTIFF spec requires, into
// the directory, double and ASCII params tags.
func buildGeoKeys(keys []GeoKey) (dir []uint16, doubles []float64, ascii string, err error) {
	keys = slices.Clone(keys)
	slices.SortStableFunc(keys, func(a, b GeoKey) int { return int(a.ID) - int(b.ID) })
	dir = []uint16{1, 1, 0, uint16(len(keys))}
	var sb strings.Builder
	for _, k := range keys {
		switch k.Kind {
		case 0:
			dir = append(dir, k.ID, 0, 1, k.Short)
		case tagGeoDoubleParams:
			if len(k.Double) == 0 || len(doubles)+len(k.Double) > 65535 {
				return nil, nil, "", fmt.Errorf("%w: geokey %d has %d doubles", ErrFormat, k.ID, len(k.Double))
			}
			dir = append(dir, k.ID, tagGeoDoubleParams, uint16(len(k.Double)), uint16(len(doubles)))
			doubles = append(doubles, k.Double...)
		case tagGeoASCIIParams:
			if strings.ContainsAny(k.ASCII, "|\x00") || sb.Len()+len(k.ASCII)+1 > 65535 {
				return nil, nil, "", fmt.Errorf("%w: geokey %d text %q", ErrFormat, k.ID, k.ASCII)
			}
			dir = append(dir, k.ID, tagGeoASCIIParams, uint16(len(k.ASCII)+1), uint16(sb.Len()))
			sb.WriteString(k.ASCII)
			sb.WriteByte('|')
		default:
			return nil, nil, "", fmt.Errorf("%w: geokey %d has unknown kind %d", ErrFormat, k.ID, k.Kind)
		}
	}
	return dir, doubles, sb.String(), nil
}

// findKey returns the short value of key id.
func findKey(keys []GeoKey, id uint16) (uint16, bool) {
	for _, k := range keys {
		if k.ID == id && k.Kind == 0 {
			return k.Short, true
		}
	}
	return 0, false
}

// epsgOf is the EPSG code the keys declare, as GDAL picks it: the projected
// CRS for a projected model, the geographic CRS for a geographic one.
func epsgOf(keys []GeoKey) int {
	model, _ := findKey(keys, keyModelType)
	pcs, hasPCS := findKey(keys, keyProjectedType)
	gcs, hasGCS := findKey(keys, keyGeographicType)
	valid := func(c uint16) bool { return c != 0 && c != userDefined }
	switch {
	case model != modelGeographic && hasPCS && valid(pcs):
		return int(pcs)
	case model != modelProjected && hasGCS && valid(gcs):
		return int(gcs)
	}
	return 0
}

// isGeographicEPSG reports whether an EPSG code names a geographic CRS, by
// the convention that those are numbered 4000–4999 (4326 WGS 84, 4269 NAD83).
func isGeographicEPSG(code int) bool { return code >= 4000 && code < 5000 }

// minimalGeoKeys are the keys GDAL needs to know the CRS of an EPSG code.
func minimalGeoKeys(code int) []GeoKey {
	cite := GeoKey{ID: keyCitation, Kind: tagGeoASCIIParams, ASCII: fmt.Sprintf("EPSG:%d", code)}
	if isGeographicEPSG(code) {
		return []GeoKey{
			{ID: keyModelType, Short: modelGeographic},
			{ID: keyRasterType, Short: rasterPixelArea},
			cite,
			{ID: keyGeographicType, Short: uint16(code)},
		}
	}
	return []GeoKey{
		{ID: keyModelType, Short: modelProjected},
		{ID: keyRasterType, Short: rasterPixelArea},
		cite,
		{ID: keyProjectedType, Short: uint16(code)},
	}
}
