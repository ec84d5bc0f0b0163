package raster

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// randomWindow is a window of at least one pixel inside w x h.
func randomWindow(rng *rand.Rand, w, h int) Window {
	x, y := rng.IntN(w), rng.IntN(h)
	return Window{X: x, Y: y, W: 1 + rng.IntN(w-x), H: 1 + rng.IntN(h-y)}
}

// requireSameRaster asserts that got equals want: pixels, type, nodata and
// georeferencing.
func requireSameRaster(t testing.TB, want, got *Raster) {
	t.Helper()
	requireSamePixels(t, want, got)
	assert.Equal(t, want.Type, got.Type)
	assert.Equal(t, want.HasNoData, got.HasNoData)
	assert.True(t, sameSample(want.NoData, got.NoData), "nodata %v, got %v", want.NoData, got.NoData)
	assert.Equal(t, want.Georef, got.Georef)
}

// TestReadWindowEqualsCropInEveryLayout writes a 41x37 raster (3x3 tiles of
// 16, 6 strips of 7 rows, neither dividing it) in every layout of the
// round-trip matrix: the whole window equals Decode, and random windows,
// one pixel to the whole image, equal the crop of the decoded image.
func TestReadWindowEqualsCropInEveryLayout(t *testing.T) {
	t.Parallel()
	for i, c := range roundTripMatrix() {
		t.Run(c.String(), func(t *testing.T) {
			t.Parallel()
			file := encodeBytes(t, randomRaster(uint64(i), 41, 37, c.bands, c.typ), c.opts)
			full, err := decodeBytes(file)
			require.NoError(t, err)
			d, err := Open(bytesReader(file), int64(len(file)), ReadConcurrency(1+i%3))
			require.NoError(t, err)
			got, err := d.ReadWindow(d.Bounds())
			require.NoError(t, err)
			requireSameRaster(t, full, got)

			rng := rand.New(rand.NewPCG(uint64(i), 1))
			for range 6 {
				win := randomWindow(rng, 41, 37)
				want, err := Crop(full, win)
				require.NoError(t, err)
				got, err := d.ReadWindow(win)
				require.NoError(t, err, "window %v", win)
				requireSameRaster(t, want, got)
			}
		})
	}
}

// TestOpenInfoIsDecodeInfo describes the file as DecodeInfo does.
func TestOpenInfoIsDecodeInfo(t *testing.T) {
	t.Parallel()
	var cog bytes.Buffer
	require.NoError(t, EncodeCOG(&cog, randomRaster(4, 70, 50, 2, Int16), COGOptions{EncodeOptions: EncodeOptions{TileSize: 16}}))
	want, err := DecodeInfo(bytesReader(cog.Bytes()), int64(cog.Len()))
	require.NoError(t, err)
	require.NotEmpty(t, want.Overviews)
	d, err := Open(bytesReader(cog.Bytes()), int64(cog.Len()))
	require.NoError(t, err)
	assert.Equal(t, want, d.Info())
	assert.Equal(t, Window{W: 70, H: 50}, d.Bounds())
}

// TestOpenOverviewReadsItsWindows opens an overview: windows are in its
// pixels, the whole one equals Decode of it, and Info describes it.
func TestOpenOverviewReadsItsWindows(t *testing.T) {
	t.Parallel()
	var cog bytes.Buffer
	require.NoError(t, EncodeCOG(&cog, randomRaster(5, 90, 70, 1, Float32), COGOptions{EncodeOptions: EncodeOptions{TileSize: 16}}))
	file := cog.Bytes()
	want, err := decodeBytes(file, ReadOverview(1))
	require.NoError(t, err)
	d, err := Open(bytesReader(file), int64(len(file)), ReadOverview(1))
	require.NoError(t, err)
	info := d.Info()
	assert.Equal(t, [2]int{want.Width, want.Height}, [2]int{info.Width, info.Height})
	assert.Equal(t, want.Transform, info.Transform)
	assert.Equal(t, want.Width, info.Overviews[0].Width)
	got, err := d.ReadWindow(d.Bounds())
	require.NoError(t, err)
	requireSameRaster(t, want, got)
	win := Window{X: 7, Y: 3, W: 20, H: 25}
	crop, err := Crop(want, win)
	require.NoError(t, err)
	got, err = d.ReadWindow(win)
	require.NoError(t, err)
	requireSameRaster(t, crop, got)
}

