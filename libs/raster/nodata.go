package raster

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// parseNoData reads a GDAL_NODATA value as GDAL does: a decimal number,
// "nan", "inf" or "-inf". For Float32 data a value within 1e-10 (relative)
// of ±FLT_MAX snaps to it, as GDAL's GDALAdjustNoDataCloseToFloatMax, and
// the value is rounded to float32 so that it compares equal to the samples.
func parseNoData(s string, t DataType) (float64, error) {
	s = strings.TrimSpace(strings.TrimRight(s, "\x00"))
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		// ParseFloat reports out-of-range values with ±Inf and an error;
		// GDAL keeps them as ±Inf too.
		if ne, ok := err.(*strconv.NumError); !ok || ne.Err != strconv.ErrRange {
			return 0, fmt.Errorf("%w: GDAL_NODATA %q is not a number", ErrFormat, s)
		}
	}
	if t == Float32 && !math.IsNaN(v) && !math.IsInf(v, 0) {
		if math.Abs(math.Abs(v)-math.MaxFloat32) < 1e-10*math.MaxFloat32 {
			v = math.Copysign(math.MaxFloat32, v)
		}
		v = float64(float32(v)) // GDAL masks float32 bands with float(nodata)
	}
	return v, nil
}

// formatNoData writes a nodata value the way GDAL reads it back exactly: the
// shortest decimal that round-trips, or nan / inf / -inf.
func formatNoData(v float64) string {
	switch {
	case math.IsNaN(v):
		return "nan"
	case math.IsInf(v, 1):
		return "inf"
	case math.IsInf(v, -1):
		return "-inf"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}
