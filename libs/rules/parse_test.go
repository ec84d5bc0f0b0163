package rules

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseExprCanonicalForm(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{`up`, `up`},
		{`task_done{op="hillshade", tier!="b"}`, `task_done{op="hillshade", tier!="b"}`},
		{`x{a=~"h.*", b!~'c|d'}`, `x{a=~"h.*", b!~"c|d"}`},
		{`rate(task_done[1m])`, `rate(task_done[1m])`},
		{`increase(x[1h30m])`, `increase(x[1h30m])`},
		{`1 + 2 * 3`, `(1 + (2 * 3))`},
		{`(1 + 2) * 3`, `((1 + 2) * 3)`},
		{`a - b - c`, `((a - b) - c)`},
		{`a / b > 0.1`, `((a / b) > 0.1)`},
		{`a > 1 and b < 2 or c`, `(((a > 1) and (b < 2)) or c)`},
		{`-a`, `-(a)`},
		{`-2`, `-2`},
		{`sum by (op) (rate(x[5m]))`, `sum by (op) (rate(x[5m]))`},
		{`max(x) by (op, tier)`, `max by (op, tier) (x)`},
		{`avg(x)`, `avg (x)`},
		{`histogram_quantile(0.99, rate(d_bucket{op="h"}[5m]))`, `histogram_quantile(0.99, rate(d_bucket{op="h"}[5m]))`},
		{`x > 5m`, `(x > 300)`},
		{`x < 250ms`, `(x < 0.25)`},
		{`1e3 + .5`, `(1000 + 0.5)`},
		{`x{and="1"}`, `x{and="1"}`},
		{"x{a=`raw\\d`}", `x{a="raw\\d"}`},
		{`ns:metric_rate1m`, `ns:metric_rate1m`},
		{`delta(g[1d])`, `delta(g[1d])`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			e, err := ParseExpr(tt.in)
			require.NoError(t, err)
			assert.Equal(t, tt.want, e.String())
			again, err := ParseExpr(e.String())
			require.NoError(t, err, "canonical form must parse")
			assert.Equal(t, e.String(), again.String())
		})
	}
}

func TestParseExprErrorsPointAtTheBadToken(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{`rate(task_done[1m]) / rte(x[1m])`, `expr: column 23: unknown function "rte"`},
		{`rate(task_done[1m)`, `expr: column 18: expected "]" after duration, found ")"`},
		{`rate(task_done)`, `expr: column 15: expected range such as [5m] after task_done in rate, found ")"`},
		{`rate(task_done[0s])`, `expr: column 16: duration 0s must be positive`},
		{`rate(task_done[5])`, `expr: column 16: duration 5 needs a unit (ms, s, m, h, d)`},
		{`rate(x[5y])`, `expr: column 8: invalid duration "5y": want integers with units ms, s, m, h, d`},
		{`rate(x[5m30h])`, `expr: column 8: invalid duration "5m30h": want integers with units ms, s, m, h, d`},
		{`task_done[5m]`, `expr: column 1: range selector task_done[5m] must be the argument of a range function such as rate`},
		{`x{op="a"`, `expr: column 9: expected "," or "}" after label matcher, found end of expression`},
		{`x{op="a" tier="b"}`, `expr: column 10: expected "," or "}" after label matcher, found "tier"`},
		{`x{op=="a"}`, `expr: column 5: expected one of =, !=, =~, !~ after label "op", found "==" (use "=")`},
		{`x{op=a}`, `expr: column 6: expected quoted string after "=", found "a"`},
		{`x{op=~"(("}`, `expr: column 7: invalid regular expression "((": missing closing ): ` + "`((`"},
		{`x{9op="a"}`, `expr: column 3: invalid duration "9op": want integers with units ms, s, m, h, d`},
		{`x{op="a}`, `expr: column 6: unterminated string`},
		{`1 +`, `expr: column 4: expected expression after "+", found end of expression`},
		{`(1 + 2`, `expr: column 7: expected ")" to close "(", found end of expression`},
		{`1 2`, `expr: column 3: unexpected "2" after complete expression`},
		{``, `expr: column 1: empty expression`},
		{`   `, `expr: column 4: empty expression`},
		{`x # y`, `expr: column 3: unexpected character '#'`},
		{`sum by (op (x)`, `expr: column 12: expected "," or ")" in by clause, found "("`},
		{`sum by (op, op) (x)`, `expr: column 13: duplicate label "op" in by clause`},
		{`sum by (1) (x)`, `expr: column 9: expected label name in by clause, found "1"`},
		{`sum by (a) (x) by (b)`, `expr: column 16: duplicate by clause`},
		{`histogram_quantile(1.5, rate(x[1m]))`, `expr: column 20: quantile 1.5 out of range [0, 1]`},
		{`histogram_quantile(x, rate(x[1m]))`, `expr: column 20: expected quantile number as first argument of histogram_quantile, found "x"`},
		{`histogram_quantile(0.5 rate(x[1m]))`, `expr: column 24: expected "," after quantile, found "rate"`},
		{`rate(rate(x[1m]))`, `expr: column 6: rate takes a range selector such as metric[5m], not a function call`},
		{`rate(1)`, `expr: column 6: expected range selector such as metric[5m] as argument of rate, found "1"`},
		{`x and`, `expr: column 6: expected expression after "and", found end of expression`},
		{`and x`, `expr: column 1: unexpected keyword "and", expected expression`},
		{`x > > 1`, `expr: column 5: unexpected ">", expected expression`},
		{`1.2.3`, `expr: column 1: invalid number "1.2.3"`},
		{`x ∑ y`, `expr: column 3: unexpected character '∑'`},
		{`é > 1`, `expr: column 1: unexpected character 'é'`},
		{`"a" > 1`, `expr: column 1: unexpected "\"a\"", expected expression`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := ParseExpr(tt.in)
			require.Error(t, err)
			assert.Equal(t, tt.want, err.Error())
			assert.ErrorIs(t, err, ErrSyntax)
			var pe *ParseError
			require.True(t, errors.As(err, &pe))
			assert.Positive(t, pe.Column)
		})
	}
}

func TestParseErrorColumnCountsCharacters(t *testing.T) {
	_, err := ParseExpr(`x{a="é"} + rte(x[1m])`)
	var pe *ParseError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, 12, pe.Column)
	assert.Equal(t, "rte", pe.Token)
}

func TestParseExprRejectsDeepNesting(t *testing.T) {
	deep := ""
	for range 10000 {
		deep += "("
	}
	_, err := ParseExpr(deep + "1")
	require.ErrorIs(t, err, ErrSyntax)
	assert.Contains(t, err.Error(), "nested too deeply")

	neg := ""
	for range 10000 {
		neg += "-"
	}
	_, err = ParseExpr(neg + "x")
	assert.ErrorIs(t, err, ErrSyntax)
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		err  bool
	}{
		{"90s", 90 * time.Second, false},
		{"1h30m", 90 * time.Minute, false},
		{"1d", 24 * time.Hour, false},
		{"250ms", 250 * time.Millisecond, false},
		{"1m30s500ms", 90*time.Second + 500*time.Millisecond, false},
		{"1.5h", 0, true},
		{"5", 0, true},
		{"m", 0, true},
		{"1s1m", 0, true},
		{"99999999999999999d", 0, true},
		{"", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			d, err := ParseDuration(tt.in)
			if tt.err {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, d)
		})
	}
}
