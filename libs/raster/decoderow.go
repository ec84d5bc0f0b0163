package raster

import (
	"encoding/binary"
	"math"
)

// A stored row of a chunk becomes samples in two steps: littleEndianRow
// undoes the predictor and leaves the row as little-endian samples whatever
// the file's byte order, then unpackLE converts them. Working in one known
// byte order lets the compiler inline every load (a binary.ByteOrder
// interface would cost a call per sample).

// littleEndianRow undoes predictor p on one stored row of size-byte samples
// with stride interleaved bands, stored big-endian when big, and leaves it
// as little-endian samples. tmp is scratch of len(row) bytes.
func littleEndianRow(p Predictor, row, tmp []byte, size, stride int, big bool) {
	if p == PredictorFloat {
		// Byte planes, most significant first, whatever the byte order.
		accumulate(row, stride)
		copy(tmp, row)
		unshuffleLE(row, tmp, size)
		return
	}
	if big {
		swapBytes(row, size)
	}
	if p == PredictorHorizontal {
		horizontalDecodeLE(row, size, stride)
	}
}

// accumulate undoes byte differences at distance stride: the common
// stride 1 keeps the running sum in a register instead of reloading it.
func accumulate(row []byte, stride int) {
	if stride == 1 && len(row) > 0 {
		acc := row[0]
		for i, v := range row[1:] {
			acc += v
			row[i+1] = acc
		}
		return
	}
	for i := stride; i < len(row); i++ {
		row[i] += row[i-stride]
	}
}

// unshuffleLE writes the samples of the byte planes in planes (plane b
// holding byte b of every sample, most significant first) little-endian
// into row.
func unshuffleLE(row, planes []byte, size int) {
	n := len(row) / size
	if size == 4 {
		p0, p1, p2, p3 := planes[:n], planes[n:2*n], planes[2*n:3*n], planes[3*n:4*n]
		for i := range p0 {
			binary.LittleEndian.PutUint32(row[4*i:],
				uint32(p0[i])<<24|uint32(p1[i])<<16|uint32(p2[i])<<8|uint32(p3[i]))
		}
		return
	}
	for b := range size {
		plane := planes[b*n : (b+1)*n]
		for i, v := range plane {
			row[i*size+size-1-b] = v
		}
	}
}

// swapBytes reverses the bytes of every size-byte sample of row.
func swapBytes(row []byte, size int) {
	switch size {
	case 2:
		for i := 0; i+1 < len(row); i += 2 {
			row[i], row[i+1] = row[i+1], row[i]
		}
	case 4:
		for i := 0; i+3 < len(row); i += 4 {
			binary.LittleEndian.PutUint32(row[i:], binary.BigEndian.Uint32(row[i:]))
		}
	case 8:
		for i := 0; i+7 < len(row); i += 8 {
			binary.LittleEndian.PutUint64(row[i:], binary.BigEndian.Uint64(row[i:]))
		}
	}
}

// horizontalDecodeLE accumulates differences of little-endian size-byte
// integers, with wrap-around at the sample width as libtiff does.
func horizontalDecodeLE(row []byte, size, stride int) {
	le := binary.LittleEndian
	n := len(row) / size
	switch size {
	case 1:
		accumulate(row, stride)
	case 2:
		for i := stride; i < n; i++ {
			le.PutUint16(row[2*i:], le.Uint16(row[2*i:])+le.Uint16(row[2*(i-stride):]))
		}
	case 4:
		for i := stride; i < n; i++ {
			le.PutUint32(row[4*i:], le.Uint32(row[4*i:])+le.Uint32(row[4*(i-stride):]))
		}
	case 8:
		for i := stride; i < n; i++ {
			le.PutUint64(row[8*i:], le.Uint64(row[8*i:])+le.Uint64(row[8*(i-stride):]))
		}
	}
}

// unpackLE32 converts len(dst) little-endian samples of type t from src to
// float32, as float32(v) of unpackLE's v.
func unpackLE32(dst []float32, src []byte, t DataType) {
	le := binary.LittleEndian
	switch t {
	case Float32:
		src = src[:4*len(dst)]
		for i := range dst {
			dst[i] = math.Float32frombits(le.Uint32(src[4*i:]))
		}
	default:
		size := t.Size()
		var v [1]float64
		for i := range dst {
			unpackLE(v[:], src[size*i:size*(i+1)], t)
			dst[i] = float32(v[0])
		}
	}
}

// unpackLE converts len(dst) little-endian samples of type t from src to
// float64. Every supported type converts exactly.
func unpackLE(dst []float64, src []byte, t DataType) {
	le := binary.LittleEndian
	switch t {
	case Uint8:
		src = src[:len(dst)]
		for i, v := range src {
			dst[i] = float64(v)
		}
	case Uint16:
		src = src[:2*len(dst)]
		for i := range dst {
			dst[i] = float64(le.Uint16(src[2*i:]))
		}
	case Int16:
		src = src[:2*len(dst)]
		for i := range dst {
			dst[i] = float64(int16(le.Uint16(src[2*i:])))
		}
	case Int32:
		src = src[:4*len(dst)]
		for i := range dst {
			dst[i] = float64(int32(le.Uint32(src[4*i:])))
		}
	case Float32:
		src = src[:4*len(dst)]
		for i := range dst {
			dst[i] = float64(math.Float32frombits(le.Uint32(src[4*i:])))
		}
	case Float64:
		src = src[:8*len(dst)]
		for i := range dst {
			dst[i] = math.Float64frombits(le.Uint64(src[8*i:]))
		}
	}
}
