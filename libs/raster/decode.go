package raster

import (
	"fmt"
	"io"
	"os"
	"runtime"
)

// DecodeOption configures Decode, DecodeInfo and Open.
type DecodeOption func(*decodeConfig) error

type decodeConfig struct {
	overview    int
	limit       int64
	concurrency int
}

// ReadOverview makes Decode read overview k (1 the largest) instead of the
// full resolution (k = 0).
func ReadOverview(k int) DecodeOption {
	return func(c *decodeConfig) error {
		if k < 0 {
			return fmt.Errorf("%w: overview %d", ErrCodecOption, k)
		}
		c.overview = k
		return nil
	}
}

// ReadLimit caps width*height*bands*8, the bytes of the decoded samples, and
// with it every allocation a file can cause (default DefaultDecodeLimit).
func ReadLimit(bytes int64) DecodeOption {
	return func(c *decodeConfig) error {
		if bytes <= 0 {
			return fmt.Errorf("%w: decode limit %d", ErrCodecOption, bytes)
		}
		c.limit = bytes
		return nil
	}
}

// ReadConcurrency sets how many goroutines decompress chunks (default
// GOMAXPROCS).
func ReadConcurrency(n int) DecodeOption {
	return func(c *decodeConfig) error {
		if n < 1 {
			return fmt.Errorf("%w: concurrency %d", ErrCodecOption, n)
		}
		c.concurrency = n
		return nil
	}
}

func newDecodeConfig(opts []DecodeOption) (decodeConfig, error) {
	c := decodeConfig{limit: DefaultDecodeLimit, concurrency: runtime.GOMAXPROCS(0)}
	for _, o := range opts {
		if err := o(&c); err != nil {
			return c, err
		}
	}
	return c, nil
}

// Decode reads a GeoTIFF of size bytes from r: the full-resolution image, or
// the overview ReadOverview asks for, with the georeferencing and nodata of
// the file (an overview's transform is scaled to its size). Corrupt or
// unsupported input gives an error wrapping ErrFormat, input over the limit
// one wrapping ErrSize. r must allow concurrent ReadAt calls, as io.ReaderAt
// promises.
func Decode(r io.ReaderAt, size int64, opts ...DecodeOption) (*Raster, error) {
	d, err := openImage(r, size, opts, true)
	if err != nil {
		return nil, err
	}
	return d.readWindow(d.Bounds())
}

// openFirst applies the options, opens the file and reads its first IFD:
// the start that Decode and DecodeInfo share.
func openFirst(r io.ReaderAt, size int64, opts []DecodeOption) (decodeConfig, *tiffFile, *ifd, error) {
	c, err := newDecodeConfig(opts)
	if err != nil {
		return decodeConfig{}, nil, nil, err
	}
	f, err := openTIFF(r, size, c.limit)
	if err != nil {
		return decodeConfig{}, nil, nil, err
	}
	main, err := f.readIFD(f.first)
	if err != nil {
		return decodeConfig{}, nil, nil, err
	}
	return c, f, main, nil
}

// ReadFile decodes the GeoTIFF at path.
func ReadFile(path string, opts ...DecodeOption) (*Raster, error) {
	return readPath(path, func(r io.ReaderAt, size int64) (*Raster, error) { return Decode(r, size, opts...) })
}

// readPath opens path and hands it, with its size, to read.
func readPath[T any](path string, read func(io.ReaderAt, int64) (T, error)) (T, error) {
	var zero T
	f, err := os.Open(path)
	if err != nil {
		return zero, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return zero, err
	}
	v, err := read(f, st.Size())
	if err != nil {
		return zero, fmt.Errorf("read %s: %w", path, err)
	}
	return v, nil
}

// overviews walks the IFD chain after main and returns, in file order, up to
// want reduced-resolution images (masks and other pages skipped); want < 0
// returns them all.
func (f *tiffFile) overviews(main *ifd, want int) ([]*ifd, error) {
	var out []*ifd
	seen := map[uint64]bool{main.offset: true}
	for next := main.next; next != 0 && (want < 0 || len(out) < want); {
		if seen[next] || len(seen) >= maxIFDs {
			return nil, fmt.Errorf("%w: IFD chain loops or is too long at %d", ErrFormat, next)
		}
		seen[next] = true
		d, err := f.readIFD(next)
		if err != nil {
			return nil, err
		}
		sub, err := d.uint1(tagNewSubfileType, 0)
		if err != nil {
			return nil, err
		}
		photometric, err := d.uint1(tagPhotometric, photometricMinIsBlack)
		if err != nil {
			return nil, err
		}
		if sub&subfileReduced != 0 && sub&subfileMask == 0 && photometric != photometricMask {
			out = append(out, d)
		}
		next = d.next
	}
	return out, nil
}
