package rules

import (
	"fmt"
	"regexp"
	"strings"
)

// tokAnd and tokOr are binary operators spelled as keywords.
const (
	tokAnd tokenKind = 100 + iota
	tokOr
)

// ParseError is a syntax or validation error in an expression. Column is
// the 1-based column (in characters) of the offending token.
type ParseError struct {
	Column int
	Token  string
	Msg    string
}

func (e *ParseError) Error() string { return fmt.Sprintf("expr: column %d: %s", e.Column, e.Msg) }

// Is makes every ParseError match ErrSyntax.
func (e *ParseError) Is(target error) bool { return target == ErrSyntax }

// rangeFuncs are the functions taking one range selector, applied per series.
var rangeFuncs = map[string]bool{
	"rate": true, "increase": true, "delta": true,
	"avg_over_time": true, "min_over_time": true, "max_over_time": true,
	"sum_over_time": true, "count_over_time": true,
}

// aggregations are the operators taking an optional by clause.
var aggregations = map[string]bool{"sum": true, "min": true, "max": true, "avg": true, "count": true}

// maxDepth bounds nesting so hostile input cannot exhaust the stack.
const maxDepth = 200

type parser struct {
	toks  []token
	pos   int
	depth int
}

func (p *parser) peek() token { return p.toks[p.pos] }

func (p *parser) next() token {
	t := p.toks[p.pos]
	if t.kind != tokEOF {
		p.pos++
	}
	return t
}

func errAt(t token, format string, args ...any) *ParseError {
	return &ParseError{Column: t.col, Token: t.text, Msg: fmt.Sprintf(format, args...)}
}

// expect consumes a token of kind k, or fails naming what it wanted and
// the context ("after duration").
func (p *parser) expect(k tokenKind, want, context string) (token, error) {
	t := p.next()
	if t.kind != k {
		return t, errAt(t, "expected %q %s, found %s", want, context, t.describe())
	}
	return t, nil
}

// parseExpr parses src into a tree.
func parseExpr(src string) (node, error) {
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	// Keywords become operators only where an operator may stand; the
	// parser decides, so "and" stays usable as a label name.
	p := &parser{toks: toks}
	if p.peek().kind == tokEOF {
		return nil, errAt(p.peek(), "empty expression")
	}
	n, err := p.parseBinary(0)
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tokEOF {
		return nil, errAt(t, "unexpected %s after complete expression", t.describe())
	}
	return n, nil
}

// precedence of binary operators; higher binds tighter.
func (p *parser) binaryOp() (tokenKind, int) {
	t := p.peek()
	switch t.kind {
	case tokIdent:
		switch t.text {
		case "or":
			return tokOr, 1
		case "and":
			return tokAnd, 2
		}
	case tokEq, tokNe, tokGt, tokLt, tokGe, tokLe:
		return t.kind, 3
	case tokAdd, tokSub:
		return t.kind, 4
	case tokMul, tokDiv:
		return t.kind, 5
	}
	return 0, 0
}

// parseBinary is precedence climbing over left-associative operators.
func (p *parser) parseBinary(minPrec int) (node, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxDepth {
		return nil, errAt(p.peek(), "expression nested too deeply")
	}
	lhs, err := p.parseUnary()
	if err != nil {
		return nil, err
	}
	for {
		op, prec := p.binaryOp()
		if prec == 0 || prec <= minPrec {
			return lhs, nil
		}
		opTok := p.next()
		if p.peek().kind == tokEOF {
			return nil, errAt(p.peek(), "expected expression after %s, found end of expression", opTok.describe())
		}
		rhs, err := p.parseBinary(prec)
		if err != nil {
			return nil, err
		}
		lhs = &binary{op: op, lhs: lhs, rhs: rhs}
	}
}

