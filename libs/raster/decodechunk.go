package raster

import (
	"encoding/binary"
	"fmt"
	"sync"
)

// noData reads GDAL_NODATA.
func (im *tiffImage) noData() (float64, bool, error) {
	s, ok, err := im.d.ascii(tagGDALNoData)
	if err != nil || !ok {
		return 0, false, err
	}
	v, err := parseNoData(s, im.dtype)
	if err != nil {
		return 0, false, err
	}
	return v, true, nil
}

// chunkScratch holds one decoding goroutine's buffers. They outlive a call
// in chunkScratches, so that reading many windows does not allocate chunk
// buffers (and Deflate states) again for each.
type chunkScratch struct {
	z         inflater
	comp, raw []byte
	tmp       []byte
	samples   []float64
}

var chunkScratches = sync.Pool{New: func() any { return new(chunkScratch) }}

func getChunkScratch() *chunkScratch { return chunkScratches.Get().(*chunkScratch) }

func putChunkScratch(s *chunkScratch) { chunkScratches.Put(s) }

// decode reads chunk i of img, stored at off with count bytes, into dst,
// which holds the pixels of win. Chunks cover disjoint pixels (of one band
// when planar), so goroutines decoding different chunks into one dst never
// write the same sample.
//
// With f32 set, the samples of its band go to f32.pix, win.W wide, in
// single precision, and dst only describes the window (its Pix unused).
func (s *chunkScratch) decode(img *tiffImage, i int, off, count uint64, dst *Raster, win Window, f32 *band32) error {
	plane, x0, y0, w, h, rows := img.chunkRect(i)
	if f32 != nil && img.planar && plane != f32.band {
		return nil // another band's chunk
	}
	part := Window{X: x0, Y: y0, W: w, H: h}.Intersect(win) // the pixels dst wants
	dx, dy := part.X-win.X, part.Y-win.Y
	if count == 0 { // sparse chunk: nodata, or 0 without nodata
		// The nodata value as a sample of the raster's type (GDAL fills a
		// sparse block with nodata converted, so clamped, to the type).
		fill := dst.Type.Convert(dst.NoData)
		if f32 != nil {
			for y := dy; y < dy+part.H; y++ {
				row := f32.pix[y*win.W+dx : y*win.W+dx+part.W]
				for x := range row {
					row[x] = 0
					if dst.HasNoData {
						row[x] = float32(fill)
					}
				}
			}
			return nil
		}
		if dst.HasNoData && fill != 0 {
			for b := range dst.Pix {
				if img.planar && b != plane {
					continue
				}
				for y := dy; y < dy+part.H; y++ {
					row := dst.Pix[b][y*dst.Width+dx : y*dst.Width+dx+part.W]
					for x := range row {
						row[x] = fill
					}
				}
			}
		}
		return nil
	}
	rowBytes := img.rowBytes()
	need := rows * rowBytes
	s.raw = chunkBuf(s.raw, need)
	raw := s.raw[:need:need] // no decompressor may write past the chunk
	// The stored rows the window needs, first to last: a window ending
	// above the chunk's last row (a halo reaching into the next row of
	// tiles) needs less of the stream, and an uncompressed chunk is read
	// from its first row needed. A window to the chunk's last row takes the
	// whole chunk, so that Decode checks every stream to its end.
	first, last := part.Y-y0, rows
	if part.Y+part.H < y0+h {
		last = part.Y + part.H - y0
	}
	f := img.d.f
	if img.compression == CompressionNone {
		if err := readFullAt(f.r, raw[first*rowBytes:last*rowBytes], int64(off)+int64(first*rowBytes)); err != nil {
			return fmt.Errorf("%w: read chunk %d: %w", ErrFormat, i, err)
		}
	} else {
		// A compressed chunk larger than twice its content plus slack is
		// not one any encoder writes.
		if count > uint64(2*need+64<<10) {
			return fmt.Errorf("%w: chunk %d: %d compressed bytes for %d", ErrFormat, i, count, need)
		}
		s.comp = chunkBuf(s.comp, int(count))
		if err := readFullAt(f.r, s.comp, int64(off)); err != nil {
			return fmt.Errorf("%w: read chunk %d: %w", ErrFormat, i, err)
		}
		out := raw
		if img.compression != CompressionZSTD { // ZSTD decodes whole frames
			out = raw[:last*rowBytes]
		}
		if err := s.z.inflate(img.compression, s.comp, out); err != nil {
			return fmt.Errorf("%w: decompress chunk %d: %w", ErrFormat, i, err)
		}
	}
	size, bands := img.dtype.Size(), img.chunkBands()
	s.tmp = chunkBuf(s.tmp, rowBytes)
	if bands > 1 && len(s.samples) < part.W*bands {
		s.samples = make([]float64, part.W*bands)
	}
	// The columns of the window inside each stored row.
	from, to := (part.X-x0)*bands*size, (part.X-x0+part.W)*bands*size
	big := f.bo == binary.BigEndian
	for y := part.Y; y < part.Y+part.H; y++ {
		row := raw[(y-y0)*rowBytes : (y-y0+1)*rowBytes]
		littleEndianRow(img.predictor, row, s.tmp, size, bands, big)
		start := (y-win.Y)*dst.Width + dx
		switch {
		case f32 != nil && bands == 1:
			unpackLE32(f32.pix[start:start+part.W], row[from:to], img.dtype)
			continue
		case bands == 1:
			unpackLE(dst.Pix[plane][start:start+part.W], row[from:to], img.dtype)
			continue
		}
		v := s.samples[:part.W*bands]
		unpackLE(v, row[from:to], img.dtype)
		if f32 != nil {
			out := f32.pix[start : start+part.W]
			for x := range out {
				out[x] = float32(v[x*bands+f32.band])
			}
			continue
		}
		for b, p := range dst.Pix {
			out := p[start : start+part.W]
			for x := range out {
				out[x] = v[x*bands+b]
			}
		}
	}
	return nil
}

// chunkBuf returns b resized to n bytes, reallocating only when it is too small.
func chunkBuf(b []byte, n int) []byte {
	if cap(b) < n {
		return make([]byte, n)
	}
	return b[:n]
}
