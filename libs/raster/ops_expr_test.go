package raster

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestExprSyntaxErrorsGivePositionAndToken(t *testing.T) {
	for _, c := range []struct{ expr, msg string }{
		{"b1 + b2)", `expression: unexpected ")" at 7`},
		{"(b2-b1))/2", `expression: unexpected ")" at 7`},
		{"(b2-b1", `expression: unexpected end at 6`},
		{"b1 +", `expression: unexpected end at 4`},
		{"", `expression: unexpected end at 0`},
		{"b1 * * b2", `expression: unexpected "*" at 5`},
		{"b1 $ 2", `expression: unexpected character "$" at 3`},
		{"b1 = 2", `expression: unexpected character "=" at 3`},
		{"b1 & b2", `expression: unexpected character "&" at 3`},
		{"b1 + é", `expression: unexpected character "é" at 5`},
		{"2 b1", `expression: unexpected "b1" at 2`},
		{"b0 + 1", `expression: unknown name "b0" at 0`},
		{"b01", `expression: unknown name "b01" at 0`},
		{"nir - red", `expression: unknown name "nir" at 0`},
		{"sqr(b1)", `expression: unknown function "sqr" at 0`},
		{"sqrt(b1, b2)", `expression: 2 arguments, want 1, to "sqrt" at 0`},
		{"min(b1)", `expression: 1 arguments, want at least 2, to "min" at 0`},
		{"1..5 + b1", `expression: invalid number "1..5" at 0`},
		{"where(b1 > 0, 1 0)", `expression: unexpected "0" at 16`},
		{strings.Repeat("(", 20000), `expression: longer than 16384 bytes at 16384`},
	} {
		t.Run(c.expr, func(t *testing.T) {
			_, err := ParseExpr(c.expr)
			require.Error(t, err)
			assert.EqualError(t, err, c.msg)
			assert.ErrorIs(t, err, ErrExpr)
			var xe *ExprError
			assert.True(t, errors.As(err, &xe))
		})
	}
}

// evalScalar evaluates an expression for one pixel whose bands all hold b.
func evalScalar(t *testing.T, expr string, b float64) float64 {
	t.Helper()
	e, err := ParseExpr(expr)
	require.NoError(t, err)
	p := compileExpr(e.root)
	regs := make([][]float64, p.nregs)
	for r := range regs {
		regs[r] = []float64{p.consts[r]}
	}
	for r := range p.bandOf {
		regs[r] = []float64{b}
	}
	for i := range p.code {
		p.code[i].exec(regs, 1)
	}
	return regs[p.out][0]
}

func TestExprEvaluatesWithPrecedenceAndNaNForUndefined(t *testing.T) {
	nan := math.NaN()
	for _, c := range []struct {
		expr string
		b    float64
		want float64
	}{
		{"1 + 2 * 3", 0, 7},
		{"(1 + 2) * 3", 0, 9},
		{"-2^2", 0, -4},
		{"2^3^2", 0, 512},
		{"2^-1", 0, 0.5},
		{"10 - 4 - 3", 0, 3},
		{"12 / 4 / 3", 0, 1},
		{"7 % 4", 0, 3},
		{"b1 / 0", 5, nan},
		{"0 / 0", 0, nan},
		{"b1 % 0", 5, nan},
		{"sqrt(b1)", -4, nan},
		{"log(b1)", 0, math.Inf(-1)},
		{"min(b1, 3, 1, 2)", 4, 1},
		{"max(b1, 3, 1, 2)", 4, 4},
		{"clamp(b1, 0, 10)", 12, 10},
		{"where(b1 > 2, b1 * 10, -1)", 3, 30},
		{"where(b1 > 2, b1 * 10, -1)", 2, -1},
		{"where(b1 / 0 > 1, 1, 2)", 1, nan},
		{"where(b1 == 0, 0, 1 / b1)", 0, 0},
		{"min(1 / b1, 5)", 0, nan},
		{"b1 >= 3 && b1 < 4 || !1", 3, 1},
		{"!(b1 != 3)", 3, 1},
		{"abs(-b1) + floor(2.7) + ceil(0.2) + round(2.5)", 1, 7},
		{"atan2(1, 1) * 4 - pi", 0, 0},
		{"+b1", 2, 2},
		{"1e3 + .5 + 2E-1", 0, 1000.7},
		{"b1 * (2 + 3 * 4)", 2, 28},
	} {
		t.Run(c.expr, func(t *testing.T) {
			got := evalScalar(t, c.expr, c.b)
			if math.IsNaN(c.want) {
				assert.True(t, math.IsNaN(got), "got %v", got)
			} else {
				assert.InDelta(t, c.want, got, 1e-12)
			}
		})
	}
}

func TestExprFoldsConstants(t *testing.T) {
	e, err := ParseExpr("b1 * (2 + 3 * 4) - b3")
	require.NoError(t, err)
	p := compileExpr(e.root)
	assert.Len(t, p.code, 2, "only the multiplication by b1 and the subtraction remain")
	assert.Equal(t, 3, e.Bands())
	assert.Equal(t, "b1 * (2 + 3 * 4) - b3", e.String())
}

func FuzzParseExpr(f *testing.F) {
	for _, s := range []string{"(b2-b1)/(b2+b1)", "where(b1 > 0, sqrt(b1), -1)", "min(b1, b2, 3)^2", "1e-3*-b1",
		"!b1 || b2 && b3 != 2", ")(", "b", "clamp(b1,0,1)", "--b1", "2^^3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := ParseExpr(s)
		if err != nil {
			var xe *ExprError
			if !errors.As(err, &xe) || xe.Pos < 0 || xe.Pos > len(s) {
				t.Fatalf("%q: bad error %v", s, err)
			}
			return
		}
		if e.Bands() > 64 {
			return
		}
		r, _ := New(3, 1, max(1, e.Bands()), Float32)
		if _, err := BandMath([]*Raster{r}, s, BandMathOptions{}); err != nil {
			t.Fatalf("%q parsed but failed: %v", s, err)
		}
	})
}
