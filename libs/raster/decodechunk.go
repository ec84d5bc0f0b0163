package raster

import (
	"fmt"
)

// decodeImage reads every chunk of img, the full resolution main or one of
// its overviews, into a new raster, with up to workers goroutines. Chunks
// cover disjoint pixels (of one band when planar), so the goroutines never
// write the same sample.
func decodeImage(img, main *tiffImage, workers int) (*Raster, error) {
	offsets, counts, err := img.chunkTable()
	if err != nil {
		return nil, err
	}
	noData, hasNoData, err := img.noData()
	if err == nil && !hasNoData && img != main { // an overview without its own
		noData, hasNoData, err = main.noData()
	}
	if err != nil {
		return nil, err
	}
	// Everything a file controls is checked; only now allocate the output.
	r, err := New(img.width, img.height, img.bands, img.dtype)
	if err != nil {
		return nil, err
	}
	r.NoData, r.HasNoData = noData, hasNoData
	n := img.chunks()
	err = runChunks(n, workers,
		func() *chunkDecoder {
			return &chunkDecoder{img: img, dst: r, raw: make([]byte, img.chunkBytes())}
		},
		func(*chunkDecoder) {},
		func(cd *chunkDecoder, i int) error { return cd.decode(i, offsets[i], counts[i]) })
	if err != nil {
		return nil, err
	}
	return r, nil
}

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

// chunkDecoder holds one goroutine's buffers.
type chunkDecoder struct {
	img       *tiffImage
	dst       *Raster
	z         inflater
	comp, raw []byte
	tmp       []byte
	samples   []float64
}

// decode reads chunk i, stored at off with count bytes, into dst.
func (cd *chunkDecoder) decode(i int, off, count uint64) error {
	img, r := cd.img, cd.dst
	plane, x0, y0, w, h, rows := img.chunkRect(i)
	if count == 0 { // sparse chunk: nodata, or 0 without nodata
		// The nodata value as a sample of the raster's type (GDAL fills a
		// sparse block with nodata converted, so clamped, to the type).
		fill := r.Type.Convert(r.NoData)
		if r.HasNoData && fill != 0 {
			for b := range r.Pix {
				if img.planar && b != plane {
					continue
				}
				for y := y0; y < y0+h; y++ {
					row := r.Pix[b][y*r.Width+x0 : y*r.Width+x0+w]
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
	raw := cd.raw[:need] // its capacity holds a full chunk
	f := img.d.f
	if img.compression == CompressionNone {
		if err := readFullAt(f.r, raw, int64(off)); err != nil {
			return fmt.Errorf("%w: read chunk %d: %w", ErrFormat, i, err)
		}
	} else {
		// A compressed chunk larger than twice its content plus slack is
		// not one any encoder writes.
		if count > uint64(2*need+64<<10) {
			return fmt.Errorf("%w: chunk %d: %d compressed bytes for %d", ErrFormat, i, count, need)
		}
		cd.comp = chunkBuf(cd.comp, int(count))
		if err := readFullAt(f.r, cd.comp, int64(off)); err != nil {
			return fmt.Errorf("%w: read chunk %d: %w", ErrFormat, i, err)
		}
		if err := cd.z.inflate(img.compression, cd.comp, raw); err != nil {
			return fmt.Errorf("%w: decompress chunk %d: %w", ErrFormat, i, err)
		}
	}
	size, bands := img.dtype.Size(), img.chunkBands()
	cd.tmp = chunkBuf(cd.tmp, rowBytes)
	if bands > 1 {
		if len(cd.samples) < w*bands {
			cd.samples = make([]float64, w*bands)
		}
	}
	for y := range h {
		row := raw[y*rowBytes : (y+1)*rowBytes]
		unpredict(img.predictor, row, cd.tmp, size, bands, f.bo)
		start := (y0+y)*r.Width + x0
		if bands == 1 {
			unpackSamples(r.Pix[plane][start:start+w], row, img.dtype, f.bo)
			continue
		}
		s := cd.samples[:w*bands]
		unpackSamples(s, row, img.dtype, f.bo)
		for b, p := range r.Pix {
			dst := p[start : start+w]
			for x := range dst {
				dst[x] = s[x*bands+b]
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
