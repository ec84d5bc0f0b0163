package raster

import (
	"errors"
	"fmt"
	"math"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"
	"github.com/wroge/wgs84"
)

// XYZ web-map tiles: 256 x 256 pixel tiles of the web-mercator (EPSG:3857)
// grid, zoom/x/y as in OpenStreetMap's scheme, rendered from a georeferenced
// raster by nearest-neighbour sampling.

// XYZTileSize is the edge of an XYZ tile in pixels.
const XYZTileSize = 256

// MaxXYZTilesPerZoom bounds the tiles XYZTiles lists for one zoom.
const MaxXYZTilesPerZoom = 1 << 16

// ErrCRS marks a raster whose CRS cannot be transformed to web mercator.
var ErrCRS = errors.New("raster: unsupported CRS")

// XYZOptions choose how samples become 8-bit gray levels.
type XYZOptions struct {
	// Band is the band rendered, 0-based.
	Band int
	// Min and Max stretch non-Byte samples linearly onto 1..255 (values
	// outside are clamped). Byte samples are shown as they are.
	Min, Max float64
}

// earthHalf is half the web-mercator world width in metres.
const earthHalf = math.Pi * 6378137

// XYZTiles lists the tiles of zoom z that cover r.
func XYZTiles(r *Raster, z int) ([]maptile.Tile, error) {
	if z < 0 || z > 22 {
		return nil, fmt.Errorf("%w: zoom %d outside 0..22", ErrParam, z)
	}
	toLL, err := toLonLat(r.EPSG)
	if err != nil {
		return nil, err
	}
	minLon, minLat, maxLon, maxLat := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, c := range [][2]float64{{0, 0}, {float64(r.Width), 0}, {0, float64(r.Height)}, {float64(r.Width), float64(r.Height)}} {
		x := r.Transform[0] + c[0]*r.Transform[1] + c[1]*r.Transform[2]
		y := r.Transform[3] + c[0]*r.Transform[4] + c[1]*r.Transform[5]
		lon, lat, _ := toLL(x, y, 0)
		minLon, maxLon = math.Min(minLon, lon), math.Max(maxLon, lon)
		minLat, maxLat = math.Min(minLat, lat), math.Max(maxLat, lat)
	}
	const maxLat85 = 85.05112878
	minLat, maxLat = math.Max(minLat, -maxLat85), math.Min(maxLat, maxLat85)
	a := maptile.At(orb.Point{minLon, maxLat}, maptile.Zoom(z))
	b := maptile.At(orb.Point{maxLon, minLat}, maptile.Zoom(z))
	if n := (uint64(b.X) - uint64(a.X) + 1) * (uint64(b.Y) - uint64(a.Y) + 1); b.X < a.X || b.Y < a.Y || n > MaxXYZTilesPerZoom {
		return nil, fmt.Errorf("%w: zoom %d needs %d tiles, the limit is %d", ErrParam, z, n, MaxXYZTilesPerZoom)
	}
	var out []maptile.Tile
	for y := a.Y; y <= b.Y; y++ {
		for x := a.X; x <= b.X; x++ {
			out = append(out, maptile.New(x, y, maptile.Zoom(z)))
		}
	}
	return out, nil
}

// XYZTile renders tile t of r as a 256 x 256 one-band Byte raster whose
// nodata (0) marks pixels outside r or nodata in r; PNG output makes them
// transparent.
func XYZTile(r *Raster, t maptile.Tile, o XYZOptions) (*Raster, error) {
	if o.Band < 0 || o.Band >= r.Bands() {
		return nil, fmt.Errorf("%w: band %d of %d", ErrBand, o.Band, r.Bands())
	}
	if r.Type != Uint8 && !(o.Max > o.Min) {
		return nil, fmt.Errorf("%w: a %v raster needs Max > Min to be shown in 8 bits", ErrParam, r.Type)
	}
	from3857, err := fromWebMercator(r.EPSG)
	if err != nil {
		return nil, err
	}
	inv, ok := invert(r.Transform)
	if !ok {
		return nil, fmt.Errorf("%w: the geotransform cannot be inverted", ErrCRS)
	}
	out, err := New(XYZTileSize, XYZTileSize, 1, Uint8)
	if err != nil {
		return nil, err
	}
	out.HasNoData, out.NoData = true, 0
	size := 2 * earthHalf / float64(uint64(1)<<t.Z)
	left, top := -earthHalf+float64(t.X)*size, earthHalf-float64(t.Y)*size
	res := size / XYZTileSize
	out.Transform = GeoTransform{left, res, 0, top, 0, -res}
	out.EPSG = 3857
	plane := r.Pix[o.Band]
	// exact maps a tile pixel's centre to the source's (col, row).
	exact := func(i, j int) (float64, float64) {
		mx, my := left+(float64(i)+0.5)*res, top-(float64(j)+0.5)*res
		x, y, _ := from3857(mx, my, 0)
		return inv[0] + x*inv[1] + y*inv[2], inv[3] + x*inv[4] + y*inv[5]
	}
	cols, rows := approxGrid(exact)
	for j := range XYZTileSize {
		for i := range XYZTileSize {
			col, row := cols[j*XYZTileSize+i], rows[j*XYZTileSize+i]
			if col < 0 || row < 0 || col >= float64(r.Width) || row >= float64(r.Height) || math.IsNaN(col) || math.IsNaN(row) {
				continue
			}
			v := plane[int(row)*r.Width+int(col)]
			if r.IsNoData(v) || math.IsNaN(v) {
				continue
			}
			out.Pix[0][j*XYZTileSize+i] = gray(v, r.Type, o)
		}
	}
	return out, nil
}

