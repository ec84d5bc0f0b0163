package rules

// binary evaluates arithmetic, comparisons, and, or. Raw operands are
// summed first. Elements pair up by identical labels; a single unlabelled
// operand pairs with every element of the other side.
func (ev *evaluator) binary(b *binary) vector {
	lhs := ev.eval(b.lhs).collapse()
	rhs := ev.eval(b.rhs).collapse()
	switch b.op {
	case tokAnd:
		out := vector{scalar: lhs.scalar && rhs.scalar}
		for _, el := range lhs.elems {
			if _, ok := partner(el, rhs); ok {
				out.elems = append(out.elems, el)
			}
		}
		return out
	case tokOr:
		out := vector{elems: append([]element(nil), lhs.elems...), scalar: lhs.scalar && rhs.scalar}
		seen := map[string]bool{}
		for _, el := range lhs.elems {
			seen[labelsKey(el.labels)] = true
		}
		if lhs.broadcast() {
			return out
		}
		for _, el := range rhs.elems {
			if !seen[labelsKey(el.labels)] {
				out.elems = append(out.elems, el)
			}
		}
		return out
	}
	// Iterate the labelled side so its labels survive.
	outer, inner, swapped := lhs, rhs, false
	if lhs.broadcast() && !rhs.broadcast() {
		outer, inner, swapped = rhs, lhs, true
	}
	out := vector{scalar: lhs.scalar && rhs.scalar}
	for _, el := range outer.elems {
		other, ok := partner(el, inner)
		if !ok {
			continue
		}
		l, r := el.v, other.v
		if swapped {
			l, r = r, l
		}
		if isComparison(b.op) {
			if !compare(b.op, l, r) {
				continue
			}
			// The non-literal side's value is the evidence.
			v := l
			if lhs.scalar && !rhs.scalar {
				v = r
			}
			out.elems = append(out.elems, element{labels: el.labels, v: v})
			continue
		}
		v, ok := arith(b.op, l, r)
		if !ok {
			continue
		}
		out.elems = append(out.elems, element{labels: el.labels, v: v})
	}
	return out
}

// partner finds the element of other that el combines with.
func partner(el element, other vector) (element, bool) {
	if other.broadcast() {
		return other.elems[0], true
	}
	k := labelsKey(el.labels)
	for _, o := range other.elems {
		if labelsKey(o.labels) == k {
			return o, true
		}
	}
	return element{}, false
}

func isComparison(op tokenKind) bool {
	switch op {
	case tokEq, tokNe, tokGt, tokLt, tokGe, tokLe:
		return true
	}
	return false
}

func compare(op tokenKind, l, r float64) bool {
	switch op {
	case tokEq:
		return l == r
	case tokNe:
		return l != r
	case tokGt:
		return l > r
	case tokLt:
		return l < r
	case tokGe:
		return l >= r
	case tokLe:
		return l <= r
	}
	return false
}

// arith applies + - * /; division by zero has no value.
func arith(op tokenKind, l, r float64) (float64, bool) {
	switch op {
	case tokAdd:
		return l + r, true
	case tokSub:
		return l - r, true
	case tokMul:
		return l * r, true
	case tokDiv:
		if r == 0 {
			return 0, false
		}
		return l / r, true
	}
	return 0, false
}
