package raster

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// fuzzLimit keeps each fuzz input's decoded size small.
const fuzzLimit = 16 << 20

// FuzzDecode feeds arbitrary bytes to the decoder: it must return a raster
// or an error wrapping ErrFormat, ErrSize or ErrCodecOption, never panic,
// a window read through Open must be the crop of what Decode returns, and
// whatever it returns must survive an encode/decode round trip. The
// seed corpus in testdata/fuzz/FuzzDecode holds small files from the
// encoder in many layouts, and truncated and corrupted ones
// (regenerate with RASTER_WRITE_FUZZ_SEEDS=1 go test -run TestWriteFuzzSeeds).
func FuzzDecode(f *testing.F) {
	for _, seed := range fuzzSeeds(f) {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		info, err := DecodeInfo(r, int64(len(data)), ReadLimit(fuzzLimit))
		requireCodecError(t, err)
		got, err := Decode(r, int64(len(data)), ReadLimit(fuzzLimit), ReadConcurrency(1))
		requireCodecError(t, err)
		_, err = Decode(r, int64(len(data)), ReadLimit(fuzzLimit), ReadConcurrency(2), ReadOverview(1))
		requireCodecError(t, err)
		if got == nil {
			return
		}
		if info != nil { // DecodeInfo also walks the overview IFDs, which may be broken
			require.Equal(t, [3]int{info.Width, info.Height, info.Bands}, [3]int{got.Width, got.Height, got.Bands()})
		}
		if d, err := Open(r, int64(len(data)), ReadLimit(fuzzLimit), ReadConcurrency(2)); err == nil {
			// A window of what decodes is its crop (a window of a file
			// that does not decode may read, from the chunks it needs).
			win := Window{X: got.Width / 3, Y: got.Height / 4, W: max(1, got.Width/2), H: max(1, got.Height/2)}
			want, err := Crop(got, win)
			require.NoError(t, err)
			sub, err := d.ReadWindow(win)
			require.NoError(t, err)
			requireSamePixels(t, want, sub)
		} else {
			requireCodecError(t, err)
		}
		if got.Width*got.Height*got.Bands() > 1<<14 {
			return
		}
		var buf bytes.Buffer
		require.NoError(t, Encode(&buf, got, EncodeOptions{Compression: CompressionDeflate}))
		again, err := decodeBytes(buf.Bytes())
		require.NoError(t, err)
		requireSamePixels(t, got, again)
	})
}

// requireCodecError accepts nil or one of the codec's documented errors.
func requireCodecError(t *testing.T, err error) {
	t.Helper()
	if err != nil && !errors.Is(err, ErrFormat) && !errors.Is(err, ErrSize) && !errors.Is(err, ErrCodecOption) {
		require.Failf(t, "undocumented error", "%v", err)
	}
}

// fuzzSeeds are valid files in many layouts plus broken variants of them.
func fuzzSeeds(t testing.TB) [][]byte {
	var seeds [][]byte
	layouts := []struct {
		typ   DataType
		bands int
		opts  EncodeOptions
	}{
		{Uint8, 1, EncodeOptions{RowsPerStrip: 3}},
		{Uint8, 3, EncodeOptions{Tiled: true, TileSize: 16, Compression: CompressionLZW, Predictor: PredictorHorizontal}},
		{Uint16, 2, EncodeOptions{Compression: CompressionDeflate, Predictor: PredictorHorizontal, BigEndian: true, RowsPerStrip: 4}},
		{Int16, 1, EncodeOptions{Tiled: true, TileSize: 16, Compression: CompressionZSTD, BigTIFF: true}},
		{Int32, 2, EncodeOptions{Compression: CompressionLZW, Planar: true, BigEndian: true, BigTIFF: true, RowsPerStrip: 5}},
		{Float32, 1, EncodeOptions{Tiled: true, TileSize: 16, Compression: CompressionDeflate, Predictor: PredictorFloat}},
		{Float64, 2, EncodeOptions{Compression: CompressionZSTD, Predictor: PredictorFloat, Planar: true}},
	}
	for i, l := range layouts {
		file := encodeBytes(t, randomRaster(uint64(900+i), 19, 11, l.bands, l.typ), l.opts)
		seeds = append(seeds, file, file[:len(file)/2], file[:len(file)-1])
		broken := bytes.Clone(file)
		broken[len(broken)*2/3] ^= 0x5a
		seeds = append(seeds, broken)
	}
	var cog bytes.Buffer
	require.NoError(t, EncodeCOG(&cog, randomRaster(990, 40, 20, 1, Uint16),
		COGOptions{EncodeOptions: EncodeOptions{TileSize: 16}}))
	seeds = append(seeds, cog.Bytes())
	seeds = append(seeds, ifdLoop(t, cog.Bytes()))
	return seeds
}

// ifdLoop returns a copy of a little-endian classic TIFF with two IFDs
// whose second IFD links back to the first.
func ifdLoop(t testing.TB, file []byte) []byte {
	loop := bytes.Clone(file)
	f, err := openTIFF(bytes.NewReader(loop), int64(len(loop)), fuzzLimit)
	require.NoError(t, err)
	first, err := f.readIFD(f.first)
	require.NoError(t, err)
	second, err := f.readIFD(first.next)
	require.NoError(t, err)
	binary.LittleEndian.PutUint32(loop[first.next+2+12*uint64(len(second.entries)):], uint32(f.first))
	return loop
}

// TestWriteFuzzSeeds regenerates the committed seed corpus on request.
func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("RASTER_WRITE_FUZZ_SEEDS") == "" {
		t.Skip("set RASTER_WRITE_FUZZ_SEEDS=1 to rewrite testdata/fuzz/FuzzDecode")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzDecode")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	for i, seed := range fuzzSeeds(t) {
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", seed)
		require.NoError(t, os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed%02d", i)), []byte(body), 0o644))
	}
}
