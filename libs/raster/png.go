package raster

import (
	"fmt"
	"image"
	"image/png"
	"io"
	"math"
)

// EncodePNG writes a uint8 raster of 1 (gray), 3 (RGB) or 4 (RGBA) bands as
// a PNG map tile. With nodata, a pixel whose bands are all nodata is fully
// transparent (alpha 0) and every other pixel opaque, or as its alpha band
// says for 4 bands; without nodata 1 and 3 bands are written opaque, without
// an alpha channel. Samples are rounded and clamped to 0–255.
func EncodePNG(w io.Writer, r *Raster) error {
	if err := checkRaster(r); err != nil {
		return err
	}
	if r.Type != Uint8 {
		return fmt.Errorf("%w: PNG needs Byte samples, not %v", ErrFormat, r.Type)
	}
	bands := r.Bands()
	if bands != 1 && bands != 3 && bands != 4 {
		return fmt.Errorf("%w: PNG needs 1, 3 or 4 bands, not %d", ErrFormat, bands)
	}
	rect := image.Rect(0, 0, r.Width, r.Height)
	var img image.Image
	switch {
	case bands == 1 && !r.HasNoData:
		g := image.NewGray(rect)
		for i, v := range r.Pix[0] {
			g.Pix[i] = pngByte(v)
		}
		img = g
	case bands == 3 && !r.HasNoData:
		c := image.NewRGBA(rect) // opaque: alpha 255 everywhere
		for i := range r.Pix[0] {
			c.Pix[4*i], c.Pix[4*i+1], c.Pix[4*i+2] = pngByte(r.Pix[0][i]), pngByte(r.Pix[1][i]), pngByte(r.Pix[2][i])
			c.Pix[4*i+3] = 255
		}
		img = c
	default:
		img = pngWithAlpha(r, rect)
	}
	enc := png.Encoder{CompressionLevel: png.DefaultCompression}
	if err := enc.Encode(w, img); err != nil {
		return fmt.Errorf("encode png: %w", err)
	}
	return nil
}

// pngWithAlpha builds a non-premultiplied RGBA image whose alpha is 0 where
// all bands are nodata.
func pngWithAlpha(r *Raster, rect image.Rectangle) *image.NRGBA {
	c := image.NewNRGBA(rect)
	bands := r.Bands()
	color := min(bands, 3)
	for i := range r.Pix[0] {
		px := c.Pix[4*i : 4*i+4]
		empty := r.HasNoData
		for b := range bands {
			if !r.IsNoData(r.Pix[b][i]) {
				empty = false
			}
		}
		for k := range 3 {
			px[k] = pngByte(r.Pix[k%color][i])
		}
		switch {
		case empty:
			px[0], px[1], px[2], px[3] = 0, 0, 0, 0
		case bands == 4:
			px[3] = pngByte(r.Pix[3][i])
		default:
			px[3] = 255
		}
	}
	return c
}

// pngByte rounds and clamps a sample to a byte, NaN to 0.
func pngByte(v float64) uint8 { return uint8(roundClamp(v, 0, math.MaxUint8)) }
