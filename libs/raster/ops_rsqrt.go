package raster

import "math"

// gdaldem on x86-64 (the platform nearly every GDAL user runs) divides by a
// square root with SSE: it converts the divisor to single precision, takes
// the RSQRTSS hardware estimate of its reciprocal square root (about 12
// bits), refines it with one Newton-Raphson step in double precision and
// multiplies (GDAL's ApproxADivByInvSqrtB). The result is off by up to a few
// parts in 10^7, which moves a few hillshade pixels per million of the real
// DEM to the neighbouring byte. To give the same bytes as gdaldem, and the
// same bytes on every platform we run on, approxDivSqrt does that computation
// in software with the estimate table of Intel CPUs (other vendors' estimates
// may differ, and with them gdaldem's output on those few pixels).

// rsqrtFirst is the 12-bit mantissa of the RSQRTSS estimate for x = 1.0.
const rsqrtFirst = 4094

// rsqrtDrops holds, for the 2047 following table entries (x in [1, 4) by
// exponent parity and top 10 mantissa bits), how much the 12-bit mantissa of
// the estimate drops from the previous entry. testdata/ops/rsqrt_table.c
// prints it from the CPU.
const rsqrtDrops = "" +
	"4444444444443444444444344444434444344443444344434443443443443443" +
	"4434434344343443434344343434343434343434334343433434334343343343" +
	"4334334333433433433343334333433334333343333343333343333333433333" +
	"3333343333333333333333333333333333333333332333333333332333333323" +
	"3333323333323333233332333323332333233323332332333233233233233233" +
	"2332332332323323323233232323323232332323232323323232323232323232" +
	"3232232323232322323232232322323223232232322322322323223223223223" +
	"2232223223223222322232232223222322232222322232222322223222232222" +
	"3222223222222322222232222222322222222322222222223222222222222222" +
	"2322222222222222222222222222222222222222222222221222222222222222" +
	"2122222222222122222222212222222212222221222222122222212222212222" +
	"2122221222212222122221222212221222212221222122212221222122212221" +
	"2212221221222122122212212212212221221221221221221221221212212212" +
	"2121221221221212212122122121221212212121221212212121221212122121" +
	"2121221212121212122121212121212121212212121212121212121212112121" +
	"2121212121212121121212121212112121212112121211212121121212112122" +
	"3233332333323332333323323332332333233233233233233232332323323233" +
	"2323233232323232332323232323223232323232322323232232322323223223" +
	"2322322322322322322322322232232223222322232223222322223222232222" +
	"3222223222223222222322222223222222222322222222222222322222222222" +
	"2222222222222222222222222222222122222222222222122222222221222222" +
	"2122222221222222122222122222122221222212222122221222212221222122" +
	"2122212221222122122212212221221221222122122122122122122122122121" +
	"2212212212122121221221212212122121212212121221212122121212121221" +
	"2121212121212212121212121212121212121211212121212121212112121212" +
	"1211212121121212112121211212112121121211212112121121121211211212" +
	"1121121121211211211211211211211211211211211121121121121112112111" +
	"2112111211211121121112111211121112111211121112111211121111211121" +
	"1112111211112111121111211112111121111121111211111211111211111211" +
	"1112111111211111121111112111111211111112111111112111111112111111" +
	"1121111111111211111111111211111111111121111111111111112111111111" +
	"111111111112111111111111111111111111111111111111111111111111111"

// rsqrtTable is rsqrtDrops expanded: the float32 bits of the estimate, in
// [0.5, 1), for x in [1, 4).
var rsqrtTable = expandRsqrtTable()

func expandRsqrtTable() *[2048]uint32 {
	var t [2048]uint32
	m := uint32(rsqrtFirst)
	for i := range t {
		if i > 0 {
			m -= uint32(rsqrtDrops[i-1] - '0')
		}
		t[i] = 126<<23 | m<<11
	}
	return &t
}

// rsqrtEstimate is the RSQRTSS estimate of 1/sqrt(x) on Intel CPUs.
func rsqrtEstimate(x float32) float32 {
	bits := math.Float32bits(x)
	if bits-0x00800000 >= 0x7f000000 { // not a positive normal number
		return rsqrtSpecial(x)
	}
	return math.Float32frombits(rsqrtNormal(bits))
}

// rsqrtNormal is rsqrtEstimate of a positive normal number, in bits:
// x = 4^k * y with y in [1, 4), and the estimate is y's divided by 2^k. The
// index is y's exponent parity and top 10 mantissa bits.
func rsqrtNormal(bits uint32) uint32 {
	k := (int32(bits>>23) - 127) >> 1
	return uint32(int32(rsqrtTable[(bits>>13)&0x7ff^0x400]) - k<<23)
}

// rsqrtSpecial is RSQRTSS for zero, subnormals (taken as zero), infinities,
// negative numbers and NaN.
func rsqrtSpecial(x float32) float32 {
	switch {
	case x == 0 || x > 0 && x < math.SmallestNonzeroFloat32*(1<<23):
		return float32(math.Inf(1))
	case math.IsInf(float64(x), 1):
		return 0
	}
	return float32(math.NaN())
}

// approxDivSqrt is a / sqrt(b) as gdaldem computes it on x86-64.
func approxDivSqrt(a, b float64) float64 {
	var r float64
	if bits := math.Float32bits(float32(b)); bits-0x00800000 < 0x7f000000 {
		r = float64(math.Float32frombits(rsqrtNormal(bits)))
	} else {
		r = float64(rsqrtSpecial(float32(b)))
	}
	// The explicit conversion keeps the compiler from fusing into an FMA,
	// which rounds differently, on the architectures that have them.
	r *= 1.5 - float64(b*0.5*float64(r*r))
	return a * r
}
