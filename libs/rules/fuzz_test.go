package rules

import (
	"errors"
	"testing"
)

// FuzzParseExpr checks that no input panics the parser or the evaluator,
// that errors always carry a column inside the input, and that the
// canonical form of a valid expression parses to itself.
func FuzzParseExpr(f *testing.F) {
	for _, seed := range []string{
		`rate(task_failed{op="hillshade"}[1m]) / rate(task_done[1m]) > 0.1`,
		`histogram_quantile(0.99, sum by (op, le) (rate(task_duration_seconds_bucket{op=~"hill.*"}[5m])))`,
		`max by (op) (avg_over_time(queue_depth[10m])) >= 100 and up == 1 or -x != 2`,
		`delta(g[1h30m]) < -5m`,
		`x{a!~'b|c', d!="e"}`,
		`sum(x) by (a)`,
		`((((1))))`,
		`rate(x[5m)`,
		`rte(x[1m])`,
		`x{a="\u00e9"}`,
	} {
		f.Add(seed)
	}
	s, err := NewStore()
	if err != nil {
		f.Fatal(err)
	}
	for i, v := range []float64{1, 5, 3} {
		_ = s.Append("x", map[string]string{"a": "b", "le": "1"}, at(float64(i)), v)
		_ = s.Append("g", nil, at(float64(i)), v)
	}
	f.Fuzz(func(t *testing.T, src string) {
		e, err := ParseExpr(src)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is not a *ParseError", err)
			}
			if pe.Column < 1 || pe.Column > len([]rune(src))+1 {
				t.Fatalf("column %d outside input of %d characters", pe.Column, len([]rune(src)))
			}
			return
		}
		canon := e.String()
		again, err := ParseExpr(canon)
		if err != nil {
			t.Fatalf("canonical form %q of %q does not parse: %v", canon, src, err)
		}
		if again.String() != canon {
			t.Fatalf("canonical form not stable: %q → %q", canon, again.String())
		}
		e.Eval(s, at(2), 0)
	})
}
