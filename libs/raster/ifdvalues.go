package raster

import (
	"fmt"
	"math"
	"strings"
)

// has reports whether the IFD holds tag.
func (d *ifd) has(tag uint16) bool {
	_, ok := d.entries[tag]
	return ok
}

// uints returns up to n values (all when n < 0) of an unsigned integer tag;
// nil when the tag is absent.
func (d *ifd) uints(tag uint16, n int64) ([]uint64, error) {
	e, ok := d.entries[tag]
	if !ok {
		return nil, nil
	}
	b, err := d.f.values(e, n)
	if err != nil {
		return nil, err
	}
	bo := d.f.bo
	var out []uint64
	switch e.typ {
	case typeByte, typeUndefined:
		out = make([]uint64, len(b))
		for i, v := range b {
			out[i] = uint64(v)
		}
	case typeShort:
		out = make([]uint64, len(b)/2)
		for i := range out {
			out[i] = uint64(bo.Uint16(b[2*i:]))
		}
	case typeLong, typeIFD:
		out = make([]uint64, len(b)/4)
		for i := range out {
			out[i] = uint64(bo.Uint32(b[4*i:]))
		}
	case typeLong8, typeIFD8:
		out = make([]uint64, len(b)/8)
		for i := range out {
			out[i] = bo.Uint64(b[8*i:])
		}
	default:
		return nil, fmt.Errorf("%w: tag %d has type %d, want an unsigned integer", ErrFormat, tag, e.typ)
	}
	return out, nil
}

// uint1 returns the first value of an unsigned integer tag, or def when the
// tag is absent.
func (d *ifd) uint1(tag uint16, def uint64) (uint64, error) {
	if !d.has(tag) {
		return def, nil
	}
	v, err := d.uints(tag, 1)
	if err != nil {
		return 0, err
	}
	if len(v) == 0 {
		return 0, fmt.Errorf("%w: tag %d has no value", ErrFormat, tag)
	}
	return v[0], nil
}

// same returns the value of a per-sample tag (BitsPerSample, SampleFormat)
// whose values must all be equal, or def when absent.
func (d *ifd) same(tag uint16, def uint64) (uint64, error) {
	if !d.has(tag) {
		return def, nil
	}
	v, err := d.uints(tag, maxBands)
	if err != nil {
		return 0, err
	}
	if len(v) == 0 {
		return 0, fmt.Errorf("%w: tag %d has no value", ErrFormat, tag)
	}
	for _, x := range v[1:] {
		if x != v[0] {
			return 0, fmt.Errorf("%w: tag %d differs between samples (%v); mixed sample types are not supported", ErrFormat, tag, v)
		}
	}
	return v[0], nil
}

// floats returns the values of a DOUBLE or FLOAT tag; nil when absent.
func (d *ifd) floats(tag uint16) ([]float64, error) {
	e, ok := d.entries[tag]
	if !ok {
		return nil, nil
	}
	b, err := d.f.values(e, -1)
	if err != nil {
		return nil, err
	}
	bo := d.f.bo
	var out []float64
	switch e.typ {
	case typeDouble:
		out = make([]float64, len(b)/8)
		for i := range out {
			out[i] = math.Float64frombits(bo.Uint64(b[8*i:]))
		}
	case typeFloat:
		out = make([]float64, len(b)/4)
		for i := range out {
			out[i] = float64(math.Float32frombits(bo.Uint32(b[4*i:])))
		}
	default:
		return nil, fmt.Errorf("%w: tag %d has type %d, want DOUBLE", ErrFormat, tag, e.typ)
	}
	return out, nil
}

// ascii returns an ASCII tag without its NUL terminator(s).
func (d *ifd) ascii(tag uint16) (string, bool, error) {
	e, ok := d.entries[tag]
	if !ok {
		return "", false, nil
	}
	if e.typ != typeASCII && e.typ != typeByte && e.typ != typeUndefined {
		return "", false, fmt.Errorf("%w: tag %d has type %d, want ASCII", ErrFormat, tag, e.typ)
	}
	b, err := d.f.values(e, -1)
	if err != nil {
		return "", false, err
	}
	return strings.TrimRight(string(b), "\x00"), true, nil
}