func (p *parser) parseUnary() (node, error) {
	switch p.peek().kind {
	case tokSub:
		p.next()
		p.depth++
		defer func() { p.depth-- }()
		if p.depth > maxDepth {
			return nil, errAt(p.peek(), "expression nested too deeply")
		}
		arg, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		if n, ok := arg.(*numberLit); ok {
			return &numberLit{v: -n.v}, nil
		}
		return &negation{arg: arg}, nil
	case tokAdd:
		p.next()
		return p.parseUnary()
	}
	return p.parsePrimary()
}

func (p *parser) parsePrimary() (node, error) {
	t := p.next()
	switch t.kind {
	case tokNumber, tokDuration:
		return &numberLit{v: t.num}, nil
	case tokLParen:
		n, err := p.parseBinary(0)
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(tokRParen, ")", "to close \"(\""); err != nil {
			return nil, err
		}
		return n, nil
	case tokIdent:
		if t.text == "and" || t.text == "or" || t.text == "by" {
			return nil, errAt(t, "unexpected keyword %q, expected expression", t.text)
		}
		next := p.peek()
		switch {
		case aggregations[t.text] && (next.kind == tokLParen || (next.kind == tokIdent && next.text == "by")):
			return p.parseAggregate(t)
		case next.kind == tokLParen:
			return p.parseCall(t)
		}
		sel, err := p.parseSelector(t)
		if err != nil {
			return nil, err
		}
		if sel.rng > 0 {
			return nil, errAt(t, "range selector %s must be the argument of a range function such as rate", sel)
		}
		return sel, nil
	case tokEOF:
		return nil, errAt(t, "expected expression, found end of expression")
	}
	return nil, errAt(t, "unexpected %s, expected expression", t.describe())
}

func (p *parser) parseAggregate(op token) (node, error) {
	var by []string
	var err error
	if p.peek().kind == tokIdent && p.peek().text == "by" {
		p.next()
		if by, err = p.parseLabelList(); err != nil {
			return nil, err
		}
	}
	if _, err := p.expect(tokLParen, "(", "after "+op.text); err != nil {
		return nil, err
	}
	arg, err := p.parseBinary(0)
	if err != nil {
		return nil, err
	}
	if _, err := p.expect(tokRParen, ")", "to close "+op.text+"("); err != nil {
		return nil, err
	}
	if p.peek().kind == tokIdent && p.peek().text == "by" {
		if by != nil {
			return nil, errAt(p.peek(), "duplicate by clause")
		}
		p.next()
		if by, err = p.parseLabelList(); err != nil {
			return nil, err
		}
	}
	return &aggregate{op: op.text, by: by, arg: arg}, nil
}

// parseLabelList parses "(a, b, ...)", possibly empty.
func (p *parser) parseLabelList() ([]string, error) {
	if _, err := p.expect(tokLParen, "(", "after by"); err != nil {
		return nil, err
	}
	by := []string{}
	seen := map[string]bool{}
	for p.peek().kind != tokRParen {
		t := p.next()
		if t.kind != tokIdent || !validLabelName(t.text) {
			return nil, errAt(t, "expected label name in by clause, found %s", t.describe())
		}
		if seen[t.text] {
			return nil, errAt(t, "duplicate label %q in by clause", t.text)
		}
		seen[t.text] = true
		by = append(by, t.text)
		if p.peek().kind == tokComma {
			p.next()
			continue
		}
		if p.peek().kind != tokRParen {
			n := p.next()
			return nil, errAt(n, "expected \",\" or \")\" in by clause, found %s", n.describe())
		}
	}
	p.next()
	return by, nil
}