// TestReadWindowOutsideTheImageFails rejects windows that leave the image
// or hold no pixel, naming the window and the image size.
func TestReadWindowOutsideTheImageFails(t *testing.T) {
	t.Parallel()
	file := encodeBytes(t, randomRaster(6, 40, 30, 1, Uint8), EncodeOptions{Tiled: true, TileSize: 16})
	d, err := Open(bytesReader(file), int64(len(file)))
	require.NoError(t, err)
	for _, win := range []Window{
		{X: -1, Y: 0, W: 10, H: 10},
		{X: 0, Y: -3, W: 10, H: 10},
		{X: 31, Y: 0, W: 10, H: 10},
		{X: 0, Y: 21, W: 10, H: 10},
		{X: 0, Y: 0, W: 41, H: 30},
		{X: 5, Y: 5, W: 0, H: 10},
		{X: 5, Y: 5, W: 10, H: -1},
		{X: 40, Y: 30, W: 1, H: 1},
	} {
		_, err := d.ReadWindow(win)
		require.ErrorIs(t, err, ErrWindow, "window %v", win)
		assert.Contains(t, err.Error(), win.String())
		assert.Contains(t, err.Error(), "40x30")
	}
}

// recordingReader records the offsets and lengths it is read at.
type recordingReader struct {
	*bytes.Reader
	mu         sync.Mutex
	offs, lens []int64
}

func (r *recordingReader) ReadAt(p []byte, off int64) (int, error) {
	r.mu.Lock()
	r.offs = append(r.offs, off)
	r.lens = append(r.lens, int64(len(p)))
	r.mu.Unlock()
	return r.Reader.ReadAt(p, off)
}

// TestReadWindowReadsOnlyItsChunks reads a window of 2x2 of the 16 px
// tiles of a planar 3-band file, and a window of 2 strips: the reader sees
// exactly the chunks that hold the window's pixels.
func TestReadWindowReadsOnlyItsChunks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		opts   EncodeOptions
		win    Window
		chunks []int
	}{
		// 64x48 in tiles: 4 across, 3 down, 12 per band.
		{"tiles", EncodeOptions{Tiled: true, TileSize: 16, Compression: CompressionLZW, Planar: true},
			Window{X: 20, Y: 15, W: 16, H: 2}, []int{1, 2, 5, 6, 13, 14, 17, 18, 25, 26, 29, 30}},
		// 10-row strips: rows 25..34 are in strips 2 and 3.
		{"strips", EncodeOptions{RowsPerStrip: 10, Compression: CompressionZSTD},
			Window{X: 3, Y: 25, W: 1, H: 10}, []int{2, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := encodeBytes(t, randomRaster(7, 64, 48, 3, Uint16), tt.opts)
			r := &recordingReader{Reader: bytes.NewReader(file)}
			d, err := Open(r, int64(len(file)))
			require.NoError(t, err)
			r.offs = nil
			_, err = d.ReadWindow(tt.win)
			require.NoError(t, err)
			var want []int64
			for _, i := range tt.chunks {
				want = append(want, int64(d.offsets[i]))
			}
			slices.Sort(r.offs)
			assert.Equal(t, want, r.offs)
		})
	}
}

// TestReadWindowReadsOnlyItsRowsOfUncompressedStrips reads rows 25..34
// of 10-row strips: the last 5 rows of strip 2, the first 5 of strip 3.
func TestReadWindowReadsOnlyItsRowsOfUncompressedStrips(t *testing.T) {
	t.Parallel()
	file := encodeBytes(t, randomRaster(7, 64, 48, 2, Uint16), EncodeOptions{RowsPerStrip: 10})
	r := &recordingReader{Reader: bytes.NewReader(file)}
	d, err := Open(r, int64(len(file)), ReadConcurrency(1))
	require.NoError(t, err)
	r.offs, r.lens = nil, nil
	_, err = d.ReadWindow(Window{X: 3, Y: 25, W: 1, H: 10})
	require.NoError(t, err)
	const rowBytes = 64 * 2 * 2
	assert.Equal(t, []int64{int64(d.offsets[2]) + 5*rowBytes, int64(d.offsets[3])}, r.offs)
	assert.Equal(t, []int64{5 * rowBytes, 5 * rowBytes}, r.lens)
}

