package raster

import (
	"encoding/binary"
	"fmt"
)

// Predictor is a TIFF predictor, by its TIFF code: a reversible transform of
// each row before compression that makes smooth data compress better.
type Predictor int

// Predictors.
const (
	PredictorNone       Predictor = 1
	PredictorHorizontal Predictor = 2 // differences of integer samples
	PredictorFloat      Predictor = 3 // byte planes of floating-point samples
)

func (p Predictor) String() string {
	switch p {
	case PredictorNone:
		return "NONE"
	case PredictorHorizontal:
		return "HORIZONTAL"
	case PredictorFloat:
		return "FLOATING_POINT"
	}
	return fmt.Sprintf("Predictor(%d)", int(p))
}

// check reports whether p applies to samples of type t, as libtiff decides:
// the horizontal predictor works on 8 to 64-bit samples of any format (on
// the bits of floats too), the floating-point one only on floats.
func (p Predictor) check(t DataType) error {
	switch p {
	case PredictorNone, PredictorHorizontal:
		return nil
	case PredictorFloat:
		if isFloat(t) {
			return nil
		}
		return fmt.Errorf("%w: the floating-point predictor needs float samples, not %v", ErrFormat, t)
	}
	return fmt.Errorf("%w: predictor %d is not supported", ErrFormat, int(p))
}

// predict applies the predictor to one row in the file's byte order, the
// inverse of littleEndianRow.
func predict(p Predictor, row, tmp []byte, size, stride int, bo binary.ByteOrder) {
	switch p {
	case PredictorHorizontal:
		horizontalEncode(row, size, stride, bo)
	case PredictorFloat:
		n := len(row) / size
		big := bo == binary.BigEndian
		for i := range n {
			for b := range size {
				if big {
					tmp[b*n+i] = row[i*size+b]
				} else {
					tmp[b*n+i] = row[i*size+size-1-b]
				}
			}
		}
		copy(row, tmp)
		for i := len(row) - 1; i >= stride; i-- {
			row[i] -= row[i-stride]
		}
	}
}

// horizontalEncode replaces samples by their difference to the sample
// stride before, from the end of the row so each uses the original value.
func horizontalEncode(row []byte, size, stride int, bo binary.ByteOrder) {
	n := len(row) / size
	switch size {
	case 1:
		// Eight bytes at a time: those ending at i less those stride
		// before, which no store has reached yet.
		le, i := binary.LittleEndian, n-1
		for ; i-7 >= stride; i -= 8 {
			le.PutUint64(row[i-7:], subBytes(le.Uint64(row[i-7:]), le.Uint64(row[i-7-stride:])))
		}
		for ; i >= stride; i-- {
			row[i] -= row[i-stride]
		}
	case 2:
		for i := n - 1; i >= stride; i-- {
			bo.PutUint16(row[2*i:], bo.Uint16(row[2*i:])-bo.Uint16(row[2*(i-stride):]))
		}
	case 4:
		for i := n - 1; i >= stride; i-- {
			bo.PutUint32(row[4*i:], bo.Uint32(row[4*i:])-bo.Uint32(row[4*(i-stride):]))
		}
	case 8:
		for i := n - 1; i >= stride; i-- {
			bo.PutUint64(row[8*i:], bo.Uint64(row[8*i:])-bo.Uint64(row[8*(i-stride):]))
		}
	}
}

// subBytes is x - y byte by byte, each modulo 256 (no borrow between bytes).
func subBytes(x, y uint64) uint64 {
	const h = 0x8080808080808080
	return ((x | h) - (y &^ h)) ^ ((x ^ ^y) & h)
}
