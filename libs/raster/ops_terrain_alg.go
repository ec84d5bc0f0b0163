package raster

import "math"

// The per-window formulas of gdaldem (GDAL 3.6), in GDAL's order of
// operations: sums of samples in the sample type, the rest in float64, with
// explicit conversions wherever a product meets a sum so that no compiler
// fuses them into an FMA, which rounds differently.

// GDAL's conversion constants, rounded as C computes them from M_PI.
var (
	gdalPi       = math.Pi
	gdalDegToRad = gdalPi / 180
	gdalRadToDeg = 180 / gdalPi
)

// hillshadeConsts holds the constants gdaldem derives once per raster
// (GDALCreateHillshadeData).
type hillshadeConsts struct {
	sameRes        bool // square pixels: GDAL's faster formula
	invEW, invNS   float64
	squareZ        float64
	sinAlt254      float64
	cosAzCosAlt254 float64 // cos(az) cos(alt) z 254
	sinAzCosAlt254 float64
	// With square pixels, folded with the resolution.
	squareZInvRes2    float64
	cosAzCosAlt254Res float64
	sinAzCosAlt254Res float64
}

func newHillshade(gt GeoTransform, p HillshadeParams) hillshadeConsts {
	var h hillshadeConsts
	h.invNS = 1 / gt[5]
	h.invEW = 1 / gt[1]
	sinAlt := math.Sin(p.Altitude * gdalDegToRad)
	az := p.Azimuth * gdalDegToRad
	z := p.ZFactor / (8 * p.Scale)
	cosAltZ := math.Cos(p.Altitude*gdalDegToRad) * z
	cosAzCosAltZ := math.Cos(az) * cosAltZ
	sinAzCosAltZ := math.Sin(az) * cosAltZ
	h.squareZ = z * z
	h.sinAlt254 = 254 * sinAlt
	h.cosAzCosAlt254 = 254 * cosAzCosAltZ
	h.sinAzCosAlt254 = 254 * sinAzCosAltZ
	if gt[1] == -gt[5] {
		h.sameRes = true
		h.squareZInvRes2 = h.squareZ * h.invEW * h.invEW
		h.cosAzCosAlt254Res = h.cosAzCosAlt254 * -h.invEW
		h.sinAzCosAlt254Res = h.sinAzCosAlt254 * h.invEW
	}
	return h
}

// hillshadeAlg is GDALHillshadeAlg, or GDALHillshadeAlg_same_res for
// square pixels. Each computes the numerator and the squared denominator of
// the light cosine (times 254) for a batch of pixels, then shades them.
func hillshadeAlg[T focalSample](h hillshadeConsts) focalAlg[T] {
	if h.sameRes {
		num, den := make([]float64, shadeBatch), make([]float64, shadeBatch) // scratch: the closure runs in one goroutine
		return func(r0, r1, r2 []T, out []float32) {
			for start := 0; start < len(out); start += shadeBatch {
				n := min(shadeBatch, len(out)-start)
				for j := range n {
					i := start + j
					a, b, c := r0[i:i+3:i+3], r1[i:i+3:i+3], r2[i:i+3:i+3]
					accX := a[0] - c[2]
					sixMinusTwo := c[0] - a[2]
					accY := accX
					threeMinusFive := b[0] - b[2]
					oneMinusSeven := a[1] - c[1]
					accX += threeMinusFive
					accY += oneMinusSeven
					accX += threeMinusFive
					accY += oneMinusSeven
					accX += sixMinusTwo
					accY -= sixMinusTwo
					x, y := float64(accX), float64(accY)
					xx := float64(x*x) + float64(y*y)
					num[j] = h.sinAlt254 + (float64(x*h.sinAzCosAlt254Res) + float64(y*h.cosAzCosAlt254Res))
					den[j] = 1 + float64(h.squareZInvRes2*xx)
				}
				shadeChunk(num[:n], den[:n], out[start:start+n])
			}
		}
	}
	num, den := make([]float64, shadeBatch), make([]float64, shadeBatch)
	return func(r0, r1, r2 []T, out []float32) {
		for start := 0; start < len(out); start += shadeBatch {
			n := min(shadeBatch, len(out)-start)
			for j := range n {
				i := start + j
				a, b, c := r0[i:i+3:i+3], r1[i:i+3:i+3], r2[i:i+3:i+3]
				x := float64((a[0]+b[0]+b[0]+c[0])-(a[2]+b[2]+b[2]+c[2])) * h.invEW
				y := float64((c[0]+c[1]+c[1]+c[2])-(a[0]+a[1]+a[1]+a[2])) * h.invNS
				xx := float64(x*x) + float64(y*y)
				num[j] = h.sinAlt254 - (float64(y*h.cosAzCosAlt254) - float64(x*h.sinAzCosAlt254))
				den[j] = 1 + float64(h.squareZ*xx)
			}
			shadeChunk(num[:n], den[:n], out[start:start+n])
		}
	}
}

