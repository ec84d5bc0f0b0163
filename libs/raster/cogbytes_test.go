package raster

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// byteTestRaster is a w x h Byte raster of whole samples, many of them
// 0, 255 or nd (when it is a byte), with 2x2 blocks all nd.
func byteTestRaster(seed uint64, w, h, bands int, nd float64, hasND bool) *Raster {
	rng := rand.New(rand.NewPCG(seed, 0xb17e))
	r := &Raster{Width: w, Height: h, Type: Uint8, NoData: nd, HasNoData: hasND}
	ndByte := nd >= 0 && nd <= 255 && nd == math.Trunc(nd)
	for range bands {
		p := make([]float64, w*h)
		for i := range p {
			switch k := rng.IntN(12); {
			case k == 0:
				p[i] = 0
			case k == 1:
				p[i] = 255
			case (k == 2 || k == 3) && ndByte:
				p[i] = nd
			default:
				p[i] = float64(rng.IntN(256))
			}
		}
		for range w * h / 40 { // whole blocks of nodata
			x, y := 2*rng.IntN(max(1, w/2)), 2*rng.IntN(max(1, h/2))
			for _, i := range []int{y*w + x, y*w + x + 1, (y+1)*w + x, (y+1)*w + x + 1} {
				if ndByte && i < len(p) {
					p[i] = nd
				}
			}
		}
		r.Pix = append(r.Pix, p)
	}
	return r
}

// byteNoDataCases are the nodata settings the byte path must treat as the
// float path does.
var byteNoDataCases = []struct {
	name  string
	nd    float64
	hasND bool
}{
	{"none", 0, false}, {"0", 0, true}, {"255", 255, true}, {"7", 7, true},
	{"nan", math.NaN(), true}, {"out-of-range", 300, true}, {"fraction", 1.5, true}, {"negative", -1, true},
}

// TestByteOverviewIsTheFloatOverview checks byteOverview against
// cogDownsample then quantize, level after level, for every kind of nodata
// and both resamplings.
func TestByteOverviewIsTheFloatOverview(t *testing.T) {
	t.Parallel()
	for i, c := range byteNoDataCases {
		for _, nearest := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s nearest=%v", c.name, nearest), func(t *testing.T) {
				t.Parallel()
				r := byteTestRaster(uint64(i), 264, 136, 2, c.nd, c.hasND)
				if !byteHalvable(r) {
					t.Skip("overviews of this nodata are not computed on bytes")
				}
				planes := byteSamples(r)
				require.NotNil(t, planes)
				fr, br := r, r
				for w, h := r.Width/2, r.Height/2; w >= 1 && h >= 1; w, h = w/2, h/2 {
					fr = quantize(cogDownsample(fr, w, h, nearest))
					br, planes = byteOverview(br, planes, w, h, nearest)
					want := byteSamples(fr)
					require.NotNil(t, want, "%dx%d: the float overview holds bytes", w, h)
					require.Equal(t, want, planes, "%dx%d", w, h)
					if w%2 == 1 || h%2 == 1 {
						break
					}
				}
			})
		}
	}
}

// encodeCOGFloatPath is EncodeCOG (part false) or EncodeCOGPart of r as the
// top-left part of a width x height image, without the byte path.
func encodeCOGFloatPath(t *testing.T, r *Raster, part bool, width, height int, opts COGOptions) []byte {
	t.Helper()
	o, err := opts.resolve(r.Type)
	require.NoError(t, err)
	images := []*outImage{newOutImage(r, o.EncodeOptions, false)}
	var sizes []OverviewSize
	prev := r
	if part {
		prev = storedSamples(r)
		for k := range o.partLevels(width, height, Window{W: r.Width, H: r.Height}) {
			sizes = append(sizes, OverviewSize{r.Width >> (k + 1), r.Height >> (k + 1)})
		}
	} else {
		sizes = o.overviewSizes(r.Width, r.Height)
	}
	for _, s := range sizes {
		next, err := o.downsample(prev, s.Width, s.Height)
		require.NoError(t, err)
		images = append(images, newOutImage(next, o.EncodeOptions, true))
		prev = next
	}
	require.NoError(t, compressImages(images, o.EncodeOptions))
	var buf bytes.Buffer
	require.NoError(t, writeTIFF(&buf, images, o.EncodeOptions, !part && !o.NoGhostArea))
	return buf.Bytes()
}

// TestByteCOGIsTheFloatCOG checks that EncodeCOG and EncodeCOGPart of Byte
// rasters, which take the byte path, write the files the float path
// writes: odd sizes (a level then halves inexactly and the float path takes
// over), several bands chunky and planar, predictors, every nodata kind,
// and samples that are not whole (no byte path).
func TestByteCOGIsTheFloatCOG(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		w, h   int
		bands  int
		opts   COGOptions
		unholy bool // a sample is not a whole byte
	}{
		{"deflate-1-horizontal", 1024, 512, 1, COGOptions{EncodeOptions: EncodeOptions{TileSize: 64, Level: 1}}, false},
		{"odd-size", 1001, 743, 1, COGOptions{EncodeOptions: EncodeOptions{TileSize: 64}}, false},
		{"rgb-nearest", 768, 512, 3, COGOptions{EncodeOptions: EncodeOptions{TileSize: 64}, Resampling: "nearest"}, false},
		{"planar-no-predictor", 640, 448, 2, COGOptions{EncodeOptions: EncodeOptions{TileSize: 64, Planar: true, Predictor: PredictorNone}}, false},
		{"zstd-no-ghost", 500, 260, 1, COGOptions{EncodeOptions: EncodeOptions{TileSize: 32, Compression: CompressionZSTD}, NoGhostArea: true}, false},
		{"not-whole", 512, 512, 1, COGOptions{EncodeOptions: EncodeOptions{TileSize: 64}}, true},
	}
	for i, tt := range tests {
		for j, c := range byteNoDataCases {
			t.Run(tt.name+" nodata "+c.name, func(t *testing.T) {
				t.Parallel()
				r := byteTestRaster(uint64(100*i+j), tt.w, tt.h, tt.bands, c.nd, c.hasND)
				if tt.unholy {
					r.Pix[0][r.Width+5] = 254.6
					require.Nil(t, byteSamples(r))
				} else {
					require.NotNil(t, byteSamples(r))
				}
				var whole, part bytes.Buffer
				require.NoError(t, EncodeCOG(&whole, r, tt.opts))
				assert.True(t, bytes.Equal(encodeCOGFloatPath(t, r, false, 0, 0, tt.opts), whole.Bytes()), "EncodeCOG")
				width, height := 2*r.Width, 2*r.Height
				require.NoError(t, EncodeCOGPart(&part, r, 0, 0, width, height, tt.opts))
				assert.True(t, bytes.Equal(encodeCOGFloatPath(t, r, true, width, height, tt.opts), part.Bytes()), "EncodeCOGPart")
			})
		}
	}
}
