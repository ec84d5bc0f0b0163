package raster

import (
	"encoding/binary"
	"math"
	"slices"
)

// outEntry is one IFD entry to write; data holds its values in the file's
// byte order.
type outEntry struct {
	tag, typ uint16
	count    uint64
	data     []byte
}

// entryBuilder collects the entries of one IFD.
type entryBuilder struct {
	bo      binary.ByteOrder
	big     bool
	entries []outEntry
}

func (b *entryBuilder) add(tag, typ uint16, count int, data []byte) {
	b.entries = append(b.entries, outEntry{tag: tag, typ: typ, count: uint64(count), data: data})
}

func (b *entryBuilder) shorts(tag uint16, v ...uint16) {
	data := make([]byte, 2*len(v))
	for i, x := range v {
		b.bo.PutUint16(data[2*i:], x)
	}
	b.add(tag, typeShort, len(v), data)
}

func (b *entryBuilder) longs(tag uint16, v ...uint32) {
	data := make([]byte, 4*len(v))
	for i, x := range v {
		b.bo.PutUint32(data[4*i:], x)
	}
	b.add(tag, typeLong, len(v), data)
}

// offsets writes file offsets or byte counts: LONG in classic TIFF, LONG8 in
// BigTIFF. The caller has checked that classic values fit 32 bits.
func (b *entryBuilder) offsets(tag uint16, v []uint64) {
	if !b.big {
		data := make([]byte, 4*len(v))
		for i, x := range v {
			b.bo.PutUint32(data[4*i:], uint32(x))
		}
		b.add(tag, typeLong, len(v), data)
		return
	}
	data := make([]byte, 8*len(v))
	for i, x := range v {
		b.bo.PutUint64(data[8*i:], x)
	}
	b.add(tag, typeLong8, len(v), data)
}

func (b *entryBuilder) doubles(tag uint16, v ...float64) {
	data := make([]byte, 8*len(v))
	for i, x := range v {
		b.bo.PutUint64(data[8*i:], math.Float64bits(x))
	}
	b.add(tag, typeDouble, len(v), data)
}

// ascii writes s with its NUL terminator.
func (b *entryBuilder) ascii(tag uint16, s string) {
	b.add(tag, typeASCII, len(s)+1, append([]byte(s), 0))
}

// layout returns the sizes of an entry, of the directory and of its inline
// value field.
func (b *entryBuilder) layout() (entry, dir, inline int64) {
	n := int64(len(b.entries))
	if b.big {
		return 20, 8 + 20*n + 8, 8
	}
	return 12, 2 + 12*n + 4, 4
}

// size is the bytes the IFD takes with its out-of-line values, each padded
// to a word boundary.
func (b *entryBuilder) size() int64 {
	_, total, inline := b.layout()
	for _, e := range b.entries {
		if n := int64(len(e.data)); n > inline {
			total += n + n%2
		}
	}
	return total
}

// write serialises the IFD into dst, which starts at file offset at, with
// next as the offset of the following IFD.
func (b *entryBuilder) write(dst []byte, at int64, next uint64) {
	slices.SortStableFunc(b.entries, func(x, y outEntry) int { return int(x.tag) - int(y.tag) })
	entry, dir, inline := b.layout()
	bo := b.bo
	var p int64
	if b.big {
		bo.PutUint64(dst, uint64(len(b.entries)))
		p = 8
	} else {
		bo.PutUint16(dst, uint16(len(b.entries)))
		p = 2
	}
	ext := dir // where the next out-of-line value goes, relative to at
	for _, e := range b.entries {
		bo.PutUint16(dst[p:], e.tag)
		bo.PutUint16(dst[p+2:], e.typ)
		field := dst[p+8 : p+12]
		if b.big {
			bo.PutUint64(dst[p+4:], e.count)
			field = dst[p+12 : p+20]
		} else {
			bo.PutUint32(dst[p+4:], uint32(e.count))
		}
		if n := int64(len(e.data)); n <= inline {
			copy(field, e.data)
		} else {
			if b.big {
				bo.PutUint64(field, uint64(at+ext))
			} else {
				bo.PutUint32(field, uint32(at+ext))
			}
			copy(dst[ext:], e.data)
			ext += n + n%2
		}
		p += entry
	}
	if b.big {
		bo.PutUint64(dst[p:], next)
	} else {
		bo.PutUint32(dst[p:], uint32(next))
	}
}
