package raster

import "fmt"

// tiffImage is the layout of the image one IFD describes: its size and
// sample type, and how the samples are cut into chunks (strips or tiles).
type tiffImage struct {
	d                   *ifd
	width, height       int
	bands               int
	dtype               DataType
	compression         Compression
	predictor           Predictor
	planar              bool // planar-separate: one chunk holds one band
	tiled               bool
	blockW, blockH      int // tile size, or image width x rows per strip
	photometric         uint64
	across, down        int // chunks per row and column of one plane
	offsetTag, countTag uint16
}

// parseImage reads and checks an IFD's layout; limit caps the decoded size
// (width*height*bands*8 bytes). Chunk offsets are read later, by chunkTable.
func parseImage(d *ifd, limit int64) (*tiffImage, error) {
	im := &tiffImage{d: d}
	var err error
	get := func(tag uint16, def uint64) uint64 {
		if err != nil {
			return 0
		}
		var v uint64
		v, err = d.uint1(tag, def)
		return v
	}
	w, h := get(tagImageWidth, 0), get(tagImageLength, 0)
	spp := get(tagSamplesPerPixel, 1)
	comp, pred := get(tagCompression, 1), get(tagPredictor, 1)
	planar := get(tagPlanarConfig, planarChunky)
	im.photometric = get(tagPhotometric, photometricMinIsBlack)
	if err != nil {
		return nil, err
	}
	bits, err := d.same(tagBitsPerSample, 1)
	if err != nil {
		return nil, err
	}
	format, err := d.same(tagSampleFormat, sampleFormatUint)
	if err != nil {
		return nil, err
	}
	if w == 0 || h == 0 || w > maxDimension || h > maxDimension {
		return nil, fmt.Errorf("%w: image size %dx%d", ErrFormat, w, h)
	}
	if spp == 0 || spp > maxBands {
		return nil, fmt.Errorf("%w: %d samples per pixel", ErrFormat, spp)
	}
	if uint64(limit)/8/w/h < spp {
		return nil, fmt.Errorf("%w: %dx%d with %d bands exceeds the %d-byte decode limit", ErrSize, w, h, spp, limit)
	}
	im.width, im.height, im.bands = int(w), int(h), int(spp)
	if im.dtype = sampleType(format, bits); im.dtype == 0 {
		return nil, fmt.Errorf("%w: %d-bit samples of format %d are not supported", ErrFormat, bits, format)
	}
	im.compression = Compression(comp)
	if !im.compression.decodable() {
		return nil, fmt.Errorf("%w: compression %d is not supported", ErrFormat, comp)
	}
	im.predictor = Predictor(pred)
	if err := im.predictor.check(im.dtype); err != nil {
		return nil, err
	}
	if im.photometric == photometricYCbCr {
		// Subsampled chroma (the default 2x2) packs chunks differently.
		sub, err := d.uints(tagYCbCrSubsampling, 2)
		if err != nil {
			return nil, err
		}
		if len(sub) != 2 || sub[0] != 1 || sub[1] != 1 {
			return nil, fmt.Errorf("%w: subsampled YCbCr is not supported", ErrFormat)
		}
	}
	switch planar {
	case planarChunky:
	case planarSeparate:
		im.planar = im.bands > 1
	default:
		return nil, fmt.Errorf("%w: planar configuration %d", ErrFormat, planar)
	}
	if err := im.parseBlocks(limit); err != nil {
		return nil, err
	}
	return im, nil
}

// parseBlocks reads the tile or strip geometry.
func (im *tiffImage) parseBlocks(limit int64) error {
	d := im.d
	im.tiled = d.has(tagTileWidth) || d.has(tagTileOffsets)
	if im.tiled {
		tw, err := d.uint1(tagTileWidth, 0)
		if err != nil {
			return err
		}
		th, err := d.uint1(tagTileLength, 0)
		if err != nil {
			return err
		}
		if tw == 0 || th == 0 || tw > 1<<16 || th > 1<<16 {
			return fmt.Errorf("%w: tile size %dx%d", ErrFormat, tw, th)
		}
		im.blockW, im.blockH = int(tw), int(th)
		im.offsetTag, im.countTag = tagTileOffsets, tagTileByteCounts
	} else {
		rps, err := d.uint1(tagRowsPerStrip, 1<<32-1)
		if err != nil {
			return err
		}
		if rps == 0 {
			return fmt.Errorf("%w: 0 rows per strip", ErrFormat)
		}
		im.blockW, im.blockH = im.width, int(min(rps, uint64(im.height)))
		im.offsetTag, im.countTag = tagStripOffsets, tagStripByteCounts
	}
	if !im.chunkFits(limit) {
		return fmt.Errorf("%w: a %dx%d chunk exceeds the %d-byte decode limit", ErrSize, im.blockW, im.blockH, limit)
	}
	im.across = (im.width + im.blockW - 1) / im.blockW
	im.down = (im.height + im.blockH - 1) / im.blockH
	return nil
}

