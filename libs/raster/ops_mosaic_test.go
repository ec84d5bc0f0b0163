package raster

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCropMovesOriginAndPasteRestores(t *testing.T) {
	src := opsSyntheticDEM(50, 40, Int16)
	sub, err := Crop(src, Window{X: 10, Y: 5, W: 20, H: 7})
	require.NoError(t, err)
	assert.Equal(t, [2]int{20, 7}, [2]int{sub.Width, sub.Height})
	assert.Equal(t, GeoTransform{500100, 10, 0, 3999950, 0, -10}, sub.Transform)
	assert.Equal(t, src.At(0, 10, 5), sub.At(0, 0, 0))
	assert.Equal(t, src.At(0, 29, 11), sub.At(0, 19, 6))
	assert.Equal(t, src.EPSG, sub.EPSG)
	sub.Set(0, 0, 0, 1234)
	assert.NotEqual(t, 1234.0, src.At(0, 10, 5), "a crop copies")

	dst, _ := New(50, 40, 1, Int16)
	require.NoError(t, Paste(dst, sub, 10, 5))
	assert.Equal(t, 1234.0, dst.At(0, 10, 5))
	assert.Equal(t, src.At(0, 29, 11), dst.At(0, 29, 11))
	assert.Zero(t, dst.At(0, 30, 11))

	for _, win := range []Window{{X: -1, W: 5, H: 5}, {X: 46, W: 5, H: 5}, {W: 0, H: 3}} {
		_, err := Crop(src, win)
		assert.ErrorIs(t, err, ErrWindow, "%v", win)
	}
	assert.ErrorIs(t, Paste(dst, sub, 31, 0), ErrWindow)
	two, _ := New(2, 2, 2, Int16)
	assert.ErrorIs(t, Paste(dst, two, 0, 0), ErrGrid)
}

func TestMosaicLaterOverEarlierNodataTransparent(t *testing.T) {
	base := opsSyntheticDEM(30, 20, Float32)
	a, _ := Crop(base, Window{X: 0, Y: 0, W: 20, H: 20})
	b, _ := Crop(base, Window{X: 10, Y: 5, W: 20, H: 15})
	b.Fill(7)
	b.Set(0, 5, 5, b.NoData) // a hole in b shows a below it
	dst, _ := New(30, 20, 1, Float32)
	dst.Georef, dst.NoData, dst.HasNoData = base.Georef, -1, true
	dst.Fill(-1)
	require.NoError(t, Mosaic(dst, a, b))
	assert.Equal(t, base.At(0, 3, 3), dst.At(0, 3, 3))
	assert.Equal(t, 7.0, dst.At(0, 12, 7), "b over a")
	assert.Equal(t, base.At(0, 15, 10), dst.At(0, 15, 10), "a through b's hole")
	assert.Equal(t, -1.0, dst.At(0, 25, 2), "covered by neither")

	// Sources reaching outside dst are clipped; off-grid ones rejected.
	small, _ := New(10, 10, 1, Float32)
	small.Georef = base.Georef
	small.Transform = base.Transform.Offset(5, 0) // columns 5..14 of base
	small.Fill(-1)
	require.NoError(t, Mosaic(small, b))
	assert.Equal(t, 7.0, small.At(0, 9, 9))
	assert.Equal(t, 7.0, small.At(0, 5, 5))
	assert.Equal(t, -1.0, small.At(0, 4, 5))
	before := dst.Clone()
	for name, mutate := range map[string]func(r *Raster){
		"half pixel":    func(r *Raster) { r.Transform[0] += 5 },
		"resolution":    func(r *Raster) { r.Transform[1] = 20 },
		"CRS":           func(r *Raster) { r.EPSG = 4326 },
		"band count":    func(r *Raster) { r.Pix = append(r.Pix, r.Pix[0]) },
		"rotated pixel": func(r *Raster) { r.Transform[2] = 1 },
	} {
		bad := b.Clone()
		mutate(bad)
		assert.ErrorIs(t, Mosaic(dst, a, bad), ErrGrid, name)
	}
	assert.Equal(t, before.Pix, dst.Pix, "a failed mosaic leaves dst unchanged")
}

func TestMosaicMatchesGdalbuildvrt(t *testing.T) {
	opsNeedGDAL(t, "gdalbuildvrt")
	base := opsSyntheticDEM(120, 90, Float32)
	dir := t.TempDir()
	var srcs []*Raster
	var paths []string
	for i, win := range []Window{{X: 0, Y: 0, W: 70, H: 60}, {X: 40, Y: 20, W: 80, H: 70}, {X: 20, Y: 50, W: 50, H: 40}} {
		r, err := Crop(base, win)
		require.NoError(t, err)
		for j := range r.Pix[0] {
			if r.Pix[0][j] != r.NoData {
				r.Pix[0][j] += float64(1000 * i) // tell the sources apart
			}
		}
		p := filepath.Join(dir, fmt.Sprintf("s%d.bil", i))
		opsWriteEHdr(t, p, r)
		srcs, paths = append(srcs, r), append(paths, p)
	}
	vrt, out := filepath.Join(dir, "m.vrt"), filepath.Join(dir, "m.tif")
	opsGDAL(t, "gdalbuildvrt", append([]string{"-q", "-srcnodata", "-9999", "-vrtnodata", "-9999", vrt}, paths...)...)
	opsGDAL(t, "gdal_translate", "-q", vrt, out)
	want := opsGDALRead(t, out)

	dst, _ := New(120, 90, 1, Float32)
	dst.Georef, dst.NoData, dst.HasNoData = base.Georef, -9999, true
	dst.Fill(-9999)
	require.NoError(t, Mosaic(dst, srcs...))
	assert.Equal(t, want.Transform, dst.Transform)
	assert.Equal(t, want.Pix, dst.Pix)
}