func (p *parser) parseCall(fn token) (node, error) {
	p.next() // (
	switch {
	case rangeFuncs[fn.text]:
		t := p.next()
		if t.kind != tokIdent {
			return nil, errAt(t, "expected range selector such as metric[5m] as argument of %s, found %s", fn.text, t.describe())
		}
		if p.peek().kind == tokLParen {
			return nil, errAt(t, "%s takes a range selector such as metric[5m], not a function call", fn.text)
		}
		sel, err := p.parseSelector(t)
		if err != nil {
			return nil, err
		}
		if sel.rng == 0 {
			return nil, errAt(p.peek(), "expected range such as [5m] after %s in %s, found %s", sel, fn.text, p.peek().describe())
		}
		if _, err := p.expect(tokRParen, ")", "to close "+fn.text+"("); err != nil {
			return nil, err
		}
		return &rangeCall{fn: fn.text, sel: sel}, nil
	case fn.text == "histogram_quantile":
		t := p.next()
		q := 0.0
		switch {
		case t.kind == tokNumber:
			q = t.num
		case t.kind == tokSub && p.peek().kind == tokNumber:
			q = -p.next().num
		default:
			return nil, errAt(t, "expected quantile number as first argument of histogram_quantile, found %s", t.describe())
		}
		if q < 0 || q > 1 {
			return nil, errAt(t, "quantile %s out of range [0, 1]", t.text)
		}
		if _, err := p.expect(tokComma, ",", "after quantile"); err != nil {
			return nil, err
		}
		arg, err := p.parseBinary(0)
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(tokRParen, ")", "to close histogram_quantile("); err != nil {
			return nil, err
		}
		return &quantileCall{q: q, arg: arg}, nil
	}
	return nil, errAt(fn, "unknown function %q", fn.text)
}

// parseSelector parses name{matchers}[range] after the name token.
func (p *parser) parseSelector(name token) (*selector, error) {
	if !validMetricName(name.text) {
		return nil, errAt(name, "invalid metric name %q", name.text)
	}
	sel := &selector{name: name.text}
	if p.peek().kind == tokLBrace {
		p.next()
		for p.peek().kind != tokRBrace {
			m, err := p.parseMatcher()
			if err != nil {
				return nil, err
			}
			sel.matchers = append(sel.matchers, m)
			switch t := p.peek(); t.kind {
			case tokComma:
				p.next()
			case tokRBrace:
			default:
				p.next()
				return nil, errAt(t, "expected \",\" or \"}\" after label matcher, found %s", t.describe())
			}
		}
		p.next()
	}
	if p.peek().kind == tokLBracket {
		p.next()
		t := p.next()
		if t.kind != tokDuration {
			if t.kind == tokNumber {
				return nil, errAt(t, "duration %s needs a unit (ms, s, m, h, d)", t.text)
			}
			return nil, errAt(t, "expected duration such as 5m after \"[\", found %s", t.describe())
		}
		if t.dur <= 0 {
			return nil, errAt(t, "duration %s must be positive", t.text)
		}
		sel.rng = t.dur
		if _, err := p.expect(tokRBracket, "]", "after duration"); err != nil {
			return nil, err
		}
	}
	return sel, nil
}

func (p *parser) parseMatcher() (matcher, error) {
	t := p.next()
	if t.kind != tokIdent {
		return matcher{}, errAt(t, "expected label name, found %s", t.describe())
	}
	if !validLabelName(t.text) {
		return matcher{}, errAt(t, "invalid label name %q", t.text)
	}
	op := p.next()
	switch op.kind {
	case tokAssign, tokNe, tokRe, tokNre:
	case tokEq:
		return matcher{}, errAt(op, "expected one of =, !=, =~, !~ after label %q, found \"==\" (use \"=\")", t.text)
	default:
		return matcher{}, errAt(op, "expected one of =, !=, =~, !~ after label %q, found %s", t.text, op.describe())
	}
	v := p.next()
	if v.kind != tokString {
		return matcher{}, errAt(v, "expected quoted string after %s, found %s", op.describe(), v.describe())
	}
	m := matcher{name: t.text, op: op.kind, value: v.str}
	if op.kind == tokRe || op.kind == tokNre {
		_, err := regexp.Compile(v.str)
		if err == nil {
			m.re, err = regexp.Compile("^(?:" + v.str + ")$")
		}
		if err != nil {
			msg := err.Error()
			msg = strings.TrimPrefix(msg, "error parsing regexp: ")
			return matcher{}, errAt(v, "invalid regular expression %s: %s", v.text, msg)
		}
	}
	return m, nil
}
