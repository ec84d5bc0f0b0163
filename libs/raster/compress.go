package raster

import (
	"bytes"
	"fmt"
	"sync"

	hlzw "github.com/hhrutter/lzw"
	"github.com/klauspost/compress/zlib"
	"github.com/klauspost/compress/zstd"
)

// Compression is a TIFF compression scheme, by its TIFF code.
type Compression int

// Compression schemes the codec reads and writes.
const (
	CompressionNone    Compression = 1
	CompressionLZW     Compression = 5
	CompressionDeflate Compression = 8 // zlib ("Adobe Deflate")
	CompressionZSTD    Compression = 50000
	// compressionDeflateOld is the pre-standard Deflate code, read only.
	compressionDeflateOld Compression = 32946
)

func (c Compression) String() string {
	switch c {
	case CompressionNone:
		return "NONE"
	case CompressionLZW:
		return "LZW"
	case CompressionDeflate, compressionDeflateOld:
		return "DEFLATE"
	case CompressionZSTD:
		return "ZSTD"
	}
	return fmt.Sprintf("Compression(%d)", int(c))
}

func (c Compression) decodable() bool {
	switch c {
	case CompressionNone, CompressionLZW, CompressionDeflate, compressionDeflateOld, CompressionZSTD:
		return true
	}
	return false
}

// Compressor states are expensive to build (ZSTD and Deflate tables of up to
// a few MiB), so calls share them through pools.
var (
	zstdEncoders [8]sync.Pool  // by zstd.EncoderLevel
	zlibWriters  [10]sync.Pool // by level
)

// deflater compresses chunks; one per encoding goroutine.
type deflater struct {
	level int
	zlib  *zlib.Writer
	zstd  *zstd.Encoder
	buf   bytes.Buffer
}

// deflate returns src compressed; the result is a new slice.
func (z *deflater) deflate(c Compression, src []byte) ([]byte, error) {
	z.buf.Reset()
	switch c {
	case CompressionNone:
		return bytes.Clone(src), nil
	case CompressionLZW:
		w := hlzw.NewWriter(&z.buf, true) // TIFF's LZW changes code width one code early
		if _, err := w.Write(src); err != nil {
			return nil, fmt.Errorf("lzw: %w", err)
		}
		if err := w.Close(); err != nil {
			return nil, fmt.Errorf("lzw: %w", err)
		}
	case CompressionDeflate:
		if z.zlib == nil {
			if w, ok := zlibWriters[z.level].Get().(*zlib.Writer); ok {
				z.zlib = w
			} else if z.zlib, _ = zlib.NewWriterLevel(nil, z.level); z.zlib == nil {
				return nil, fmt.Errorf("%w: deflate level %d", ErrCodecOption, z.level)
			}
		}
		z.zlib.Reset(&z.buf)
		if _, err := z.zlib.Write(src); err != nil {
			return nil, fmt.Errorf("deflate: %w", err)
		}
		if err := z.zlib.Close(); err != nil {
			return nil, fmt.Errorf("deflate: %w", err)
		}
	case CompressionZSTD:
		level := zstd.EncoderLevelFromZstd(z.level)
		if z.zstd == nil {
			if e, ok := zstdEncoders[level].Get().(*zstd.Encoder); ok {
				z.zstd = e
			} else {
				e, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(level),
					zstd.WithEncoderConcurrency(1), zstd.WithZeroFrames(true))
				if err != nil {
					return nil, fmt.Errorf("zstd: %w", err)
				}
				z.zstd = e
			}
		}
		return z.zstd.EncodeAll(src, nil), nil
	default:
		return nil, fmt.Errorf("%w: compression %d", ErrCodecOption, int(c))
	}
	return bytes.Clone(z.buf.Bytes()), nil
}

// close returns the compressors to their pools.
func (z *deflater) close() {
	if z.zlib != nil {
		z.zlib.Reset(nil)
		zlibWriters[z.level].Put(z.zlib)
		z.zlib = nil
	}
	if z.zstd != nil {
		zstdEncoders[zstd.EncoderLevelFromZstd(z.level)].Put(z.zstd)
		z.zstd = nil
	}
}
