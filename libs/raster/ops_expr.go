package raster

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Band math expressions, per pixel:
//
//	b1, b2, …     the bands of the inputs, numbered across the inputs in
//	              order (two one-band rasters: b1 and b2)
//	3, 0.5, 1e-3  numbers; pi
//	+ - * / % ^   arithmetic (^ is power, right-associative and above
//	              unary minus: -2^2 is -4)
//	< <= > >= == != && || !   comparisons and logic: 1 true, 0 false
//	( )           grouping
//	functions     sqrt abs exp log (natural) log10 floor ceil round sin cos
//	              tan atan atan2(y, x) min(a, b, …) max(a, b, …)
//	              clamp(x, lo, hi) where(cond, a, b)
//
// A result that is not a finite number (division by zero, log of a
// negative, …) is nodata; see BandMath.

// ExprError is an error in an expression at byte offset Pos (from 0).
type ExprError struct {
	Pos   int
	Token string // the offending token, if any
	Msg   string // what is wrong, e.g. "unexpected", "unexpected end"
}

func (e *ExprError) Error() string {
	if e.Token == "" {
		return fmt.Sprintf("expression: %s at %d", e.Msg, e.Pos)
	}
	return fmt.Sprintf("expression: %s %q at %d", e.Msg, e.Token, e.Pos)
}

// Unwrap makes errors.Is(err, ErrExpr) hold.
func (e *ExprError) Unwrap() error { return ErrExpr }

// exprNode is a parsed expression: a number, a band, or an operator or
// function applied to args.
type exprNode struct {
	op   string // "num", "band", an operator, or a function name
	num  float64
	band int // 0-based
	args []*exprNode
	pos  int
}

// exprToken kinds.
const (
	exprTokEnd = iota
	exprTokNum
	exprTokIdent
	exprTokOp
)

type exprToken struct {
	kind int
	text string
	pos  int
}

// lexExpr splits s into tokens.
func lexExpr(s string) ([]exprToken, error) {
	var toks []exprToken
	for i := 0; i < len(s); {
		c := rune(s[i])
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c >= '0' && c <= '9' || c == '.':
			j := i
			for j < len(s) && (isExprDigit(s[j]) || s[j] == '.') {
				j++
			}
			if j < len(s) && (s[j] == 'e' || s[j] == 'E') {
				k := j + 1
				if k < len(s) && (s[k] == '+' || s[k] == '-') {
					k++
				}
				if k < len(s) && isExprDigit(s[k]) {
					for j = k; j < len(s) && isExprDigit(s[j]); j++ {
					}
				}
			}
			toks = append(toks, exprToken{exprTokNum, s[i:j], i})
			i = j
		case isExprLetter(s[i]):
			j := i
			for j < len(s) && (isExprLetter(s[j]) || isExprDigit(s[j])) {
				j++
			}
			toks = append(toks, exprToken{exprTokIdent, s[i:j], i})
			i = j
		case i+1 < len(s) && exprTwoCharOps[s[i:i+2]]:
			toks = append(toks, exprToken{exprTokOp, s[i : i+2], i})
			i += 2
		case strings.ContainsRune("+-*/%^()<>!,", c):
			toks = append(toks, exprToken{exprTokOp, s[i : i+1], i})
			i++
		default:
			_, size := utf8.DecodeRuneInString(s[i:])
			return nil, &ExprError{Pos: i, Token: s[i : i+size], Msg: "unexpected character"}
		}
	}
	return append(toks, exprToken{kind: exprTokEnd, pos: len(s)}), nil
}

var exprTwoCharOps = map[string]bool{"<=": true, ">=": true, "==": true, "!=": true, "&&": true, "||": true}

