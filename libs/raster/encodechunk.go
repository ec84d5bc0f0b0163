package raster

import (
	"encoding/binary"
	"fmt"
)

// outImage is one image (full resolution or an overview) being written: the
// layout it shares with the reader, its samples and compressed chunks.
type outImage struct {
	tiffImage
	r        *Raster
	u8       [][]uint8 // r's samples as bytes (byteSamples), or nil
	overview bool
	chunks   [][]byte
}

// newOutImage lays r out as the resolved options o say.
func newOutImage(r *Raster, o EncodeOptions, overview bool) *outImage {
	im := tiffImage{
		width: r.Width, height: r.Height, bands: r.Bands(), dtype: r.Type,
		compression: o.Compression, predictor: o.Predictor,
		planar: o.Planar && r.Bands() > 1, tiled: o.Tiled,
	}
	if o.Tiled {
		im.blockW, im.blockH = o.TileSize, o.TileSize
	} else {
		im.blockW = r.Width
		rows := o.RowsPerStrip
		if rows == 0 {
			rows = max(1, (64<<10)/im.rowBytes())
		}
		im.blockH = min(rows, r.Height)
	}
	im.across = (im.width + im.blockW - 1) / im.blockW
	im.down = (im.height + im.blockH - 1) / im.blockH
	return &outImage{tiffImage: im, r: r, overview: overview, chunks: make([][]byte, im.chunks())}
}

// compressImages fills the chunks of every image, in parallel.
func compressImages(images []*outImage, o EncodeOptions) error {
	type job struct{ img, chunk int }
	var jobs []job
	maxChunk := 0
	for i, img := range images {
		for c := range img.chunks {
			jobs = append(jobs, job{i, c})
		}
		maxChunk = max(maxChunk, img.chunkBytes())
	}
	bo := fileByteOrder(o.BigEndian)
	type state struct {
		z        *deflater
		raw, tmp []byte
	}
	return runChunks(len(jobs), o.Concurrency,
		func() *state {
			return &state{z: &deflater{level: o.Level}, raw: make([]byte, maxChunk), tmp: make([]byte, maxChunk)}
		},
		func(s *state) { s.z.close() },
		func(s *state, n int) error {
			img := images[jobs[n].img]
			c, err := img.encodeChunk(jobs[n].chunk, s.z, s.raw, s.tmp, bo)
			img.chunks[jobs[n].chunk] = c
			return err
		})
}

// encodeChunk packs, predicts and compresses chunk i. raw and tmp are
// scratch of at least chunkBytes.
func (img *outImage) encodeChunk(i int, z *deflater, raw, tmp []byte, bo binary.ByteOrder) ([]byte, error) {
	plane, x0, y0, w, h, rows := img.chunkRect(i)
	rowBytes, size, bands := img.rowBytes(), img.dtype.Size(), img.chunkBands()
	raw = raw[:rows*rowBytes]
	clear(raw[h*rowBytes:]) // rows below the image
	r := img.r
	var interleaved []float64
	if bands > 1 && img.u8 == nil {
		interleaved = make([]float64, w*bands)
	}
	for y := range h {
		row := raw[y*rowBytes : (y+1)*rowBytes]
		clear(row[w*bands*size:]) // columns right of the image
		start := (y0+y)*r.Width + x0
		switch {
		case img.u8 != nil && bands == 1:
			copy(row, img.u8[plane][start:start+w])
		case img.u8 != nil:
			for b, p := range img.u8 {
				for x, v := range p[start : start+w] {
					row[x*bands+b] = v
				}
			}
		case bands == 1:
			packSamples(row, r.Pix[plane][start:start+w], img.dtype, bo)
		default:
			for b, p := range r.Pix {
				for x, v := range p[start : start+w] {
					interleaved[x*bands+b] = v
				}
			}
			packSamples(row, interleaved, img.dtype, bo)
		}
		// Rows below the image stay zero, which every predictor keeps zero.
		predict(img.predictor, row, tmp[:rowBytes], size, bands, bo)
	}
	c, err := z.deflate(img.compression, raw)
	if err != nil {
		return nil, fmt.Errorf("compress chunk %d: %w", i, err)
	}
	return c, nil
}

// fileByteOrder is the byte order of a file written big-endian or not.
func fileByteOrder(big bool) binary.ByteOrder {
	if big {
		return binary.BigEndian
	}
	return binary.LittleEndian
}
