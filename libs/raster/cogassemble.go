package raster

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"slices"
)

// COGPart is a part EncodeCOGPart wrote: the file's bytes and where its
// top-left pixel lies in the whole image.
type COGPart struct {
	X, Y int
	Data []byte
}

// MaxCOGParts bounds the parts of one AssembleCOG call.
const MaxCOGParts = 1 << 20

// AssembleCOG writes the Cloud-Optimized GeoTIFF of the width x height
// image the parts cover, each pixel once, as EncodeCOG with opts would
// write it (see EncodeCOGPart, which must have had the same opts): the
// compressed blocks of a level are copied from the parts when each part
// holds that level in whole blocks of the COG's grid; any other level is
// pasted from the parts' decoded pixels, or computed from the level below
// it when the parts do not hold it, and compressed. The georeferencing is
// that of the part at (0, 0). Parts that do not tile the image, or differ
// in bands, type or nodata, give an error wrapping ErrGrid; corrupt ones
// one wrapping ErrFormat. The written file holds slices of the parts' Data
// only while AssembleCOG runs.
func AssembleCOG(w io.Writer, width, height int, parts []COGPart, opts COGOptions) error {
	if len(parts) == 0 || len(parts) > MaxCOGParts {
		return fmt.Errorf("%w: %d parts", ErrGrid, len(parts))
	}
	ps := make([]*openPart, len(parts))
	for i, p := range parts {
		op, err := readPart(p)
		if err != nil {
			return fmt.Errorf("part at (%d, %d): %w", p.X, p.Y, err)
		}
		ps[i] = op
	}
	head, err := partsHeader(width, height, ps)
	if err != nil {
		return err
	}
	o, err := opts.resolve(head.Type)
	if err != nil {
		return err
	}
	levels := append([]OverviewSize{{width, height}}, o.overviewSizes(width, height)...)
	images := make([]*outImage, len(levels))
	var pixels *Raster // the samples of the level before, once needed
	var compute []*outImage
	for k, size := range levels {
		held := true
		for _, p := range ps {
			held = held && p.holds(k, width, height, o)
		}
		hdr := &Raster{Width: size.Width, Height: size.Height, Type: head.Type, NoData: head.NoData, HasNoData: head.HasNoData}
		if k == 0 {
			hdr.Georef = head.Georef
		}
		switch {
		case held && ps[0].copyable(k, o):
			img, ok := copyBlocks(hdr, k, ps, o)
			if ok {
				images[k], pixels = img, nil
				continue
			}
			fallthrough
		case held:
			if pixels, err = pasteLevel(hdr, k, ps, o); err != nil {
				return err
			}
		default:
			if pixels == nil {
				prev := levels[k-1]
				if pixels, err = pasteLevel(&Raster{Width: prev.Width, Height: prev.Height, Type: head.Type, NoData: head.NoData, HasNoData: head.HasNoData}, k-1, ps, o); err != nil {
					return err
				}
			}
			if pixels, err = o.downsample(pixels, size.Width, size.Height); err != nil {
				return fmt.Errorf("overview %dx%d: %w", size.Width, size.Height, err)
			}
			pixels.Georef = Georef{}
		}
		if k == 0 {
			pixels.Georef = head.Georef
		}
		images[k] = newOutImage(pixels, o.EncodeOptions, k > 0)
		compute = append(compute, images[k])
	}
	if err := compressImages(compute, o.EncodeOptions); err != nil {
		return err
	}
	return writeTIFF(w, images, o.EncodeOptions, !o.NoGhostArea)
}

// openPart is a parsed part: its levels (the tile's pixels, then its
// overviews) with their chunk tables.
type openPart struct {
	x, y   int
	data   []byte
	levels []partLevel
	georef Georef
	noData float64
	hasND  bool
}

type partLevel struct {
	img             *tiffImage
	offsets, counts []uint64
}

