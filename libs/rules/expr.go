package rules

import (
	"fmt"
	"sort"
	"time"
)

// DefaultStaleness is how old the latest sample of a series may be for an
// instant selector to still see it.
const DefaultStaleness = 5 * time.Minute

// Expr is a parsed expression. It is immutable and safe for concurrent use.
type Expr struct {
	root node
}

// ParseExpr parses and validates an expression. Errors are *ParseError
// (matching ErrSyntax) of the form `expr: column 14: unknown function "rte"`.
func ParseExpr(src string) (*Expr, error) {
	root, err := parseExpr(src)
	if err != nil {
		return nil, err
	}
	return &Expr{root: root}, nil
}

// String renders the expression in canonical form, fully parenthesised.
// Parsing it again yields the same expression.
func (e *Expr) String() string { return e.root.String() }

// Result is one value of an evaluated expression. Labels is empty for the
// default (summed) result and holds the group's labels for "by" aggregations.
type Result struct {
	Labels map[string]string `json:"labels,omitempty"`
	Value  float64           `json:"value"`
}

// Eval evaluates the expression against s at time now. Instant selectors
// see the latest sample no older than staleness (DefaultStaleness when
// staleness <= 0). An empty result means "no value": nothing matched, a
// division by zero, or a comparison that held for no group. Results are
// sorted by labels.
func (e *Expr) Eval(s *Store, now time.Time, staleness time.Duration) []Result {
	if staleness <= 0 {
		staleness = DefaultStaleness
	}
	ev := &evaluator{store: s, now: now, staleness: staleness}
	v := ev.eval(e.root).collapse()
	out := make([]Result, len(v.elems))
	for i, el := range v.elems {
		out[i] = Result{Labels: el.labels, Value: el.v}
	}
	sort.Slice(out, func(i, j int) bool { return labelsKey(out[i].Labels) < labelsKey(out[j].Labels) })
	return out
}

// element is one value with its labels.
type element struct {
	labels map[string]string
	v      float64
}

// vector is an intermediate result. A raw vector holds one element per
// stored series and is summed into a single unlabelled value wherever it is
// used, unless an aggregation consumes it first. A grouped vector carries
// meaningful group labels. A scalar vector is a number literal (or
// arithmetic on literals only).
type vector struct {
	elems  []element
	raw    bool
	scalar bool
}

// collapse sums a raw vector into one unlabelled element (or none).
func (v vector) collapse() vector {
	if !v.raw {
		return v
	}
	if len(v.elems) == 0 {
		return vector{}
	}
	sum := 0.0
	for _, el := range v.elems {
		sum += el.v
	}
	return vector{elems: []element{{v: sum}}}
}

// broadcast reports whether v is a single unlabelled value that combines
// with every element of the other operand.
func (v vector) broadcast() bool { return len(v.elems) == 1 && len(v.elems[0].labels) == 0 }

type evaluator struct {
	store     *Store
	now       time.Time
	staleness time.Duration
}

func (ev *evaluator) eval(n node) vector {
	switch n := n.(type) {
	case *numberLit:
		return vector{elems: []element{{v: n.v}}, scalar: true}
	case *selector:
		return ev.instant(n)
	case *rangeCall:
		return ev.rangeFunc(n)
	case *aggregate:
		return ev.aggregate(n)
	case *quantileCall:
		return ev.quantile(n)
	case *negation:
		v := ev.eval(n.arg).collapse()
		out := vector{scalar: v.scalar}
		for _, el := range v.elems {
			out.elems = append(out.elems, element{labels: el.labels, v: -el.v})
		}
		return out
	case *binary:
		return ev.binary(n)
	}
	panic(fmt.Sprintf("rules: unhandled node %T", n)) // unreachable: the parser builds only the nodes above
}

func (ev *evaluator) instant(sel *selector) vector {
	out := vector{raw: true}
	for _, s := range ev.store.Select(sel.name, sel.matches, ev.now.Add(-ev.staleness), ev.now) {
		out.elems = append(out.elems, element{labels: s.Labels, v: s.Points[len(s.Points)-1].V})
	}
	return out
}

// matches reports whether a series' labels satisfy every matcher. An absent
// label matches as the empty string.
func (sel *selector) matches(labels map[string]string) bool {
	for _, m := range sel.matchers {
		v := labels[m.name]
		var ok bool
		switch m.op {
		case tokAssign:
			ok = v == m.value
		case tokNe:
			ok = v != m.value
		case tokRe:
			ok = m.re.MatchString(v)
		case tokNre:
			ok = !m.re.MatchString(v)
		}
		if !ok {
			return false
		}
	}
	return true
}
