package raster

import (
	"encoding/binary"
	"math"
)

// packSamples converts src to samples of type t in dst, in byte order bo.
// Integer types round to nearest (half away from zero) and clamp to the
// type's range, NaN becoming 0, as GDAL converts.
func packSamples(dst []byte, src []float64, t DataType, bo binary.ByteOrder) {
	switch t {
	case Uint8:
		dst = dst[:len(src)]
		for i, v := range src {
			if u := int(v); float64(u) == v && uint(u) <= math.MaxUint8 {
				dst[i] = uint8(u) // already a byte: the common case
				continue
			}
			dst[i] = uint8(roundClamp(v, 0, math.MaxUint8))
		}
	case Uint16:
		for i, v := range src {
			bo.PutUint16(dst[2*i:], uint16(roundClamp(v, 0, math.MaxUint16)))
		}
	case Int16:
		for i, v := range src {
			bo.PutUint16(dst[2*i:], uint16(int16(roundClamp(v, math.MinInt16, math.MaxInt16))))
		}
	case Int32:
		for i, v := range src {
			bo.PutUint32(dst[4*i:], uint32(int32(roundClamp(v, math.MinInt32, math.MaxInt32))))
		}
	case Float32:
		for i, v := range src {
			bo.PutUint32(dst[4*i:], math.Float32bits(float32(v)))
		}
	case Float64:
		for i, v := range src {
			bo.PutUint64(dst[8*i:], math.Float64bits(v))
		}
	}
}

// roundClamp rounds v to the nearest integer and clamps it to [lo, hi].
func roundClamp(v, lo, hi float64) float64 {
	switch {
	case math.IsNaN(v):
		return 0
	case v <= lo:
		return lo
	case v >= hi:
		return hi
	}
	return math.Round(v)
}
