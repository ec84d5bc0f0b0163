package raster

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestHorizontalEncodeBytesIsPerSample checks the eight-at-a-time
// horizontal predictor of byte samples against the difference of each
// sample to the one stride before, for every length up to a few words.
func TestHorizontalEncodeBytesIsPerSample(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(7, 7))
	for stride := 1; stride <= 4; stride++ {
		for n := 0; n <= 40; n++ {
			t.Run(fmt.Sprintf("stride %d length %d", stride, n), func(t *testing.T) {
				row := make([]byte, n)
				for i := range row {
					row[i] = []byte{0, 1, 127, 128, 255, byte(rng.IntN(256))}[rng.IntN(6)]
				}
				want := bytes.Clone(row)
				for i := len(want) - 1; i >= stride; i-- {
					want[i] -= want[i-stride]
				}
				horizontalEncode(row, 1, stride, binary.LittleEndian)
				require.Equal(t, want, row)
			})
		}
	}
}