func isExprDigit(c byte) bool  { return c >= '0' && c <= '9' }
func isExprLetter(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// exprParser is a recursive descent parser over the tokens; each level of
// precedence, lowest first, is one method.
type exprParser struct {
	toks []exprToken
	i    int
}

// maxExprLen bounds an expression, and with it the parser's recursion.
const maxExprLen = 1 << 14

// parseExpr parses s into a tree.
func parseExpr(s string) (*exprNode, error) {
	if len(s) > maxExprLen {
		return nil, &ExprError{Pos: maxExprLen, Msg: fmt.Sprintf("longer than %d bytes", maxExprLen)}
	}
	toks, err := lexExpr(s)
	if err != nil {
		return nil, err
	}
	p := &exprParser{toks: toks}
	n, err := p.binary(0)
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != exprTokEnd {
		return nil, p.unexpected(t)
	}
	return n, nil
}

func (p *exprParser) peek() exprToken { return p.toks[p.i] }
func (p *exprParser) next() exprToken { t := p.toks[p.i]; p.i++; return t }

func (p *exprParser) unexpected(t exprToken) error {
	if t.kind == exprTokEnd {
		return &ExprError{Pos: t.pos, Msg: "unexpected end"}
	}
	return &ExprError{Pos: t.pos, Token: t.text, Msg: "unexpected"}
}

// exprLevels are the binary operators by precedence, lowest first.
var exprLevels = [][]string{{"||"}, {"&&"}, {"<", "<=", ">", ">=", "==", "!="}, {"+", "-"}, {"*", "/", "%"}}

// binary parses a left-associative chain of the operators of level and
// above.
func (p *exprParser) binary(level int) (*exprNode, error) {
	if level == len(exprLevels) {
		return p.unary()
	}
	left, err := p.binary(level + 1)
	if err != nil {
		return nil, err
	}
	for t := p.peek(); t.kind == exprTokOp && hasOp(exprLevels[level], t.text); t = p.peek() {
		p.next()
		right, err := p.binary(level + 1)
		if err != nil {
			return nil, err
		}
		left = &exprNode{op: t.text, args: []*exprNode{left, right}, pos: t.pos}
	}
	return left, nil
}

func hasOp(ops []string, op string) bool {
	for _, o := range ops {
		if o == op {
			return true
		}
	}
	return false
}

// unary parses prefix - + ! and then a power.
func (p *exprParser) unary() (*exprNode, error) {
	if t := p.peek(); t.kind == exprTokOp && (t.text == "-" || t.text == "+" || t.text == "!") {
		p.next()
		arg, err := p.unary()
		if err != nil || t.text == "+" {
			return arg, err
		}
		op := "neg"
		if t.text == "!" {
			op = "not"
		}
		return &exprNode{op: op, args: []*exprNode{arg}, pos: t.pos}, nil
	}
	base, err := p.primary()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind == exprTokOp && t.text == "^" {
		p.next()
		exp, err := p.unary() // right-associative: 2^3^2 is 2^9
		if err != nil {
			return nil, err
		}
		return &exprNode{op: "^", args: []*exprNode{base, exp}, pos: t.pos}, nil
	}
	return base, nil
}

// primary parses a number, a band, a constant, a function call or a
// parenthesised expression.
func (p *exprParser) primary() (*exprNode, error) {
	t := p.next()
	switch {
	case t.kind == exprTokNum:
		v, err := strconv.ParseFloat(t.text, 64)
		if err != nil {
			return nil, &ExprError{Pos: t.pos, Token: t.text, Msg: "invalid number"}
		}
		return &exprNode{op: "num", num: v, pos: t.pos}, nil
	case t.kind == exprTokOp && t.text == "(":
		n, err := p.binary(0)
		if err != nil {
			return nil, err
		}
		if c := p.next(); c.text != ")" || c.kind != exprTokOp {
			return nil, p.unexpected(c)
		}
		return n, nil
	case t.kind != exprTokIdent:
		return nil, p.unexpected(t)
	case p.peek().text == "(" && p.peek().kind == exprTokOp:
		return p.call(t)
	case t.text == "pi":
		return &exprNode{op: "num", num: math.Pi, pos: t.pos}, nil
	}
	if b, err := strconv.Atoi(strings.TrimPrefix(t.text, "b")); err == nil && t.text[0] == 'b' && b >= 1 && t.text[1] != '0' {
		return &exprNode{op: "band", band: b - 1, pos: t.pos}, nil
	}
	return nil, &ExprError{Pos: t.pos, Token: t.text, Msg: "unknown name"}
}

// call parses the arguments of function name, whose "(" is next.
func (p *exprParser) call(name exprToken) (*exprNode, error) {
	arity, ok := exprFuncArity[name.text]
	if !ok {
		return nil, &ExprError{Pos: name.pos, Token: name.text, Msg: "unknown function"}
	}
	p.next() // (
	n := &exprNode{op: name.text, pos: name.pos}
	for {
		arg, err := p.binary(0)
		if err != nil {
			return nil, err
		}
		n.args = append(n.args, arg)
		if t := p.next(); t.kind != exprTokOp || t.text != "," && t.text != ")" {
			return nil, p.unexpected(t)
		} else if t.text == ")" {
			break
		}
	}
	if arity > 0 && len(n.args) != arity || arity < 0 && len(n.args) < -arity {
		want := fmt.Sprint(arity)
		if arity < 0 {
			want = fmt.Sprintf("at least %d", -arity)
		}
		return nil, &ExprError{Pos: name.pos, Token: name.text,
			Msg: fmt.Sprintf("%d arguments, want %s, to", len(n.args), want)}
	}
	return n, nil
}
