package raster

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// cogByParts cuts r into tiles of size, writes each as a part and
// assembles them.
func cogByParts(t *testing.T, r *Raster, size int, opts COGOptions) []byte {
	t.Helper()
	tiles, err := Tiles(r.Width, r.Height, size, 0)
	require.NoError(t, err)
	var parts []COGPart
	for _, tile := range tiles {
		sub, err := Crop(r, tile.Core)
		require.NoError(t, err)
		var buf bytes.Buffer
		require.NoError(t, EncodeCOGPart(&buf, sub, tile.Core.X, tile.Core.Y, r.Width, r.Height, opts))
		parts = append(parts, COGPart{X: tile.Core.X, Y: tile.Core.Y, Data: buf.Bytes()})
	}
	var out bytes.Buffer
	require.NoError(t, AssembleCOG(&out, r.Width, r.Height, parts, opts))
	return out.Bytes()
}

// TestCOGByPartsIsTheWholeCOG: whatever the tile size (aligned with the
// COG's blocks or not), image size (halving exactly or not), type, nodata,
// resampling or layout, the COG assembled from parts is byte for byte the
// COG written of the whole image.
func TestCOGByPartsIsTheWholeCOG(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		w, h   int
		bands  int
		typ    DataType
		tile   int
		opts   COGOptions
		nanND  bool
		noNoND bool
	}{
		{"byte-aligned-tiles", 1000, 744, 1, Uint8, 256, COGOptions{EncodeOptions: EncodeOptions{TileSize: 64}}, false, false},
		{"byte-one-block-per-tile", 1000, 744, 1, Uint8, 64, COGOptions{EncodeOptions: EncodeOptions{TileSize: 64}}, false, false},
		{"odd-size-halves-inexactly", 1001, 743, 1, Uint8, 256, COGOptions{EncodeOptions: EncodeOptions{TileSize: 64}}, false, false},
		{"tiles-not-on-blocks", 1000, 744, 1, Uint16, 96, COGOptions{EncodeOptions: EncodeOptions{TileSize: 64}}, false, false},
		{"float-nan-nodata-zstd", 640, 512, 1, Float32, 128, COGOptions{EncodeOptions: EncodeOptions{TileSize: 64, Compression: CompressionZSTD}}, true, false},
		{"float64-no-nodata", 512, 384, 1, Float64, 128, COGOptions{EncodeOptions: EncodeOptions{TileSize: 32}}, false, true},
		{"rgb-nearest-lzw", 768, 512, 3, Uint8, 256, COGOptions{EncodeOptions: EncodeOptions{TileSize: 64, Compression: CompressionLZW}, Resampling: "nearest"}, false, false},
		{"planar-big-endian-no-ghost", 640, 448, 2, Int16, 128, COGOptions{EncodeOptions: EncodeOptions{TileSize: 64, Planar: true, BigEndian: true}, NoGhostArea: true}, false, false},
		{"one-part", 300, 200, 1, Uint8, 512, COGOptions{EncodeOptions: EncodeOptions{TileSize: 64}}, false, false},
		{"no-overviews", 300, 200, 1, Uint8, 128, COGOptions{EncodeOptions: EncodeOptions{TileSize: 64}, OverviewCount: -1}, false, false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := randomRaster(uint64(900+i), tt.w, tt.h, tt.bands, tt.typ)
			if tt.nanND {
				nanNoData(r)
			}
			r.HasNoData = !tt.noNoND
			var whole bytes.Buffer
			require.NoError(t, EncodeCOG(&whole, r, tt.opts))
			got := cogByParts(t, r, tt.tile, tt.opts)
			require.Equal(t, len(whole.Bytes()), len(got), "file size")
			require.True(t, bytes.Equal(whole.Bytes(), got), "the assembled COG differs from the whole COG")
		})
	}
}