func readPart(p COGPart) (*openPart, error) {
	c, f, main, err := openFirst(bytes.NewReader(p.Data), int64(len(p.Data)), nil)
	if err != nil {
		return nil, err
	}
	ifds, err := f.overviews(main, -1)
	if err != nil {
		return nil, err
	}
	op := &openPart{x: p.X, y: p.Y, data: p.Data}
	for _, d := range append([]*ifd{main}, ifds...) {
		img, err := parseImage(d, c.limit)
		if err != nil {
			return nil, err
		}
		var l partLevel
		if l.offsets, l.counts, err = img.chunkTable(); err != nil {
			return nil, err
		}
		l.img = img
		op.levels = append(op.levels, l)
	}
	if op.georef, err = readGeoref(main); err != nil {
		return nil, err
	}
	if op.noData, op.hasND, err = op.levels[0].img.noData(); err != nil {
		return nil, err
	}
	return op, nil
}

// partsHeader checks that the parts tile the image with the same bands,
// type and nodata and returns a raster without samples holding them, with
// the georeferencing of the part at (0, 0).
func partsHeader(width, height int, ps []*openPart) (*Raster, error) {
	if width <= 0 || height <= 0 || width > maxDimension || height > maxDimension {
		return nil, fmt.Errorf("%w: image %dx%d", ErrGrid, width, height)
	}
	first := ps[0].levels[0].img
	head := &Raster{Width: width, Height: height, Type: first.dtype, NoData: ps[0].noData, HasNoData: ps[0].hasND}
	// The parts tile the image when they lie inside it, cover as many
	// pixels as it has, and no two overlap: checked on the grid of the
	// parts' edges.
	xs, ys := []int{0, width}, []int{0, height}
	area := int64(0)
	for _, p := range ps {
		img := p.levels[0].img
		win := Window{X: p.x, Y: p.y, W: img.width, H: img.height}
		switch {
		case !win.In(Window{W: width, H: height}):
			return nil, fmt.Errorf("%w: part %v is not inside the %dx%d image", ErrGrid, win, width, height)
		case img.bands != first.bands || img.dtype != first.dtype:
			return nil, fmt.Errorf("%w: part at (%d, %d) has %d bands of %v, the first %d of %v", ErrGrid, p.x, p.y, img.bands, img.dtype, first.bands, first.dtype)
		case p.hasND != head.HasNoData || (p.hasND && !sameNoData(p.noData, head.NoData)):
			return nil, fmt.Errorf("%w: part at (%d, %d) has nodata %v (%v), the first %v (%v)", ErrGrid, p.x, p.y, p.noData, p.hasND, head.NoData, head.HasNoData)
		}
		if p.x == 0 && p.y == 0 {
			head.Georef = p.georef
		}
		xs, ys = append(xs, p.x, p.x+img.width), append(ys, p.y, p.y+img.height)
		area += int64(img.width) * int64(img.height)
	}
	if area != int64(width)*int64(height) {
		return nil, fmt.Errorf("%w: the parts cover %d pixels of a %dx%d image", ErrGrid, area, width, height)
	}
	slices.Sort(xs)
	slices.Sort(ys)
	xs, ys = slices.Compact(xs), slices.Compact(ys)
	if int64(len(xs))*int64(len(ys)) > 4*MaxCOGParts {
		return nil, fmt.Errorf("%w: the parts do not form a grid", ErrGrid)
	}
	covered := make([]bool, len(xs)*len(ys))
	for _, p := range ps {
		img := p.levels[0].img
		x0, _ := slices.BinarySearch(xs, p.x)
		x1, _ := slices.BinarySearch(xs, p.x+img.width)
		y0, _ := slices.BinarySearch(ys, p.y)
		y1, _ := slices.BinarySearch(ys, p.y+img.height)
		for j := y0; j < y1; j++ {
			for i := x0; i < x1; i++ {
				if covered[j*len(xs)+i] {
					return nil, fmt.Errorf("%w: part at (%d, %d) overlaps another", ErrGrid, p.x, p.y)
				}
				covered[j*len(xs)+i] = true
			}
		}
	}
	return head, nil
}

// sameNoData reports whether two nodata values are the same (NaN equals
// NaN).
func sameNoData(a, b float64) bool { return a == b || (math.IsNaN(a) && math.IsNaN(b)) }

// window is the part's window on level k of the image.
func (p *openPart) window(k int) Window {
	img := p.levels[0].img
	return Window{X: p.x >> k, Y: p.y >> k, W: img.width >> k, H: img.height >> k}
}