// approxStep and approxMaxErr: the source position of a tile pixel is
// interpolated bilinearly between exact transforms every approxStep pixels,
// as GDAL's approximate transformer does (gdalwarp's default error
// threshold is 0.125 pixel too); a cell of the grid where interpolation is
// off by more than approxMaxErr source pixels at its centre, or touches a
// point the CRS cannot transform, is transformed pixel by pixel.
const (
	approxStep   = 16
	approxMaxErr = 0.125
)

// approxGrid returns the source (col, row) of every pixel of a tile, by
// exact at the grid's nodes and interpolation in between.
func approxGrid(exact func(i, j int) (float64, float64)) (cols, rows []float64) {
	const n = XYZTileSize
	cols, rows = make([]float64, n*n), make([]float64, n*n)
	// Nodes at pixels 0, 16, …, 240 and the last pixel, 255.
	var nodes []int
	for k := 0; k < n; k += approxStep {
		nodes = append(nodes, k)
	}
	nodes = append(nodes, n-1)
	nc, nr := make([]float64, len(nodes)*len(nodes)), make([]float64, len(nodes)*len(nodes))
	for b, j := range nodes {
		for a, i := range nodes {
			nc[b*len(nodes)+a], nr[b*len(nodes)+a] = exact(i, j)
		}
	}
	for b := 0; b+1 < len(nodes); b++ {
		j0, j1 := nodes[b], nodes[b+1]
		last := b+2 == len(nodes)
		for a := 0; a+1 < len(nodes); a++ {
			i0, i1 := nodes[a], nodes[a+1]
			lastCol := a+2 == len(nodes)
			c00, c10 := nc[b*len(nodes)+a], nc[b*len(nodes)+a+1]
			c01, c11 := nc[(b+1)*len(nodes)+a], nc[(b+1)*len(nodes)+a+1]
			r00, r10 := nr[b*len(nodes)+a], nr[b*len(nodes)+a+1]
			r01, r11 := nr[(b+1)*len(nodes)+a], nr[(b+1)*len(nodes)+a+1]
			lerp := func(i, j int) (float64, float64) {
				u, v := float64(i-i0)/float64(i1-i0), float64(j-j0)/float64(j1-j0)
				c := (1-v)*((1-u)*c00+u*c10) + v*((1-u)*c01+u*c11)
				r := (1-v)*((1-u)*r00+u*r10) + v*((1-u)*r01+u*r11)
				return c, r
			}
			f := lerp
			mi, mj := (i0+i1)/2, (j0+j1)/2
			ec, er := exact(mi, mj)
			ic, ir := lerp(mi, mj)
			if bad(c00, c10, c01, c11, r00, r10, r01, r11, ec, er) || math.Abs(ic-ec) > approxMaxErr || math.Abs(ir-er) > approxMaxErr {
				f = exact
			}
			// Each cell fills [i0, i1) x [j0, j1); the last row and column
			// of cells also their far edge.
			jEnd, iEnd := j1, i1
			if last {
				jEnd = j1 + 1
			}
			if lastCol {
				iEnd = i1 + 1
			}
			for j := j0; j < jEnd; j++ {
				for i := i0; i < iEnd; i++ {
					cols[j*n+i], rows[j*n+i] = f(i, j)
				}
			}
		}
	}
	return cols, rows
}

func bad(vs ...float64) bool {
	for _, v := range vs {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return true
		}
	}
	return false
}

func gray(v float64, t DataType, o XYZOptions) float64 {
	if t == Uint8 {
		return v
	}
	s := (v - o.Min) / (o.Max - o.Min)
	return 1 + math.Round(254*math.Min(math.Max(s, 0), 1))
}

// invert returns the geotransform mapping (x, y) to (col, row).
func invert(g GeoTransform) (GeoTransform, bool) {
	det := g[1]*g[5] - g[2]*g[4]
	if det == 0 || math.IsNaN(det) {
		return GeoTransform{}, false
	}
	a, b, d, e := g[5]/det, -g[2]/det, -g[4]/det, g[1]/det
	return GeoTransform{-a*g[0] - b*g[3], a, b, -d*g[0] - e*g[3], d, e}, true
}

// crs returns the CRS of an EPSG code that wgs84 knows (WGS84, NAD83,
// ETRS89, UTM zones, web mercator and some national grids).
func crs(epsg int) (wgs84.CoordinateReferenceSystem, error) {
	c := wgs84.EPSG().Code(epsg)
	if c == nil {
		return nil, fmt.Errorf("%w: EPSG:%d has no transformation to web mercator here", ErrCRS, epsg)
	}
	return c, nil
}

func toLonLat(epsg int) (wgs84.Func, error) {
	c, err := crs(epsg)
	if err != nil {
		return nil, err
	}
	return wgs84.Transform(c, wgs84.LonLat()), nil
}

func fromWebMercator(epsg int) (wgs84.Func, error) {
	c, err := crs(epsg)
	if err != nil {
		return nil, err
	}
	return wgs84.Transform(wgs84.WebMercator(), c), nil
}
