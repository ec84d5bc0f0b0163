package raster

import (
	"fmt"
	"math"
	"slices"
)

// Expr is a parsed band math expression (syntax in ops_expr.go).
type Expr struct {
	src  string
	root *exprNode
	maxB int // highest band used, 1-based; 0 for none
}

// ParseExpr parses a band math expression; errors are *ExprError, which
// match ErrExpr and give the position and the bad token.
func ParseExpr(s string) (*Expr, error) {
	root, err := parseExpr(s)
	if err != nil {
		return nil, err
	}
	e := &Expr{src: s, root: root}
	var walk func(n *exprNode)
	walk = func(n *exprNode) {
		if n.op == "band" {
			e.maxB = max(e.maxB, n.band+1)
		}
		for _, a := range n.args {
			walk(a)
		}
	}
	walk(root)
	return e, nil
}

func (e *Expr) String() string { return e.src }

// Bands is the number of bands the expression needs: its highest bN.
func (e *Expr) Bands() int { return e.maxB }

// BandMathOptions configure BandMath's output.
type BandMathOptions struct {
	// Type of the output samples (default Float32). Results are converted
	// as GDAL converts: rounded and saturated for integers.
	Type DataType
	// NoData is the output's nodata value (default -9999); NaN is allowed
	// for float types. It must be representable in Type.
	NoData *float64
}

func (o BandMathOptions) withDefaults() (BandMathOptions, error) {
	if o.Type == 0 {
		o.Type = Float32
	}
	if o.NoData == nil {
		o.NoData = new(float64(-9999))
	}
	if o.Type.Size() == 0 {
		return o, fmt.Errorf("%w: data type %d", ErrParam, int(o.Type))
	}
	if !o.Type.Holds(*o.NoData) {
		return o, fmt.Errorf("%w: nodata %v does not fit %v", ErrParam, *o.NoData, o.Type)
	}
	return o, nil
}

// BandMath evaluates expr at every pixel of srcs, rasters on the same grid
// (size, and geotransform and CRS when they have one), whose bands are b1,
// b2, … in order across the inputs. The output, on the same grid and
// georeferenced as srcs[0], has one band.
//
// The nodata rule, gdal_calc.py's plus one: a pixel is nodata when any band
// the expression uses is nodata there, or when the result is undefined or
// not finite (division by zero, sqrt of a negative, overflow, also of the
// output type's range for Float32).
func BandMath(srcs []*Raster, expr string, opts BandMathOptions) (*Raster, error) {
	e, err := ParseExpr(expr)
	if err != nil {
		return nil, err
	}
	if opts, err = opts.withDefaults(); err != nil {
		return nil, fmt.Errorf("band math: %w", err)
	}
	if len(srcs) == 0 {
		return nil, fmt.Errorf("band math: %w: no input", ErrBand)
	}
	var planes [][]float64 // b1, b2, … and the raster each comes from
	var owners []*Raster
	for i, src := range srcs {
		if src.Width != srcs[0].Width || src.Height != srcs[0].Height {
			return nil, fmt.Errorf("band math: input %d: %w: %dx%d, want %dx%d",
				i+1, ErrGrid, src.Width, src.Height, srcs[0].Width, srcs[0].Height)
		}
		if off, err := gridOffset(srcs[0], src); err != nil || off != [2]int{} {
			return nil, fmt.Errorf("band math: input %d: %w: not on the first input's grid", i+1, ErrGrid)
		}
		for _, plane := range src.Pix {
			planes, owners = append(planes, plane), append(owners, src)
		}
	}
	if e.Bands() > len(planes) {
		return nil, fmt.Errorf("band math: %w: b%d, the inputs have %d bands", ErrBand, e.Bands(), len(planes))
	}
	out := &Raster{Width: srcs[0].Width, Height: srcs[0].Height, Type: opts.Type,
		Pix: [][]float64{make([]float64, srcs[0].Width*srcs[0].Height)}, NoData: *opts.NoData, HasNoData: true,
		Georef: srcs[0].georefAt(0, 0, 1, 1)}
	evalProgram(compileExpr(e.root), planes, owners, out)
	return out, nil
}

// evalChunk is how many pixels a program evaluates at a time.
const evalChunk = 1024

// evalProgram runs p over every pixel into out's band.
func evalProgram(p *exprProgram, planes [][]float64, owners []*Raster, out *Raster) {
	regs := make([][]float64, p.nregs)
	for _, in := range p.code {
		regs[in.dst] = make([]float64, evalChunk)
	}
	for r, v := range p.consts {
		regs[r] = make([]float64, evalChunk)
		for i := range regs[r] {
			regs[r][i] = v
		}
	}
	var used []int // the bands the expression reads, once each
	for _, b := range p.bandOf {
		if !slices.Contains(used, b) {
			used = append(used, b)
		}
	}
	dst := out.Pix[0]
	for off := 0; off < len(dst); off += evalChunk {
		n := min(evalChunk, len(dst)-off)
		for r, b := range p.bandOf {
			regs[r] = planes[b][off : off+n]
		}
		for i := range p.code {
			p.code[i].exec(regs, n)
		}
		for i, raw := range regs[p.out][:n] {
			v := out.Type.Convert(raw) // beyond float32's range: ±Inf
			valid := !math.IsNaN(raw) && !math.IsInf(raw, 0) && !math.IsInf(v, 0)
			for _, b := range used {
				valid = valid && !owners[b].IsNoData(planes[b][off+i])
			}
			dst[off+i] = out.NoData
			if valid {
				dst[off+i] = v
			}
		}
	}
}
