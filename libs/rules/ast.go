package rules

import (
	"regexp"
	"strconv"
	"strings"
	"time"
)

// node is an expression tree node. String renders it back in canonical
// syntax (so parse(String()) yields an equal tree).
type node interface {
	String() string
}

type numberLit struct{ v float64 }

type matcher struct {
	name  string
	op    tokenKind // tokAssign, tokNe, tokRe, tokNre
	value string
	re    *regexp.Regexp // anchored, for tokRe and tokNre
}

type selector struct {
	name     string
	matchers []matcher
	rng      time.Duration // > 0 for a range selector
}

// rangeCall applies a range function (rate, increase, ...) per series.
type rangeCall struct {
	fn  string
	sel *selector
}

type quantileCall struct {
	q   float64
	arg node
}

type aggregate struct {
	op  string // sum, min, max, avg, count
	by  []string
	arg node
}

type binary struct {
	op       tokenKind
	lhs, rhs node
}

type negation struct{ arg node }

var opText = map[tokenKind]string{
	tokAdd: "+", tokSub: "-", tokMul: "*", tokDiv: "/", tokEq: "==", tokNe: "!=",
	tokGt: ">", tokLt: "<", tokGe: ">=", tokLe: "<=", tokAssign: "=", tokRe: "=~", tokNre: "!~",
}

func (n *numberLit) String() string { return strconv.FormatFloat(n.v, 'g', -1, 64) }

func (m matcher) String() string {
	return m.name + opText[m.op] + strconv.Quote(m.value)
}

func (s *selector) String() string {
	var b strings.Builder
	b.WriteString(s.name)
	if len(s.matchers) > 0 {
		parts := make([]string, len(s.matchers))
		for i, m := range s.matchers {
			parts[i] = m.String()
		}
		b.WriteString("{" + strings.Join(parts, ", ") + "}")
	}
	if s.rng > 0 {
		b.WriteString("[" + formatDuration(s.rng) + "]")
	}
	return b.String()
}

func (c *rangeCall) String() string { return c.fn + "(" + c.sel.String() + ")" }

func (c *quantileCall) String() string {
	return "histogram_quantile(" + strconv.FormatFloat(c.q, 'g', -1, 64) + ", " + c.arg.String() + ")"
}

func (a *aggregate) String() string {
	by := ""
	if a.by != nil {
		by = " by (" + strings.Join(a.by, ", ") + ")"
	}
	return a.op + by + " (" + a.arg.String() + ")"
}

func (b *binary) String() string {
	op := opText[b.op]
	switch b.op {
	case tokAnd:
		op = "and"
	case tokOr:
		op = "or"
	}
	return "(" + b.lhs.String() + " " + op + " " + b.rhs.String() + ")"
}

func (n *negation) String() string { return "-(" + n.arg.String() + ")" }

// formatDuration renders d in the expression syntax, e.g. 1h30m, 250ms.
func formatDuration(d time.Duration) string {
	if d == 0 {
		return "0s"
	}
	var b strings.Builder
	for _, u := range durationUnits {
		if n := d / u.d; n > 0 {
			b.WriteString(strconv.FormatInt(int64(n), 10) + u.name)
			d -= n * u.d
		}
	}
	return b.String()
}
