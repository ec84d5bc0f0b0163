package raster

import (
	"fmt"
	"io"
)

// Info is what a GeoTIFF's header says, read without decoding pixels.
type Info struct {
	Width, Height, Bands int
	Type                 DataType
	// Tiled is false for strips; BlockWidth x BlockHeight is the tile size,
	// or the image width x the rows of a strip.
	Tiled                   bool
	BlockWidth, BlockHeight int
	// Planar is set for planar-separate (band-interleaved) chunks.
	Planar      bool
	Compression Compression
	Predictor   Predictor
	BigTIFF     bool
	BigEndian   bool
	// Overviews are the sizes of the internal overviews, largest first.
	Overviews []OverviewSize
	NoData    float64
	HasNoData bool
	Georef
}

// OverviewSize is the size of one overview.
type OverviewSize struct{ Width, Height int }

// DecodeInfo reads the metadata of the GeoTIFF of size bytes in r: it reads
// the IFDs and tags it needs and no image data, so it describes images of
// any size; ReadLimit only caps the bytes of one tag, the other options are
// ignored.
func DecodeInfo(r io.ReaderAt, size int64, opts ...DecodeOption) (*Info, error) {
	_, f, main, err := openFirst(r, size, opts)
	if err != nil {
		return nil, err
	}
	img, err := parseImage(main, noSizeLimit)
	if err != nil {
		return nil, err
	}
	info := describe(img)
	if info.NoData, info.HasNoData, err = img.noData(); err != nil {
		return nil, err
	}
	if info.Georef, err = readGeoref(main); err != nil {
		return nil, err
	}
	ovr, err := f.overviews(main, -1)
	if err != nil {
		return nil, err
	}
	if info.Overviews, err = overviewSizes(ovr); err != nil {
		return nil, err
	}
	return &info, nil
}

// describe is the layout part of an image's Info.
func describe(img *tiffImage) Info {
	f := img.d.f
	return Info{
		Width: img.width, Height: img.height, Bands: img.bands, Type: img.dtype,
		Tiled: img.tiled, BlockWidth: img.blockW, BlockHeight: img.blockH,
		Planar: img.planar, Compression: img.compression, Predictor: img.predictor,
		BigTIFF: f.big, BigEndian: f.bo.Uint16([]byte{0, 1}) == 1,
	}
}

// overviewSizes reads the size of each overview IFD.
func overviewSizes(ovr []*ifd) ([]OverviewSize, error) {
	var out []OverviewSize
	for _, d := range ovr {
		w, err := d.uint1(tagImageWidth, 0)
		if err != nil {
			return nil, err
		}
		h, err := d.uint1(tagImageLength, 0)
		if err != nil {
			return nil, err
		}
		if w == 0 || h == 0 || w > maxDimension || h > maxDimension {
			return nil, fmt.Errorf("%w: overview size %dx%d", ErrFormat, w, h)
		}
		out = append(out, OverviewSize{int(w), int(h)})
	}
	return out, nil
}

// ReadInfo reads the metadata of the GeoTIFF at path.
func ReadInfo(path string, opts ...DecodeOption) (*Info, error) {
	return readPath(path, func(r io.ReaderAt, size int64) (*Info, error) { return DecodeInfo(r, size, opts...) })
}
