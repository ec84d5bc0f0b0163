package main

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/geocluster/geocluster/libs/raster"
)

// demName is the real DEM the large one is made of (1007 x 633 Float32,
// EPSG:4269, see ../shared/data/README.md).
const demName = "localtileserver_co_elevation_roi.tif"

// dem is the large DEM of the benchmark and how it was made.
type dem struct {
	path       string
	size       int
	src        string // the real DEM
	srcW, srcH int
	nx, ny     int      // copies across and down (the last ones cut)
	steps      []string // what builds it, as run
	cached     bool     // found in the cache and checked, not built
	build      time.Duration
	bytes      int64
}

// prepareDEM returns the DEM of cfg.size from dir, building it when it is
// absent or fails checkDEM. The real DEM's copies are placed edge to edge
// by a VRT at whole-pixel offsets (no floating-point geotransform per copy,
// so no resampling), which gdal_translate writes as a tiled LZW GeoTIFF;
// the samples stay Float32 and keep the source's geotransform, CRS and
// nodata.
func prepareDEM(ctx context.Context, cfg config, dir string, stderr io.Writer) (dem, error) {
	src, err := filepath.Abs(filepath.Join(cfg.data, demName))
	if err != nil {
		return dem{}, err
	}
	base, err := raster.ReadFile(src)
	if err != nil {
		return dem{}, fmt.Errorf("read the real DEM (see -data): %w", err)
	}
	if base.Type != raster.Float32 || base.Bands() != 1 {
		return dem{}, fmt.Errorf("%s: %d bands of %v, want 1 of Float32", src, base.Bands(), base.Type)
	}
	name := fmt.Sprintf("dem-%dx%d", cfg.size, cfg.size)
	d := dem{
		path: filepath.Join(dir, name+".tif"), size: cfg.size, src: src, srcW: base.Width, srcH: base.Height,
		nx: ceilDiv(cfg.size, base.Width), ny: ceilDiv(cfg.size, base.Height),
	}
	vrt := filepath.Join(dir, name+".vrt")
	translate := []string{"gdal_translate", "-q", "-co", "TILED=YES", "-co", "COMPRESS=LZW", vrt, d.path}
	d.steps = []string{
		fmt.Sprintf("write %s: a VRT of %d x %d pixels with the geotransform, CRS (EPSG:%d) and nodata of %s, "+
			"and one SimpleSource per copy of it, %d across x %d down: SrcRect 0 0 w h, DstRect %d*i %d*j w h "+
			"(w, h cut to the VRT at the right and bottom)",
			vrt, cfg.size, cfg.size, base.EPSG, src, d.nx, d.ny, base.Width, base.Height),
		strings.Join(translate, " "),
	}
	if _, err := os.Stat(d.path); err == nil {
		err := checkDEM(d.path, base, cfg.size)
		if err == nil {
			d.cached = true
			return d, d.stat()
		}
		fmt.Fprintf(stderr, "cached DEM fails its check, rebuilding: %v\n", err)
	}
	fmt.Fprintf(stderr, "building the %d x %d DEM in %s\n", cfg.size, cfg.size, dir)
	start := time.Now()
	if err := writeVRT(vrt, base, src, cfg.size); err != nil {
		return dem{}, err
	}
	if err := runTool(ctx, translate...); err != nil {
		_ = os.Remove(d.path)
		return dem{}, err
	}
	d.build = time.Since(start)
	if err := checkDEM(d.path, base, cfg.size); err != nil {
		return dem{}, fmt.Errorf("the built DEM: %w", err)
	}
	return d, d.stat()
}