// TestReadWindowOfCorruptChunkFails breaks one tile of each compression:
// windows over it fail with ErrFormat, windows beside it read.
func TestReadWindowOfCorruptChunkFails(t *testing.T) {
	t.Parallel()
	for _, comp := range []Compression{CompressionLZW, CompressionDeflate, CompressionZSTD} {
		t.Run(comp.String(), func(t *testing.T) {
			t.Parallel()
			want := randomRaster(8, 48, 48, 1, Float32)
			file := encodeBytes(t, want, EncodeOptions{Tiled: true, TileSize: 16, Compression: comp})
			d, err := Open(bytesReader(file), int64(len(file)))
			require.NoError(t, err)
			at, n := d.offsets[4], d.counts[4] // the middle tile
			for k := range n {
				file[at+k] = 0xff
			}
			_, err = d.ReadWindow(Window{X: 10, Y: 10, W: 10, H: 10})
			require.ErrorIs(t, err, ErrFormat)
			assert.Contains(t, err.Error(), "chunk 4")
			_, err = d.ReadWindow(d.Bounds())
			require.ErrorIs(t, err, ErrFormat)
			got, err := d.ReadWindow(Window{X: 0, Y: 32, W: 48, H: 16})
			require.NoError(t, err)
			crop, err := Crop(want, Window{X: 0, Y: 32, W: 48, H: 16})
			require.NoError(t, err)
			requireSamePixels(t, crop, got)
		})
	}
}

// TestReadWindowLimits opens an image larger than the decode limit: the
// whole image is refused (as Decode refuses it), windows within the limit
// read; a chunk over the limit is refused when opening.
func TestReadWindowLimits(t *testing.T) {
	t.Parallel()
	want := randomRaster(9, 64, 64, 2, Uint8)
	file := encodeBytes(t, want, EncodeOptions{Tiled: true, TileSize: 16, Compression: CompressionDeflate})
	limit := ReadLimit(64 * 64 * 2 * 8 / 4)
	_, err := decodeBytes(file, limit)
	require.ErrorIs(t, err, ErrSize)
	d, err := Open(bytesReader(file), int64(len(file)), limit)
	require.NoError(t, err)
	_, err = d.ReadWindow(d.Bounds())
	require.ErrorIs(t, err, ErrSize)
	got, err := d.ReadWindow(Window{X: 8, Y: 8, W: 32, H: 32})
	require.NoError(t, err)
	crop, err := Crop(want, Window{X: 8, Y: 8, W: 32, H: 32})
	require.NoError(t, err)
	requireSamePixels(t, crop, got)

	_, err = Open(bytesReader(file), int64(len(file)), ReadLimit(16*16*2-1))
	require.ErrorIs(t, err, ErrSize)
}

// TestReadWindowConcurrently reads the tiles of one Dataset from several
// goroutines at once (run with -race): each equals its crop.
func TestReadWindowConcurrently(t *testing.T) {
	t.Parallel()
	want := randomRaster(10, 200, 150, 2, Float32) // no NaN: slices.Equal compares
	file := encodeBytes(t, want, EncodeOptions{Tiled: true, TileSize: 32, Compression: CompressionDeflate, Predictor: PredictorFloat})
	d, err := Open(bytesReader(file), int64(len(file)), ReadConcurrency(2))
	require.NoError(t, err)
	tiles, err := Tiles(200, 150, 48, TerrainHalo)
	require.NoError(t, err)
	var wg sync.WaitGroup
	errs := make([]error, len(tiles))
	for k, tile := range tiles {
		wg.Go(func() {
			got, err := d.ReadWindow(tile.Read)
			if err == nil {
				var crop *Raster
				if crop, err = Crop(want, tile.Read); err == nil && !slices.Equal(crop.Pix[1], got.Pix[1]) {
					err = fmt.Errorf("tile %d differs", k)
				}
			}
			errs[k] = err
		})
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
}

// TestReadWindowOfRealDEM reads the tiles of the real DEM, cut as the
// hillshade pipeline cuts it, straight from the file.
func TestReadWindowOfRealDEM(t *testing.T) {
	needRealData(t)
	t.Parallel()
	const name = "localtileserver_co_elevation_roi.tif"
	full := realRaster(t, name)
	d, err := OpenFile(filepath.Join(realDataDir, name))
	require.NoError(t, err)
	defer func() { require.NoError(t, d.Close()) }()
	info, err := ReadInfo(filepath.Join(realDataDir, name))
	require.NoError(t, err)
	assert.Equal(t, info, d.Info())
	tiles, err := Tiles(full.Width, full.Height, 300, TerrainHalo)
	require.NoError(t, err)
	for _, tile := range tiles {
		want, err := Crop(full, tile.Read)
		require.NoError(t, err)
		got, err := d.ReadWindow(tile.Read)
		require.NoError(t, err)
		requireSameRaster(t, want, got)
	}
}

// TestOpenFileOfMissingFileFails names the path.
func TestOpenFileOfMissingFileFails(t *testing.T) {
	t.Parallel()
	_, err := OpenFile(filepath.Join(t.TempDir(), "absent.tif"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "absent.tif")
}
