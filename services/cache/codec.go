package cache

import (
	"fmt"

	"github.com/klauspost/compress/zstd"

	"github.com/geocluster/geocluster/libs/tilecache/lru"
)

// codec packs tiles into LRU entries: zstd at the fastest level above a
// threshold, kept only when it saves at least a tenth (tiles are mostly
// compressed GeoTIFFs already, which zstd cannot shrink).
type codec struct {
	above int
	enc   *zstd.Encoder
	dec   *zstd.Decoder
}

func newCodec(above, concurrency int) (*codec, error) {
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(concurrency))
	if err != nil {
		return nil, fmt.Errorf("zstd encoder: %w", err)
	}
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(concurrency))
	if err != nil {
		return nil, fmt.Errorf("zstd decoder: %w", err)
	}
	return &codec{above: above, enc: enc, dec: dec}, nil
}

// pack returns the entry for version v of data.
func (c *codec) pack(v uint64, data []byte) lru.Entry {
	e := lru.Entry{Version: v, Value: data, Raw: len(data)}
	if c.above == 0 || len(data) < c.above {
		return e
	}
	z := c.enc.EncodeAll(data, make([]byte, 0, len(data)/2))
	if len(z) <= len(data)-len(data)/10 {
		e.Value, e.Compressed = z, true
	}
	return e
}

// unpack returns the bytes of e.
func (c *codec) unpack(e lru.Entry) ([]byte, error) {
	if !e.Compressed {
		return e.Value, nil
	}
	data, err := c.dec.DecodeAll(e.Value, make([]byte, 0, e.Raw))
	if err != nil {
		return nil, fmt.Errorf("decompress: %w", err)
	}
	return data, nil
}

func (c *codec) close() {
	_ = c.enc.Close()
	c.dec.Close()
}
