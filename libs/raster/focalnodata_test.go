package raster

import (
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestMarkNoDataIsGDALsTest checks that markNoData, which skips samples of
// the opposite sign to nodata, marks exactly the samples isNoData (gdaldem's
// ARE_REAL_EQUAL) recognises.
func TestMarkNoDataIsGDALsTest(t *testing.T) {
	t.Parallel()
	inf, nan := float32(math.Inf(1)), float32(math.NaN())
	tiny := math.Float32frombits(1) // the smallest subnormal
	for _, nd := range []float32{-math.MaxFloat32, -3.4028230607370965e+38, -9999, -1, 0, float32(math.Copysign(0, -1)), tiny, 5, 255, math.MaxFloat32, inf, -inf} {
		t.Run(fmt.Sprint(nd), func(t *testing.T) {
			t.Parallel()
			var vs []float32
			for _, v := range []float32{nd, -nd, 0, float32(math.Copysign(0, -1)), tiny, -tiny, 1, -1, 3000, -3000, inf, -inf, nan, -nan, math.MaxFloat32, -math.MaxFloat32} {
				vs = append(vs, v, math.Nextafter32(v, inf), math.Nextafter32(v, -inf), v*(1+1e-7), v*(1-1e-7))
			}
			p := &focalPlane[float32]{w: len(vs), h: 1, v: vs, noData: nd, hasND: true}
			p.markNoData()
			for i, v := range vs {
				want := p.isNoData(v)
				got := p.nd != nil && p.nd[i]
				assert.Equal(t, want, got, "sample %v", v)
			}
		})
	}
}