// TestCOGPartHoldsTheLevelsItsPixelsDetermine: a tile aligned on even
// pixels of an image that halves exactly holds overviews down to the
// levels where that stops; a tile at an odd offset holds none.
func TestCOGPartHoldsTheLevelsItsPixelsDetermine(t *testing.T) {
	t.Parallel()
	o := COGOptions{EncodeOptions: EncodeOptions{TileSize: 512}}
	// 8000 → 4000 → 2000 → 1000 → 500: four levels, all exact.
	assert.Equal(t, 4, o.partLevels(8000, 8000, Window{X: 2048, Y: 6144, W: 1856, H: 1856}))
	assert.Equal(t, 4, o.partLevels(8000, 8000, Window{X: 2048, Y: 2048, W: 2048, H: 2048}))
	assert.Equal(t, 2, o.partLevels(8000, 8000, Window{X: 1028, Y: 0, W: 1024, H: 1024}), "1028 = 4·257")
	assert.Equal(t, 0, o.partLevels(8000, 8000, Window{X: 1, Y: 0, W: 10, H: 10}))
	// 8002 → 4001 → 2000: the second halving is not exact.
	assert.Equal(t, 1, o.partLevels(8002, 8002, Window{W: 2048, H: 2048}))
	assert.Equal(t, 0, (COGOptions{Downsample: func(r *Raster, w, h int) (*Raster, error) { return nil, nil }}).partLevels(8000, 8000, Window{W: 2048, H: 2048}))
}

// TestAssembleCOGRejectsPartsThatDoNotTileTheImage: gaps, overlaps,
// parts outside the image and mixed types are errors wrapping ErrGrid.
func TestAssembleCOGRejectsPartsThatDoNotTileTheImage(t *testing.T) {
	t.Parallel()
	r := randomRaster(77, 256, 128, 1, Uint8)
	opts := COGOptions{EncodeOptions: EncodeOptions{TileSize: 64}}
	part := func(src *Raster, win Window) COGPart {
		sub, err := Crop(src, win)
		require.NoError(t, err)
		var buf bytes.Buffer
		require.NoError(t, EncodeCOGPart(&buf, sub, win.X, win.Y, src.Width, src.Height, opts))
		return COGPart{X: win.X, Y: win.Y, Data: buf.Bytes()}
	}
	left, right := part(r, Window{W: 128, H: 128}), part(r, Window{X: 128, W: 128, H: 128})
	wide := part(r, Window{W: 192, H: 128})
	other := randomRaster(78, 256, 128, 1, Uint16)
	tests := map[string][]COGPart{
		"gap":          {left},
		"overlap":      {wide, right, part(r, Window{X: 192, W: 64, H: 64})},
		"outside":      {left, {X: 200, Y: 0, Data: right.Data}},
		"mixed types":  {left, part(other, Window{X: 128, W: 128, H: 128})},
		"not a TIFF":   {left, {X: 128, Data: []byte("not a tiff")}},
		"no parts":     nil,
		"double cover": {left, left, right},
	}
	for name, parts := range tests {
		t.Run(name, func(t *testing.T) {
			err := AssembleCOG(&bytes.Buffer{}, 256, 128, parts, opts)
			require.Error(t, err)
			if name == "not a TIFF" {
				assert.ErrorIs(t, err, ErrFormat)
			} else {
				assert.ErrorIs(t, err, ErrGrid)
			}
		})
	}
	assert.ErrorIs(t, EncodeCOGPart(&bytes.Buffer{}, r, 1, 0, 256, 128, opts), ErrWindow)
}

// TestGDALValidatesAnAssembledCOG: a COG assembled from parts passes GDAL's
// COG validator and reads as LAYOUT=COG.
func TestGDALValidatesAnAssembledCOG(t *testing.T) {
	needGDAL(t)
	if err := exec.Command("/usr/bin/python3", "-c", "import osgeo_utils.samples.validate_cloud_optimized_geotiff").Run(); err != nil {
		skipWithoutTool(t, "GDAL's COG validator (Debian python3-gdal under /usr/bin/python3) not available: %v", err)
	}
	t.Parallel()
	r := randomRaster(901, 1200, 1100, 1, Uint8)
	file := cogByParts(t, r, 512, COGOptions{})
	path := filepath.Join(t.TempDir(), "assembled.tif")
	require.NoError(t, os.WriteFile(path, file, 0o644))
	out, err := exec.Command("/usr/bin/python3", "-m", "osgeo_utils.samples.validate_cloud_optimized_geotiff",
		"--full-check=yes", path).CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), "is a valid cloud optimized GeoTIFF")
	assert.NotContains(t, string(out), "warning")
	info := requireGDALAgrees(t, path, r)
	assert.Equal(t, "COG", info.Metadata["IMAGE_STRUCTURE"]["LAYOUT"])
	assert.Len(t, info.Bands[0].Overviews, 2, fmt.Sprint(info.Bands[0].Overviews))
}

