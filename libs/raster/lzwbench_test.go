package raster

import (
	"encoding/binary"
	"math"
	"testing"
)

func lzwBenchData(b *testing.B) ([]byte, int) {
	r := demLike()
	raw := make([]byte, 0, 256*256*4)
	for y := range 256 {
		for x := range 256 {
			raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(float32(r.Pix[0][y*r.Width+x])))
		}
	}
	return lzwEncode(b, raw), len(raw)
}

// BenchmarkLZW decodes a 256 x 256 Float32 chunk of a DEM-like raster, LZW
// without a predictor (the hillshade DEM's layout), with lzwTable and with
// the reference decoder it replaced.
func BenchmarkLZWOurs(b *testing.B) {
	enc, n := lzwBenchData(b)
	out := make([]byte, n)
	tab := new(lzwTable)
	b.SetBytes(int64(n))
	for b.Loop() {
		if err := tab.decode(enc, out); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLZWReference(b *testing.B) {
	enc, n := lzwBenchData(b)
	b.SetBytes(int64(n))
	for b.Loop() {
		if _, err := lzwReference(enc, n); err != nil {
			b.Fatal(err)
		}
	}
}