func (d *dem) stat() error {
	st, err := os.Stat(d.path)
	if err != nil {
		return err
	}
	d.bytes = st.Size()
	return nil
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// The VRT elements the DEM uses (GDAL's VRT format, SimpleSource copies).
type (
	vrtDataset struct {
		XMLName      xml.Name `xml:"VRTDataset"`
		XSize        int      `xml:"rasterXSize,attr"`
		YSize        int      `xml:"rasterYSize,attr"`
		SRS          string   `xml:"SRS,omitempty"`
		GeoTransform string   `xml:"GeoTransform"`
		Band         vrtBand  `xml:"VRTRasterBand"`
	}
	vrtBand struct {
		DataType string      `xml:"dataType,attr"`
		Band     int         `xml:"band,attr"`
		NoData   string      `xml:"NoDataValue,omitempty"`
		Sources  []vrtSource `xml:"SimpleSource"`
	}
	vrtSource struct {
		Filename vrtFilename `xml:"SourceFilename"`
		Band     int         `xml:"SourceBand"`
		Src      vrtRect     `xml:"SrcRect"`
		Dst      vrtRect     `xml:"DstRect"`
	}
	vrtFilename struct {
		Relative int    `xml:"relativeToVRT,attr"`
		Path     string `xml:",chardata"`
	}
	vrtRect struct {
		X int `xml:"xOff,attr"`
		Y int `xml:"yOff,attr"`
		W int `xml:"xSize,attr"`
		H int `xml:"ySize,attr"`
	}
)

// writeVRT writes the size x size mosaic of copies of base (read from src)
// as a VRT at path.
func writeVRT(path string, base *raster.Raster, src string, size int) error {
	t := base.Transform
	v := vrtDataset{
		XSize: size, YSize: size,
		GeoTransform: fmt.Sprintf("%.17g, %.17g, %.17g, %.17g, %.17g, %.17g", t[0], t[1], t[2], t[3], t[4], t[5]),
		Band:         vrtBand{DataType: "Float32", Band: 1},
	}
	if base.EPSG != 0 {
		v.SRS = fmt.Sprintf("EPSG:%d", base.EPSG)
	}
	if base.HasNoData {
		v.Band.NoData = fmt.Sprintf("%.17g", base.NoData)
	}
	for y := 0; y < size; y += base.Height {
		for x := 0; x < size; x += base.Width {
			w, h := min(base.Width, size-x), min(base.Height, size-y)
			v.Band.Sources = append(v.Band.Sources, vrtSource{
				Filename: vrtFilename{Path: src}, Band: 1,
				Src: vrtRect{W: w, H: h}, Dst: vrtRect{X: x, Y: y, W: w, H: h},
			})
		}
	}
	b, err := xml.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// checkDEM verifies that the DEM at path is size x size Float32 on base's
// grid, CRS and nodata, and that every pixel (x, y) equals base's pixel
// (x mod width, y mod height).
func checkDEM(path string, base *raster.Raster, size int) error {
	r, err := raster.ReadFile(path)
	if err != nil {
		return err
	}
	switch {
	case r.Width != size || r.Height != size || r.Bands() != 1 || r.Type != raster.Float32:
		return fmt.Errorf("%s: %dx%d, %d bands of %v; want %dx%d, 1 of Float32", path, r.Width, r.Height, r.Bands(), r.Type, size, size)
	case r.Transform != base.Transform || r.EPSG != base.EPSG:
		return fmt.Errorf("%s: geotransform %v EPSG:%d, want %v EPSG:%d", path, r.Transform, r.EPSG, base.Transform, base.EPSG)
	case r.HasNoData != base.HasNoData || float32(r.NoData) != float32(base.NoData):
		return fmt.Errorf("%s: nodata %v (%v), want %v (%v)", path, r.NoData, r.HasNoData, base.NoData, base.HasNoData)
	}
	got, want := r.Pix[0], base.Pix[0]
	for y := range size {
		row, srcRow := got[y*size:(y+1)*size], want[(y%base.Height)*base.Width:]
		for x, v := range row {
			if v != srcRow[x%base.Width] {
				return fmt.Errorf("%s: pixel %d,%d is %v, the source's %d,%d is %v",
					path, x, y, v, x%base.Width, y%base.Height, srcRow[x%base.Width])
			}
		}
	}
	return nil
}

// runTool runs a GDAL command line, its output discarded unless it fails.
func runTool(ctx context.Context, argv ...string) error {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = io.Discard, &out
	if err := cmd.Run(); err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			return fmt.Errorf("%s: %w (install gdal-bin)", argv[0], err)
		}
		return fmt.Errorf("%s: %w: %s", strings.Join(argv, " "), err, strings.TrimSpace(out.String()))
	}
	return nil
}
