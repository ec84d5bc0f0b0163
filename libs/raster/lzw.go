package raster

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// TIFF's LZW: codes of 9 to 12 bits, most significant bit first; 256
// clears the table, 257 ends the stream; the code width grows one code
// earlier than in standard LZW (libtiff's "off by one", which every TIFF
// writer follows).
const (
	lzwClear    = 256
	lzwEOI      = 257
	lzwMaxWidth = 12
	lzwCodes    = 1 << lzwMaxWidth
)

var errLZWCode = errors.New("lzw: invalid code")

// lzwTable is the string table of one decoding goroutine. A chunk is
// decoded into one buffer, so every string of the table is a run of bytes
// already written there: an entry is where that run starts and its length,
// and emitting a code is a copy from earlier in the buffer (no prefix chain
// to walk, no intermediate buffer). Entries below the table's fill are
// always written before they are read, so the table is never cleared.
type lzwTable struct {
	start [lzwCodes]uint32
	size  [lzwCodes]uint32
}

// decode decompresses the LZW stream src into dst, filling it exactly, as
// golang.org/x/image/tiff/lzw read through io.ReadFull does: bytes past
// len(dst) are ignored; a stream that ends (EOI or no more bits) before dst
// is full is an error wrapping io.ErrUnexpectedEOF; an undefined code is an
// error.
func (t *lzwTable) decode(src, dst []byte) error {
	var (
		bits  uint64 // pending bits, the next code in the top bits
		nBits uint
		i     int // next byte of src
		pos   int // next byte of dst

		width    uint = 9
		hi       uint = lzwEOI // the next entry to define, once a code follows
		overflow uint = 1 << 9
		// The previous code's string in dst, when the next code defines an
		// entry from it (false after a clear and once the table is full).
		last              bool
		lastStart, lastSz uint32
	)
	for pos < len(dst) {
		if nBits < width {
			if i+8 <= len(src) {
				v := binary.BigEndian.Uint64(src[i:])
				take := (64 - nBits) / 8
				bits |= v >> nBits &^ (1<<(64-nBits-8*take) - 1)
				i += int(take)
				nBits += 8 * take
			} else {
				for nBits <= 56 && i < len(src) {
					bits |= uint64(src[i]) << (56 - nBits)
					i++
					nBits += 8
				}
				if nBits < width {
					return fmt.Errorf("LZW stream ends early: %w", io.ErrUnexpectedEOF)
				}
			}
		}
		code := uint(bits >> (64 - width))
		bits <<= width
		nBits -= width

		start, n := uint32(pos), uint32(1)
		switch {
		case code < lzwClear:
			dst[pos] = byte(code)
		case code == lzwClear:
			width, hi, overflow, last = 9, lzwEOI, 1<<9, false
			continue
		case code == lzwEOI:
			return fmt.Errorf("LZW stream ends early: %w", io.ErrUnexpectedEOF)
		case code < hi:
			code &= lzwCodes - 1 // always true: lets the compiler drop bounds checks
			n = t.size[code]
			if room := uint32(len(dst) - pos); n > room {
				copy(dst[pos:], dst[t.start[code]:t.start[code]+room])
				return nil
			}
			from := t.start[code]
			if n <= 16 && pos+16 <= len(dst) {
				// Two 8-byte moves copy the string and some bytes after
				// it, which later codes overwrite. The source ends before
				// pos, so the second move reads nothing the first wrote
				// that the string needs.
				binary.LittleEndian.PutUint64(dst[pos:], binary.LittleEndian.Uint64(dst[from:]))
				binary.LittleEndian.PutUint64(dst[pos+8:], binary.LittleEndian.Uint64(dst[from+8:]))
			} else {
				copy(dst[pos:pos+int(n)], dst[from:from+n])
			}
		case code == hi && last:
			// The string being defined: the previous one and its first byte.
			n = lastSz + 1
			room := uint32(len(dst) - pos)
			copy(dst[pos:], dst[lastStart:lastStart+min(lastSz, room)])
			if n > room {
				return nil
			}
			dst[start+lastSz] = dst[lastStart]
		default:
			return errLZWCode
		}
		if last {
			// The previous string then this one's first byte: in dst they
			// lie side by side. (hi < lzwCodes-1 while last holds.)
			e := hi & (lzwCodes - 1)
			t.start[e], t.size[e] = lastStart, lastSz+1
		}
		pos += int(n)
		last, lastStart, lastSz = true, start, n
		hi++
		if hi+1 >= overflow {
			if width == lzwMaxWidth {
				last = false // the table is full until the next clear
				hi = lzwCodes - 1
			} else {
				width++
				overflow <<= 1
			}
		}
	}
	return nil
}
