package raster

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// encodePNGImage encodes r and decodes the PNG with the standard library.
func encodePNGImage(t *testing.T, r *Raster) image.Image {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, EncodePNG(&buf, r))
	img, err := png.Decode(&buf)
	require.NoError(t, err)
	return img
}

// TestPNGTilesAreTransparentExactlyOnNoData checks gray, RGB and RGBA tiles
// with and without nodata.
func TestPNGTilesAreTransparentExactlyOnNoData(t *testing.T) {
	t.Parallel()
	gray := &Raster{Width: 3, Height: 1, Type: Uint8, Pix: [][]float64{{0, 127.6, 300}}}
	img := encodePNGImage(t, gray)
	require.IsType(t, &image.Gray{}, img, "opaque gray needs no alpha")
	assert.Equal(t, []uint8{0, 128, 255}, img.(*image.Gray).Pix)

	gray.HasNoData = true
	img = encodePNGImage(t, gray)
	assert.Equal(t, color.NRGBA{}, color.NRGBAModel.Convert(img.At(0, 0)))
	assert.Equal(t, color.NRGBA{128, 128, 128, 255}, color.NRGBAModel.Convert(img.At(1, 0)))

	rgb := &Raster{Width: 3, Height: 1, Type: Uint8, HasNoData: true, Pix: [][]float64{{0, 0, 9}, {0, 5, 9}, {0, 0, 9}}}
	img = encodePNGImage(t, rgb)
	assert.Equal(t, color.NRGBA{}, color.NRGBAModel.Convert(img.At(0, 0)), "all bands nodata")
	assert.Equal(t, color.NRGBA{0, 5, 0, 255}, color.NRGBAModel.Convert(img.At(1, 0)), "one band valid")
	assert.Equal(t, color.NRGBA{9, 9, 9, 255}, color.NRGBAModel.Convert(img.At(2, 0)))

	rgb.HasNoData = false
	img = encodePNGImage(t, rgb)
	assert.Equal(t, color.NRGBA{0, 0, 0, 255}, color.NRGBAModel.Convert(img.At(0, 0)))

	rgba := &Raster{Width: 2, Height: 1, Type: Uint8, HasNoData: true, NoData: 7,
		Pix: [][]float64{{7, 1}, {7, 2}, {7, 3}, {7, 128}}}
	img = encodePNGImage(t, rgba)
	assert.Equal(t, color.NRGBA{}, color.NRGBAModel.Convert(img.At(0, 0)))
	assert.Equal(t, color.NRGBA{1, 2, 3, 128}, color.NRGBAModel.Convert(img.At(1, 0)))
}

// TestPNGRejectsWhatATileCannotHold needs Byte samples and 1, 3 or 4 bands.
func TestPNGRejectsWhatATileCannotHold(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	assert.ErrorIs(t, EncodePNG(&buf, &Raster{Width: 1, Height: 1, Type: Float32, Pix: [][]float64{{1}}}), ErrFormat)
	assert.ErrorIs(t, EncodePNG(&buf, &Raster{Width: 1, Height: 1, Type: Uint8, Pix: [][]float64{{1}, {2}}}), ErrFormat)
	assert.ErrorIs(t, EncodePNG(&buf, &Raster{Width: 2, Height: 1, Type: Uint8, Pix: [][]float64{{1}}}), ErrSize)
}

// TestPNGOfTheRealRGB makes a tile of the corner of the Landsat RGB: its
// alpha is 0 on the nodata collar and 255 inside.
func TestPNGOfTheRealRGB(t *testing.T) {
	needRealData(t)
	t.Parallel()
	full := realRaster(t, "rasterio_RGB.byte.tif")
	r := cropPixels(full, 0, 0, 256, 256)
	r.Type, r.NoData, r.HasNoData = full.Type, full.NoData, full.HasNoData
	img := encodePNGImage(t, r).(*image.NRGBA)
	transparent, wrong := 0, 0
	for i := range r.Pix[0] {
		want := uint8(255)
		if r.Pix[0][i] == 0 && r.Pix[1][i] == 0 && r.Pix[2][i] == 0 {
			want = 0
			transparent++
		}
		if img.Pix[4*i+3] != want {
			wrong++
		}
	}
	assert.Zero(t, wrong, "pixels whose alpha is not 0 exactly on nodata")
	assert.Greater(t, transparent, 1000, "the scene has a nodata collar")
}
