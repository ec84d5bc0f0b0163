package raster

import (
	"bytes"
	"io"
	"math/rand/v2"
	"testing"

	hlzw "github.com/hhrutter/lzw"
	"github.com/stretchr/testify/require"
	xlzw "golang.org/x/image/tiff/lzw"
)

// lzwReference decodes src into a buffer of n bytes with
// golang.org/x/image/tiff/lzw, the decoder lzwTable replaced.
func lzwReference(src []byte, n int) ([]byte, error) {
	r := xlzw.NewReader(bytes.NewReader(src), xlzw.MSB, 8)
	defer r.Close()
	out := make([]byte, n)
	_, err := io.ReadFull(r, out)
	return out, err
}

func lzwEncode(t testing.TB, data []byte) []byte {
	var buf bytes.Buffer
	w := hlzw.NewWriter(&buf, true)
	_, err := w.Write(data)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return buf.Bytes()
}

// lzwSamples are inputs with long repeats (strings longer than the table
// has room for, the table filling up and clearing), short ones, none.
func lzwSamples() [][]byte {
	rng := rand.New(rand.NewPCG(3, 4))
	var out [][]byte
	for _, n := range []int{0, 1, 2, 255, 4096, 70000, 300000} {
		random, runs, floats := make([]byte, n), make([]byte, n), make([]byte, n)
		for i := range random {
			random[i] = byte(rng.IntN(256))
			runs[i] = byte(i / 1000)
			floats[i] = byte(i % 4 * 60) // float samples' mostly constant bytes
			if i%4 == 3 {
				floats[i] = byte(rng.IntN(8))
			}
		}
		out = append(out, random, runs, floats)
	}
	return out
}

// TestLZWDecodesAsTheReferenceDecoder: on valid streams, shorter and longer
// outputs than the stream holds, and corrupted streams, lzwTable gives the
// reference decoder's bytes, and an error wherever it gives one.
func TestLZWDecodesAsTheReferenceDecoder(t *testing.T) {
	t.Parallel()
	tab := new(lzwTable)
	rng := rand.New(rand.NewPCG(5, 6))
	for k, data := range lzwSamples() {
		enc := lzwEncode(t, data)
		for _, n := range []int{len(data), len(data) / 2, len(data) + 1} {
			if n == 0 {
				continue
			}
			want, wantErr := lzwReference(enc, n)
			got := make([]byte, n)
			err := tab.decode(enc, got)
			require.Equal(t, wantErr != nil, err != nil, "sample %d, %d bytes: reference error %v, ours %v", k, n, wantErr, err)
			if err == nil {
				require.True(t, bytes.Equal(want, got), "sample %d, %d bytes", k, n)
			}
		}
		for range 20 { // corrupt a byte or cut the stream
			if len(enc) < 2 || len(data) == 0 {
				break
			}
			bad := bytes.Clone(enc)
			if rng.IntN(2) == 0 {
				bad[rng.IntN(len(bad))] ^= byte(1 + rng.IntN(255))
			} else {
				bad = bad[:rng.IntN(len(bad))]
			}
			want, wantErr := lzwReference(bad, len(data))
			got := make([]byte, len(data))
			err := tab.decode(bad, got)
			if wantErr == nil && err == nil {
				require.True(t, bytes.Equal(want, got), "sample %d corrupted", k)
			}
		}
	}
}

func FuzzLZW(f *testing.F) {
	for _, d := range lzwSamples()[:9] {
		f.Add(lzwEncode(f, d), uint16(len(d)))
	}
	f.Fuzz(func(t *testing.T, src []byte, n uint16) {
		if n == 0 {
			return
		}
		got := make([]byte, n)
		err := new(lzwTable).decode(src, got)
		want, wantErr := lzwReference(src, int(n))
		if err == nil && wantErr == nil && !bytes.Equal(want, got) {
			t.Fatalf("decoded bytes differ from the reference decoder's")
		}
	})
}