// chunkBands is the number of bands one chunk interleaves.
func (im *tiffImage) chunkBands() int {
	if im.planar {
		return 1
	}
	return im.bands
}

// rowBytes is the size of one stored row of a chunk.
func (im *tiffImage) rowBytes() int { return im.blockW * im.chunkBands() * im.dtype.Size() }

// chunkBytes is the size of a full chunk.
func (im *tiffImage) chunkBytes() int { return im.blockH * im.rowBytes() }

// chunkFits reports whether a full chunk holds at most limit bytes,
// without overflow whatever the geometry.
func (im *tiffImage) chunkFits(limit int64) bool {
	return uint64(limit)/uint64(im.chunkBands()*im.dtype.Size())/uint64(im.blockW) >= uint64(im.blockH)
}

// chunks is the number of chunks.
func (im *tiffImage) chunks() int {
	n := im.across * im.down
	if im.planar {
		n *= im.bands
	}
	return n
}

// chunkRect places chunk i: its band plane (0 when chunky), its top-left
// pixel, the width and height of it inside the image, and its stored rows
// (a tile keeps its padding; the last strip only holds the rows left).
func (im *tiffImage) chunkRect(i int) (plane, x0, y0, w, h, rows int) {
	per := im.across * im.down
	plane, i = i/per, i%per
	x0, y0 = (i%im.across)*im.blockW, (i/im.across)*im.blockH
	w, h = min(im.blockW, im.width-x0), min(im.blockH, im.height-y0)
	rows = im.blockH
	if !im.tiled {
		rows = h
	}
	return plane, x0, y0, w, h, rows
}

// chunksIn lists, in file order, the chunks that hold pixels of win, a
// window inside the image: every band plane's when planar.
func (im *tiffImage) chunksIn(win Window) []int {
	cx0, cx1 := win.X/im.blockW, (win.X+win.W-1)/im.blockW
	cy0, cy1 := win.Y/im.blockH, (win.Y+win.H-1)/im.blockH
	planes := im.bands / im.chunkBands()
	out := make([]int, 0, planes*(cx1-cx0+1)*(cy1-cy0+1))
	for p := range planes {
		for cy := cy0; cy <= cy1; cy++ {
			for cx := cx0; cx <= cx1; cx++ {
				out = append(out, (p*im.down+cy)*im.across+cx)
			}
		}
	}
	return out
}

// chunkTable reads the offsets and byte counts of all chunks and checks
// that each lies inside the file.
func (im *tiffImage) chunkTable() (offsets, counts []uint64, err error) {
	d := im.d
	// Each chunk has an offset stored in the file: more chunks than bytes
	// is a lie (and, for an image larger than the decode limit, could
	// overflow the count).
	planes := uint64(im.bands / im.chunkBands())
	if uint64(im.across)*uint64(im.down) > uint64(d.f.size)/planes {
		return nil, nil, fmt.Errorf("%w: %dx%d chunks in %d planes cannot be listed in a %d-byte file",
			ErrFormat, im.across, im.down, planes, d.f.size)
	}
	n := int64(im.chunks())
	for _, tag := range []uint16{im.offsetTag, im.countTag} {
		e, ok := d.entries[tag]
		if !ok {
			return nil, nil, fmt.Errorf("%w: tag %d is missing", ErrFormat, tag)
		}
		if e.count < uint64(n) {
			return nil, nil, fmt.Errorf("%w: tag %d has %d values for %d chunks", ErrFormat, tag, e.count, n)
		}
	}
	if offsets, err = d.uints(im.offsetTag, n); err != nil {
		return nil, nil, err
	}
	if counts, err = d.uints(im.countTag, n); err != nil {
		return nil, nil, err
	}
	size := uint64(d.f.size)
	for i := range offsets {
		if counts[i] == 0 {
			continue // sparse: GDAL leaves empty chunks unwritten
		}
		if offsets[i] > size || counts[i] > size-offsets[i] {
			return nil, nil, fmt.Errorf("%w: chunk %d at %d+%d runs past the end of the %d-byte file", ErrFormat, i, offsets[i], counts[i], size)
		}
		if im.compression == CompressionNone {
			_, _, _, _, _, rows := im.chunkRect(i)
			if need := uint64(rows * im.rowBytes()); counts[i] < need {
				return nil, nil, fmt.Errorf("%w: uncompressed chunk %d holds %d bytes, needs %d", ErrFormat, i, counts[i], need)
			}
		}
	}
	return offsets, counts, nil
}
