package raster

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
)

// tiffFile is an open TIFF or BigTIFF: its byte order, flavour and the
// bounds every offset read from it is checked against.
type tiffFile struct {
	r        io.ReaderAt
	size     int64
	bo       binary.ByteOrder
	big      bool   // BigTIFF: 8-byte offsets and counts
	first    uint64 // offset of the first IFD
	maxValue int64  // cap on the bytes of one tag's values
}

// openTIFF reads and checks the header.
func openTIFF(r io.ReaderAt, size, limit int64) (*tiffFile, error) {
	if size < 8 {
		return nil, fmt.Errorf("%w: %d bytes is too short for a TIFF header", ErrFormat, size)
	}
	var h [16]byte
	n := int64(len(h))
	if size < n {
		n = 8
	}
	if err := readFullAt(r, h[:n], 0); err != nil {
		return nil, fmt.Errorf("%w: read header: %w", ErrFormat, err)
	}
	f := &tiffFile{r: r, size: size, maxValue: min(limit, size)}
	switch string(h[:2]) {
	case "II":
		f.bo = binary.LittleEndian
	case "MM":
		f.bo = binary.BigEndian
	default:
		return nil, fmt.Errorf("%w: not a TIFF file (byte order mark %q)", ErrFormat, h[:2])
	}
	switch f.bo.Uint16(h[2:]) {
	case 42:
		f.first = uint64(f.bo.Uint32(h[4:]))
	case 43:
		if n < 16 || f.bo.Uint16(h[4:]) != 8 || f.bo.Uint16(h[6:]) != 0 {
			return nil, fmt.Errorf("%w: invalid BigTIFF header", ErrFormat)
		}
		f.big = true
		f.first = f.bo.Uint64(h[8:])
	default:
		return nil, fmt.Errorf("%w: not a TIFF file (version %d)", ErrFormat, f.bo.Uint16(h[2:]))
	}
	return f, nil
}

// ifdEntry is one directory entry; raw holds the value bytes when they fit
// in the entry, else the offset of the values.
type ifdEntry struct {
	tag, typ uint16
	count    uint64
	raw      [8]byte
}

// ifd is one image file directory.
type ifd struct {
	f       *tiffFile
	offset  uint64
	entries map[uint16]ifdEntry
	next    uint64
}

// readIFD reads the directory at off.
func (f *tiffFile) readIFD(off uint64) (*ifd, error) {
	countSize, entrySize, nextSize := int64(2), int64(12), int64(4)
	if f.big {
		countSize, entrySize, nextSize = 8, 20, 8
	}
	if off < 8 || off > uint64(f.size) || int64(off)+countSize > f.size {
		return nil, fmt.Errorf("%w: IFD offset %d outside the %d-byte file", ErrFormat, off, f.size)
	}
	var cb [8]byte
	if err := readFullAt(f.r, cb[:countSize], int64(off)); err != nil {
		return nil, fmt.Errorf("%w: read IFD at %d: %w", ErrFormat, off, err)
	}
	var n uint64
	if f.big {
		n = f.bo.Uint64(cb[:])
	} else {
		n = uint64(f.bo.Uint16(cb[:]))
	}
	if n == 0 || n > maxIFDEntries {
		return nil, fmt.Errorf("%w: IFD at %d has %d entries", ErrFormat, off, n)
	}
	length := int64(n)*entrySize + nextSize
	start := int64(off) + countSize
	if start+length > f.size {
		return nil, fmt.Errorf("%w: IFD at %d runs past the end of the file", ErrFormat, off)
	}
	buf := make([]byte, length)
	if err := readFullAt(f.r, buf, start); err != nil {
		return nil, fmt.Errorf("%w: read IFD at %d: %w", ErrFormat, off, err)
	}
	d := &ifd{f: f, offset: off, entries: make(map[uint16]ifdEntry, n)}
	for i := range int(n) {
		b := buf[int64(i)*entrySize:]
		e := ifdEntry{tag: f.bo.Uint16(b), typ: f.bo.Uint16(b[2:])}
		if f.big {
			e.count = f.bo.Uint64(b[4:])
			copy(e.raw[:], b[12:20])
		} else {
			e.count = uint64(f.bo.Uint32(b[4:]))
			copy(e.raw[:4], b[8:12])
		}
		d.entries[e.tag] = e
	}
	if f.big {
		d.next = f.bo.Uint64(buf[length-8:])
	} else {
		d.next = uint64(f.bo.Uint32(buf[length-4:]))
	}
	return d, nil
}

// values returns the bytes of the first n values of e (all when n < 0),
// checked against the file and the value cap.
func (f *tiffFile) values(e ifdEntry, n int64) ([]byte, error) {
	size := int64(fieldSize(e.typ))
	if size == 0 {
		return nil, fmt.Errorf("%w: tag %d has unknown type %d", ErrFormat, e.tag, e.typ)
	}
	if e.count > uint64(math.MaxInt64/size) || int64(e.count)*size > f.maxValue {
		return nil, fmt.Errorf("%w: tag %d claims %d values", ErrFormat, e.tag, e.count)
	}
	total := int64(e.count) * size
	want := total
	if n >= 0 && n*size < total {
		want = n * size
	}
	inline := int64(4)
	if f.big {
		inline = 8
	}
	if total <= inline {
		return e.raw[:want], nil
	}
	var off uint64
	if f.big {
		off = f.bo.Uint64(e.raw[:])
	} else {
		off = uint64(f.bo.Uint32(e.raw[:]))
	}
	if off > uint64(f.size) || int64(off)+total > f.size {
		return nil, fmt.Errorf("%w: tag %d values at %d+%d run past the end of the file", ErrFormat, e.tag, off, total)
	}
	buf := make([]byte, want)
	if err := readFullAt(f.r, buf, int64(off)); err != nil {
		return nil, fmt.Errorf("%w: read tag %d: %w", ErrFormat, e.tag, err)
	}
	return buf, nil
}

// readFullAt fills p from off; io.EOF with a full p (allowed at the end of the
// input by io.ReaderAt) is success.
func readFullAt(r io.ReaderAt, p []byte, off int64) error {
	n, err := r.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return err
}
