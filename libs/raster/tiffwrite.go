package raster

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
)

// ghostArea is the structural metadata GDAL's COG driver writes right after
// the header; a file that carries it promises what it says: IFDs before the
// data, blocks in row-major order, each led by its size as a little-endian
// uint32 and followed by its last 4 bytes again.
const ghostArea = "GDAL_STRUCTURAL_METADATA_SIZE=000140 bytes\n" +
	"LAYOUT=IFDS_BEFORE_DATA\n" +
	"BLOCK_ORDER=ROW_MAJOR\n" +
	"BLOCK_LEADER=SIZE_AS_UINT4\n" +
	"BLOCK_TRAILER=LAST_4_BYTES_REPEATED\n" +
	"KNOWN_INCOMPATIBLE_EDITION=NO\n "

// tags adds the IFD entries of an image whose chunks lie at offsets.
func (img *outImage) tags(b *entryBuilder, offsets, counts []uint64) error {
	r := img.r
	if img.overview {
		b.longs(tagNewSubfileType, subfileReduced)
	}
	b.longs(tagImageWidth, uint32(img.width))
	b.longs(tagImageLength, uint32(img.height))
	bits, formats := make([]uint16, img.bands), make([]uint16, img.bands)
	for i := range bits {
		bits[i], formats[i] = uint16(8*img.dtype.Size()), sampleFormat(img.dtype)
	}
	b.shorts(tagBitsPerSample, bits...)
	b.shorts(tagCompression, uint16(img.compression))
	photometric, extra := uint16(photometricMinIsBlack), img.bands-1
	if img.bands == 3 && img.dtype == Uint8 {
		photometric, extra = photometricRGB, 0
	}
	b.shorts(tagPhotometric, photometric)
	b.shorts(tagSamplesPerPixel, uint16(img.bands))
	planar := uint16(planarChunky)
	if img.planar {
		planar = planarSeparate
	}
	b.shorts(tagPlanarConfig, planar)
	if img.predictor != PredictorNone {
		b.shorts(tagPredictor, uint16(img.predictor))
	}
	if img.tiled {
		b.longs(tagTileWidth, uint32(img.blockW))
		b.longs(tagTileLength, uint32(img.blockH))
		b.offsets(tagTileOffsets, offsets)
		b.offsets(tagTileByteCounts, counts)
	} else {
		b.longs(tagRowsPerStrip, uint32(img.blockH))
		b.offsets(tagStripOffsets, offsets)
		b.offsets(tagStripByteCounts, counts)
	}
	if extra > 0 {
		b.shorts(tagExtraSamples, make([]uint16, extra)...) // unspecified
	}
	b.shorts(tagSampleFormat, formats...)
	if !img.overview {
		if err := geoTags(b, r.Georef); err != nil {
			return err
		}
	}
	if r.HasNoData {
		b.ascii(tagGDALNoData, formatNoData(r.NoData))
	}
	return nil
}

// filePlan places every IFD and chunk of a file.
type filePlan struct {
	ifds    []*entryBuilder
	ifdAt   []int64
	offsets [][]uint64 // per image, per chunk
	end     int64      // file size
}

// planTIFF lays out header, ghost area, IFDs (full resolution first), then
// the chunks of the last image first and of the full resolution last.
func planTIFF(images []*outImage, bo binary.ByteOrder, big, ghost bool) (*filePlan, error) {
	p := &filePlan{offsets: make([][]uint64, len(images))}
	counts := make([][]uint64, len(images))
	for i, img := range images {
		p.offsets[i] = make([]uint64, len(img.chunks))
		counts[i] = make([]uint64, len(img.chunks))
		for c, data := range img.chunks {
			counts[i][c] = uint64(len(data))
		}
	}
	build := func() error {
		p.ifds = p.ifds[:0]
		for i, img := range images {
			b := &entryBuilder{bo: bo, big: big}
			if err := img.tags(b, p.offsets[i], counts[i]); err != nil {
				return err
			}
			p.ifds = append(p.ifds, b)
		}
		return nil
	}
	if err := build(); err != nil { // sizes do not depend on offset values
		return nil, err
	}
	pos := int64(8)
	if big {
		pos = 16
	}
	if ghost {
		pos += int64(len(ghostArea))
	}
	for _, b := range p.ifds {
		pos += pos % 2
		p.ifdAt = append(p.ifdAt, pos)
		pos += b.size()
	}
	lead := int64(0)
	if ghost {
		lead = 4
	}
	for i := len(images) - 1; i >= 0; i-- {
		for c, data := range images[i].chunks {
			p.offsets[i][c] = uint64(pos + lead)
			pos += lead + int64(len(data)) + lead
		}
	}
	p.end = pos
	if !big && pos > math.MaxUint32 {
		return p, nil // the caller switches to BigTIFF
	}
	return p, build()
}

// writeTIFF writes the images as one file: the first is the full resolution,
// the others its overviews.
func writeTIFF(w io.Writer, images []*outImage, o EncodeOptions, ghost bool) error {
	bo := fileByteOrder(o.BigEndian)
	big := o.BigTIFF
	p, err := planTIFF(images, bo, big, ghost)
	if err != nil {
		return err
	}
	if !big && p.end > math.MaxUint32 {
		big = true
		if p, err = planTIFF(images, bo, big, ghost); err != nil {
			return err
		}
	}
	last := len(p.ifds) - 1
	head := make([]byte, p.ifdAt[last]+p.ifds[last].size())
	copy(head, "II")
	if bo == binary.BigEndian {
		copy(head, "MM")
	}
	if big {
		bo.PutUint16(head[2:], 43)
		bo.PutUint16(head[4:], 8)
		bo.PutUint64(head[8:], uint64(p.ifdAt[0]))
		copy(head[16:], ghostIf(ghost))
	} else {
		bo.PutUint16(head[2:], 42)
		bo.PutUint32(head[4:], uint32(p.ifdAt[0]))
		copy(head[8:], ghostIf(ghost))
	}
	for i, b := range p.ifds {
		var next uint64
		if i < last {
			next = uint64(p.ifdAt[i+1])
		}
		b.write(head[p.ifdAt[i]:], p.ifdAt[i], next)
	}
	bw := bufio.NewWriterSize(w, 64<<10) // chunks are large writes; this gathers leaders and trailers
	if _, err := bw.Write(head); err != nil {
		return fmt.Errorf("write header: %w", err)
	}
	var frame [4]byte
	for i := len(images) - 1; i >= 0; i-- {
		for _, data := range images[i].chunks {
			if ghost {
				binary.LittleEndian.PutUint32(frame[:], uint32(len(data)))
				_, _ = bw.Write(frame[:])
			}
			_, _ = bw.Write(data)
			if ghost {
				clear(frame[:])
				copy(frame[max(0, 4-len(data)):], data[max(0, len(data)-4):])
				_, _ = bw.Write(frame[:])
			}
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write image data: %w", err)
	}
	return nil
}

func ghostIf(ghost bool) string {
	if ghost {
		return ghostArea
	}
	return ""
}
