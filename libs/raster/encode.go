package raster

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
)

// EncodeOptions say how Encode lays out and compresses a GeoTIFF. The zero
// value writes uncompressed, pixel-interleaved strips in a little-endian
// classic TIFF.
type EncodeOptions struct {
	// Tiled writes square tiles of TileSize pixels instead of strips.
	Tiled bool
	// TileSize is the tile edge, a multiple of 16 (default 256).
	TileSize int
	// RowsPerStrip is the height of a strip (default: strips of about 64 KiB).
	RowsPerStrip int
	// Compression is the chunk compression (default CompressionNone).
	Compression Compression
	// Predictor needs a compression: PredictorHorizontal suits integer
	// samples, PredictorFloat float ones (default PredictorNone).
	Predictor Predictor
	// Level is the Deflate level 1–9 (default 6, as GDAL) or the ZSTD level
	// 1–22 (default 3); only for those compressions.
	Level int
	// Planar writes planar-separate chunks, one band each; the default is
	// pixel-interleaved, as GDAL.
	Planar bool
	// BigEndian writes a big-endian ("MM") file instead of little-endian.
	BigEndian bool
	// BigTIFF forces BigTIFF; otherwise it is used only when a classic TIFF
	// would pass 4 GiB.
	BigTIFF bool
	// Concurrency is the number of goroutines compressing chunks (default
	// GOMAXPROCS).
	Concurrency int
}

// resolve checks the options for samples of type t and fills in defaults;
// the error lists every problem.
func (o EncodeOptions) resolve(t DataType) (EncodeOptions, error) {
	var errs []error
	bad := func(format string, a ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrCodecOption}, a...)...))
	}
	if o.Compression == 0 {
		o.Compression = CompressionNone
	}
	if o.Predictor == 0 {
		o.Predictor = PredictorNone
	}
	switch o.Compression {
	case CompressionNone, CompressionLZW:
		if o.Level != 0 {
			bad("compression %v takes no level", o.Compression)
		}
	case CompressionDeflate:
		if o.Level == 0 {
			o.Level = 6
		} else if o.Level < 1 || o.Level > 9 {
			bad("deflate level %d outside 1–9", o.Level)
		}
	case CompressionZSTD:
		if o.Level == 0 {
			o.Level = 3
		} else if o.Level < 1 || o.Level > 22 {
			bad("zstd level %d outside 1–22", o.Level)
		}
	default:
		bad("compression %d is not one of none, LZW, Deflate, ZSTD", int(o.Compression))
	}
	switch o.Predictor {
	case PredictorNone:
	case PredictorHorizontal, PredictorFloat:
		if o.Compression == CompressionNone {
			bad("predictor %v needs a compression", o.Predictor)
		}
		if o.Predictor == PredictorFloat && !isFloat(t) {
			bad("the floating-point predictor needs Float32 or Float64 samples, not %v", t)
		}
	default:
		bad("predictor %d is not one of none, horizontal, floating point", int(o.Predictor))
	}
	if o.TileSize == 0 {
		o.TileSize = 256
	} else if o.TileSize < 16 || o.TileSize%16 != 0 || o.TileSize > 1<<16 {
		bad("tile size %d is not a multiple of 16 in 16–65536", o.TileSize)
	}
	if o.RowsPerStrip < 0 {
		bad("%d rows per strip", o.RowsPerStrip)
	}
	if o.Concurrency < 0 {
		bad("concurrency %d", o.Concurrency)
	} else if o.Concurrency == 0 {
		o.Concurrency = runtime.GOMAXPROCS(0)
	}
	return o, errors.Join(errs...)
}

// checkRaster verifies that r is consistent enough to encode.
func checkRaster(r *Raster) error {
	if r == nil {
		return fmt.Errorf("%w: nil raster", ErrSize)
	}
	if r.Width <= 0 || r.Height <= 0 || r.Width > maxDimension || r.Height > maxDimension || len(r.Pix) == 0 || len(r.Pix) > maxBands {
		return fmt.Errorf("%w: %dx%d with %d bands", ErrSize, r.Width, r.Height, len(r.Pix))
	}
	for b, p := range r.Pix {
		if len(p) != r.Width*r.Height {
			return fmt.Errorf("%w: band %d holds %d samples, want %dx%d", ErrSize, b, len(p), r.Width, r.Height)
		}
	}
	if r.Type.Size() == 0 {
		return fmt.Errorf("%w: unknown data type %d", ErrFormat, int(r.Type))
	}
	return nil
}

// Encode writes r as a GeoTIFF laid out and compressed as opts say, the IFD
// before the image data. Samples are written as r.Type, rounded and clamped
// for integer types; nodata goes in GDAL_NODATA; the transform in
// ModelPixelScale and ModelTiepoint, or ModelTransformation when it rotates;
// the CRS as r.GeoKeys when they name r.EPSG (or r.EPSG is 0), else as
// minimal keys for r.EPSG (model type, PixelIsArea, a citation and the
// projected or, for EPSG 4000–4999, geographic CRS code).
func Encode(w io.Writer, r *Raster, opts EncodeOptions) error {
	if err := checkRaster(r); err != nil {
		return err
	}
	o, err := opts.resolve(r.Type)
	if err != nil {
		return err
	}
	img := newOutImage(r, o, false)
	if err := compressImages([]*outImage{img}, o); err != nil {
		return err
	}
	return writeTIFF(w, []*outImage{img}, o, false)
}

// WriteFile encodes r into the file at path, replacing it atomically: the
// file appears complete or not at all.
func WriteFile(path string, r *Raster, opts EncodeOptions) error {
	return writeFileAtomic(path, func(w io.Writer) error { return Encode(w, r, opts) })
}

// writeFileAtomic writes through a temporary file in the same directory,
// renamed into place once complete.
func writeFileAtomic(path string, encode func(io.Writer) error) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(f.Name())
		}
	}()
	if err = encode(f); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = f.Chmod(0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
