package raster

import (
	"fmt"
	"io"
	"os"
	"slices"
)

// Dataset is an open GeoTIFF whose pixels are read window by window: Open
// reads the header and the chunk table once, and each ReadWindow decodes
// only the chunks (tiles or strips) that hold pixels of its window, and of
// those only the rows down to the window's last (all of a ZSTD chunk), so
// that a tile task reads its own part of a large raster without decoding
// the rest.
//
// A Dataset is safe for concurrent use: after Open it is never modified,
// and every ReadWindow call has its own buffers, so several goroutines may
// read windows at once. The io.ReaderAt must then allow concurrent ReadAt
// calls, as io.ReaderAt promises (*os.File and *bytes.Reader do).
type Dataset struct {
	img             *tiffImage
	offsets, counts []uint64
	georef          Georef
	noData          float64
	hasNoData       bool
	info            Info
	limit           int64
	workers         int
	closer          io.Closer
}

// Open reads the header of the GeoTIFF of size bytes in r: the IFD of the
// full-resolution image, or of the overview ReadOverview asks for, its
// georeferencing, nodata and chunk table, and the sizes of every overview.
// It decodes no pixel, so it opens images of any size; ReadLimit caps the
// bytes of one chunk and of each window ReadWindow decodes, ReadConcurrency
// the goroutines of one ReadWindow call. Corrupt or unsupported input gives
// an error wrapping ErrFormat, a chunk over the limit one wrapping ErrSize.
// The caller keeps r open while it uses the Dataset.
func Open(r io.ReaderAt, size int64, opts ...DecodeOption) (*Dataset, error) {
	return openImage(r, size, opts, false)
}

// OpenFile opens the GeoTIFF at path as Open does; Close closes the file.
func OpenFile(path string, opts ...DecodeOption) (*Dataset, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err == nil {
		var d *Dataset
		if d, err = Open(f, st.Size(), opts...); err == nil {
			d.closer = f
			return d, nil
		}
	}
	f.Close()
	return nil, fmt.Errorf("open %s: %w", path, err)
}

// Close closes the file OpenFile opened; for a Dataset from Open it does
// nothing. No ReadWindow call may be running or follow.
func (d *Dataset) Close() error {
	if d.closer == nil {
		return nil
	}
	return d.closer.Close()
}

// Info describes the image the Dataset reads (the overview when
// ReadOverview chose one: its size, layout and scaled geotransform);
// Overviews lists every overview of the file. The result is the caller's.
func (d *Dataset) Info() *Info {
	info := d.info
	info.Overviews = slices.Clone(d.info.Overviews)
	info.GeoKeys = slices.Clone(d.info.GeoKeys)
	return &info
}

// Bounds is the window covering the whole image.
func (d *Dataset) Bounds() Window { return Window{W: d.img.width, H: d.img.height} }

// ReadWindow decodes the pixels of win, which must lie inside the image
// (else an error wrapping ErrWindow), into a new raster with the file's
// bands, type and nodata, its geotransform moved to the window's corner:
// the same raster as Crop(full, win) of the whole decoded image. A window
// over the decode limit gives an error wrapping ErrSize; a corrupt chunk
// one wrapping ErrFormat.
func (d *Dataset) ReadWindow(win Window) (*Raster, error) {
	r, err := d.readWindow(win)
	if err != nil {
		return nil, fmt.Errorf("read window %v: %w", win, err)
	}
	return r, nil
}

// readWindow is ReadWindow without the context in its errors.
func (d *Dataset) readWindow(win Window) (*Raster, error) {
	im := d.img
	if !win.In(d.Bounds()) {
		return nil, fmt.Errorf("%w: the image is %dx%d", ErrWindow, im.width, im.height)
	}
	if uint64(d.limit)/8/uint64(win.W)/uint64(win.H) < uint64(im.bands) {
		return nil, fmt.Errorf("%w: %dx%d with %d bands exceeds the %d-byte decode limit", ErrSize, win.W, win.H, im.bands, d.limit)
	}
	r, err := New(win.W, win.H, im.bands, im.dtype)
	if err != nil {
		return nil, err
	}
	r.NoData, r.HasNoData = d.noData, d.hasNoData
	r.Georef = Georef{Transform: d.georef.Transform, EPSG: d.georef.EPSG, GeoKeys: slices.Clone(d.georef.GeoKeys)}
	if win.X != 0 || win.Y != 0 {
		r.Transform = r.Transform.Offset(float64(win.X), float64(win.Y))
	}
	chunks := im.chunksIn(win)
	err = runChunks(len(chunks), d.workers, getChunkScratch, putChunkScratch,
		func(s *chunkScratch, k int) error {
			i := chunks[k]
			return s.decode(im, i, d.offsets[i], d.counts[i], r, win, nil)
		})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// openImage opens the image Open and Decode read. For Decode (whole) the
// image must fit the decode limit, and only the overviews up to the one
// asked for are walked; Open walks them all for Info.
func openImage(r io.ReaderAt, size int64, opts []DecodeOption, whole bool) (*Dataset, error) {
	c, f, main, err := openFirst(r, size, opts)
	if err != nil {
		return nil, err
	}
	imageLimit, mainLimit := int64(noSizeLimit), int64(noSizeLimit)
	if whole {
		imageLimit = c.limit
		if c.overview == 0 {
			mainLimit = c.limit
		}
	}
	mainImg, err := parseImage(main, mainLimit)
	if err != nil {
		return nil, err
	}
	g, err := readGeoref(main)
	if err != nil {
		return nil, err
	}
	want := c.overview
	if !whole {
		want = -1
	}
	ovr, err := f.overviews(main, want)
	if err != nil {
		return nil, err
	}
	img := mainImg
	if c.overview > 0 {
		if len(ovr) < c.overview {
			return nil, fmt.Errorf("%w: overview %d of %d", ErrCodecOption, c.overview, len(ovr))
		}
		if img, err = parseImage(ovr[c.overview-1], imageLimit); err != nil {
			return nil, err
		}
		if img.bands != mainImg.bands || img.dtype != mainImg.dtype {
			return nil, fmt.Errorf("%w: overview %d has %d bands of %v, the image %d of %v",
				ErrFormat, c.overview, img.bands, img.dtype, mainImg.bands, mainImg.dtype)
		}
		if g.Transform != (GeoTransform{}) {
			g.Transform = g.Transform.scaled(mainImg.width, mainImg.height, img.width, img.height)
		}
	}
	if !img.chunkFits(c.limit) {
		return nil, fmt.Errorf("%w: a %dx%d chunk exceeds the %d-byte decode limit", ErrSize, img.blockW, img.blockH, c.limit)
	}
	d := &Dataset{img: img, georef: g, limit: c.limit, workers: c.concurrency}
	if d.offsets, d.counts, err = img.chunkTable(); err != nil {
		return nil, err
	}
	d.noData, d.hasNoData, err = img.noData()
	if err == nil && !d.hasNoData && img != mainImg { // an overview without its own
		d.noData, d.hasNoData, err = mainImg.noData()
	}
	if err != nil {
		return nil, err
	}
	if !whole {
		d.info = describe(img)
		d.info.NoData, d.info.HasNoData, d.info.Georef = d.noData, d.hasNoData, g
		if d.info.Overviews, err = overviewSizes(ovr); err != nil {
			return nil, err
		}
	}
	return d, nil
}