// holds reports whether the part holds level k of the width x height
// image's COG: level k is one its pixels alone determine, and the part has
// it at the size that level has inside the tile.
func (p *openPart) holds(k, width, height int, o COGOptions) bool {
	if k >= len(p.levels) || (k > 0 && o.partLevels(width, height, p.window(0)) < k) {
		return false
	}
	win, img := p.window(k), p.levels[k].img
	return img.width == win.W && img.height == win.H && img.bands == p.levels[0].img.bands && img.dtype == p.levels[0].img.dtype
}

// copyable reports whether level k of the part is stored as the COG stores
// its blocks (the block grid is then checked part by part).
func (p *openPart) copyable(k int, o COGOptions) bool {
	img := p.levels[k].img
	return img.tiled && img.blockW == o.TileSize && img.blockH == o.TileSize &&
		img.compression == o.Compression && img.predictor == o.Predictor &&
		img.planar == (o.Planar && img.bands > 1) && img.d.f.bo == fileByteOrder(o.BigEndian)
}

// copyBlocks builds level k from the parts' compressed blocks; ok is false
// when a part's window on the level does not start on the COG's block grid
// or end on it (or on the image's edge), or a part is not stored as the
// COG stores its blocks.
func copyBlocks(hdr *Raster, k int, ps []*openPart, o COGOptions) (*outImage, bool) {
	img := &outImage{tiffImage: tiffImage{
		width: hdr.Width, height: hdr.Height, bands: ps[0].levels[0].img.bands, dtype: hdr.Type,
		compression: o.Compression, predictor: o.Predictor, planar: o.Planar && ps[0].levels[0].img.bands > 1,
		tiled: true, blockW: o.TileSize, blockH: o.TileSize,
	}, r: hdr, overview: k > 0}
	img.across = (img.width + img.blockW - 1) / img.blockW
	img.down = (img.height + img.blockH - 1) / img.blockH
	img.chunks = make([][]byte, img.tiffImage.chunks())
	b := o.TileSize
	for _, p := range ps {
		win, l := p.window(k), p.levels[k]
		if !p.copyable(k, o) || win.X%b != 0 || win.Y%b != 0 ||
			(win.W%b != 0 && win.X+win.W != hdr.Width) || (win.H%b != 0 && win.Y+win.H != hdr.Height) {
			return nil, false
		}
		per := l.img.across * l.img.down
		for c := range l.img.chunks() {
			plane, rest := c/per, c%per
			cx, cy := win.X/b+rest%l.img.across, win.Y/b+rest/l.img.across
			off, n := l.offsets[c], l.counts[c]
			img.chunks[(plane*img.down+cy)*img.across+cx] = p.data[off : off+n]
		}
	}
	for _, c := range img.chunks {
		if c == nil {
			return nil, false // a block no part holds
		}
	}
	return img, true
}

// pasteLevel decodes level k of every part into a raster of hdr's size.
func pasteLevel(hdr *Raster, k int, ps []*openPart, o COGOptions) (*Raster, error) {
	r, err := New(hdr.Width, hdr.Height, ps[0].levels[0].img.bands, hdr.Type)
	if err != nil {
		return nil, err
	}
	r.NoData, r.HasNoData = hdr.NoData, hdr.HasNoData
	for _, p := range ps {
		l, win := p.levels[k], p.window(k)
		tile, err := New(win.W, win.H, l.img.bands, l.img.dtype)
		if err != nil {
			return nil, err
		}
		tile.NoData, tile.HasNoData = hdr.NoData, hdr.HasNoData
		chunks := l.img.chunksIn(Window{W: win.W, H: win.H})
		err = runChunks(len(chunks), o.Concurrency, getChunkScratch, putChunkScratch, func(s *chunkScratch, n int) error {
			i := chunks[n]
			return s.decode(l.img, i, l.offsets[i], l.counts[i], tile, Window{W: win.W, H: win.H}, nil)
		})
		if err != nil {
			return nil, fmt.Errorf("part at (%d, %d), level %d: %w", p.x, p.y, k, err)
		}
		if err := Paste(r, tile, win.X, win.Y); err != nil {
			return nil, err
		}
	}
	return r, nil
}