// shadeBatch is how many pixels hillshade computes at a time.
const shadeBatch = 256

// shadeChunk is the hillshade value, 1..255 as float, of num/sqrt(den)
// (approxDivSqrt, written out here so that the loop has no call).
func shadeChunk(num, den []float64, out []float32) {
	for i := range out {
		a, b := num[i], den[i]
		var c float64
		if bits := math.Float32bits(float32(b)); bits-0x00800000 < 0x7f000000 {
			r := float64(math.Float32frombits(rsqrtNormal(bits)))
			c = a * (r * (1.5 - float64(b*0.5*float64(r*r))))
		} else {
			c = approxDivSqrt(a, b)
		}
		if c <= 0 {
			out[i] = 1
		} else {
			out[i] = float32(1 + c)
		}
	}
}

// slopeAlg is GDALSlopeHornAlg.
func slopeAlg[T focalSample](gt GeoTransform, p SlopeParams) focalAlg[T] {
	ewres, nsres, div := gt[1], gt[5], 8*p.Scale
	return func(r0, r1, r2 []T, out []float32) {
		for i := range out {
			a, b, c := r0[i:i+3:i+3], r1[i:i+3:i+3], r2[i:i+3:i+3]
			dx := float64((a[0]+b[0]+b[0]+c[0])-(a[2]+b[2]+b[2]+c[2])) / ewres
			dy := float64((c[0]+c[1]+c[1]+c[2])-(a[0]+a[1]+a[1]+a[2])) / nsres
			key := float64(dx*dx) + float64(dy*dy)
			rise := p.ZFactor * math.Sqrt(key) / div
			if p.Percent {
				out[i] = float32(100 * rise)
			} else {
				out[i] = float32(math.Atan(rise) * gdalRadToDeg)
			}
		}
	}
}

// aspectAlg is GDALAspectAlg; flat windows get noData.
func aspectAlg[T focalSample](trigonometric bool, noData float32) focalAlg[T] {
	return func(r0, r1, r2 []T, out []float32) {
		for i := range out {
			a, b, c := r0[i:i+3:i+3], r1[i:i+3:i+3], r2[i:i+3:i+3]
			dx := float64((a[2] + b[2] + b[2] + c[2]) - (a[0] + b[0] + b[0] + c[0]))
			dy := float64((c[0] + c[1] + c[1] + c[2]) - (a[0] + a[1] + a[1] + a[2]))
			aspect := float32(math.Atan2(dy, -dx) / gdalDegToRad)
			switch {
			case dx == 0 && dy == 0:
				aspect = noData
			case !trigonometric && aspect > 90:
				aspect = 450 - aspect
			case !trigonometric:
				aspect = 90 - aspect
			case aspect < 0:
				aspect += 360
			}
			if aspect == 360 {
				aspect = 0
			}
			out[i] = aspect
		}
	}
}
