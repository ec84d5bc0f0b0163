package raster

import (
	"bytes"
	"fmt"
	"io"
	"sync"

	"github.com/klauspost/compress/zlib"
	"github.com/klauspost/compress/zstd"
	"golang.org/x/image/tiff/lzw"
)

// zstdDecoder is shared by every decode: DecodeAll is safe for concurrent
// use, decodes into the caller's buffer (no window-sized history buffer,
// whatever window a frame declares) and, with the cap limit, never writes
// more than the buffer holds.
var zstdDecoder = sync.OnceValues(func() (*zstd.Decoder, error) {
	return zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecodeAllCapLimit(true))
})

// inflater decompresses chunks; one per decoding goroutine, so that its
// Deflate reader is reused.
type inflater struct {
	zlib io.ReadCloser
	src  byteReader
}

// byteReader is the io.ByteReader the LZW decoder reads from, one call per
// byte: it does no more than that call needs (bytes.Reader also keeps
// state for UnreadRune), which makes LZW decoding ~10% faster.
type byteReader struct {
	b []byte
	i int
}

func (r *byteReader) ReadByte() (byte, error) {
	if r.i >= len(r.b) {
		return 0, io.EOF
	}
	c := r.b[r.i]
	r.i++
	return c, nil
}

func (r *byteReader) Read(p []byte) (int, error) {
	if r.i >= len(r.b) {
		return 0, io.EOF
	}
	n := copy(p, r.b[r.i:])
	r.i += n
	return n, nil
}

// inflate decompresses src into dst, which it fills exactly: a stream that
// holds less is an error, and no decompressor writes past cap(dst), so that
// a stream holding more than a chunk's worth is an error too (LZW and
// Deflate ignore anything after len(dst) bytes).
func (z *inflater) inflate(c Compression, src, dst []byte) error {
	var r io.Reader
	switch c {
	case CompressionLZW:
		// The codec builds on golang.org/x/image/tiff/lzw for LZW
		// decoding (a hand-written decoder was ~1.8x faster; see
		// docs/benchmarks.md).
		z.src = byteReader{b: src}
		lr := lzw.NewReader(&z.src, lzw.MSB, 8)
		defer lr.Close()
		r = lr
	case CompressionDeflate, compressionDeflateOld:
		if z.zlib == nil {
			zr, err := zlib.NewReader(bytes.NewReader(src))
			if err != nil {
				return fmt.Errorf("deflate: %w", err)
			}
			z.zlib = zr
		} else if err := z.zlib.(zlib.Resetter).Reset(bytes.NewReader(src), nil); err != nil {
			return fmt.Errorf("deflate: %w", err)
		}
		r = z.zlib
	case CompressionZSTD:
		d, err := zstdDecoder()
		if err != nil {
			return fmt.Errorf("zstd: %w", err)
		}
		out, err := d.DecodeAll(src, dst[:0:cap(dst)])
		if err != nil {
			return fmt.Errorf("zstd: %w", err)
		}
		if len(out) < len(dst) {
			return fmt.Errorf("ZSTD stream ends early: %w", io.ErrUnexpectedEOF)
		}
		if &out[0] != &dst[0] {
			return fmt.Errorf("zstd: decoded outside the chunk buffer")
		}
		return nil
	default:
		return fmt.Errorf("compression %d is not supported", int(c))
	}
	if _, err := io.ReadFull(r, dst); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return fmt.Errorf("%v stream ends early: %w", c, io.ErrUnexpectedEOF)
		}
		return err // the decompressors name themselves ("lzw: invalid code")
	}
	return nil
}