// TestHalvingIsTheWindowedAverageToTheBit: the exact-halving path of the
// overviews gives the bits the windowed average gives (nodata, NaN, -0 and
// values that average to nodata included).
func TestHalvingIsTheWindowedAverageToTheBit(t *testing.T) {
	t.Parallel()
	for i, typ := range []DataType{Uint8, Int16, Float32, Float64} {
		for _, nanND := range []bool{false, true} {
			r := randomRaster(uint64(950+i), 130, 94, 2, typ)
			if nanND && isFloat(typ) {
				r.NoData = math.NaN()
			}
			for _, p := range r.Pix {
				for j := range p {
					switch j % 17 {
					case 3:
						p[j] = math.Copysign(0, -1)
					case 5:
						p[j] = math.NaN()
					case 7:
						p[j] = r.NoData + 1
					}
				}
			}
			for _, hasND := range []bool{true, false} {
				r.HasNoData = hasND
				want := downsampleWith(r, 65, 47, false, false)
				got := downsampleWith(r, 65, 47, false, true)
				for b := range want.Pix {
					for j, v := range want.Pix[b] {
						require.Equal(t, math.Float64bits(v), math.Float64bits(got.Pix[b][j]), "%v nodata %v (%v) band %d sample %d: %v, %v", typ, r.NoData, hasND, b, j, v, got.Pix[b][j])
					}
				}
			}
		}
	}
}

// TestPartOverviewsAreOfTheStoredSamples: samples the type cannot hold
// (fractions in a Byte raster, out of range, float64 precision in Float32)
// are rounded as the file stores them before the part's overviews are
// computed, as EncodeCOG computes them from a decoded raster; the caller's
// raster is left alone.
func TestPartOverviewsAreOfTheStoredSamples(t *testing.T) {
	t.Parallel()
	for _, typ := range []DataType{Uint8, Float32} {
		r := randomRaster(970, 256, 256, 1, typ)
		for j := range r.Pix[0] {
			switch j % 5 {
			case 1:
				r.Pix[0][j] += 0.3
			case 2:
				r.Pix[0][j] = 1e9 + 1e-3
			}
		}
		orig := slices.Clone(r.Pix[0])
		opts := COGOptions{EncodeOptions: EncodeOptions{TileSize: 64}}
		var whole bytes.Buffer
		require.NoError(t, EncodeCOG(&whole, r, opts))
		stored, err := Decode(bytes.NewReader(whole.Bytes()), int64(whole.Len()))
		require.NoError(t, err)
		var want bytes.Buffer
		require.NoError(t, EncodeCOG(&want, stored, opts))
		assert.Equal(t, want.Bytes(), cogByParts(t, r, 128, opts), "%v", typ)
		assert.Equal(t, orig, r.Pix[0])
	}
}

// TestMayStoreAsNeverMissesNoData: the cheap test before DataType.Convert
// in the halving never says no where Convert gives the nodata value.
func TestMayStoreAsNeverMissesNoData(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	for _, typ := range []DataType{Uint8, Uint16, Int16, Int32, Float32, Float64} {
		lo, hi := typ.sampleRange()
		nds := []float64{0, 1, -9999, 255, 65535, -32768, math.MaxInt32, -math.MaxFloat32, math.MaxFloat32, math.Inf(1), math.Inf(-1), 1e20, 3.3}
		for _, nd := range nds {
			for range 2000 {
				var v float64
				switch rng.IntN(4) {
				case 0:
					v = nd + rng.NormFloat64()*4
				case 1:
					v = nd * (1 + rng.NormFloat64()*1e-7)
				case 2:
					v = (rng.Float64() - 0.5) * 1e10
				default:
					v = (rng.Float64() - 0.5) * 1e40
				}
				if typ.Convert(v) == nd {
					require.True(t, mayStoreAs(v, nd, lo, hi), "%v: %v stores as nodata %v", typ, v, nd)
				}
			}
		}
	}
}
