package rules

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

type tokenKind int

const (
	tokEOF tokenKind = iota
	tokIdent
	tokNumber
	tokDuration
	tokString
	tokLBrace   // {
	tokRBrace   // }
	tokLParen   // (
	tokRParen   // )
	tokLBracket // [
	tokRBracket // ]
	tokComma    // ,
	tokAdd      // +
	tokSub      // -
	tokMul      // *
	tokDiv      // /
	tokEq       // ==
	tokNe       // !=
	tokGt       // >
	tokLt       // <
	tokGe       // >=
	tokLe       // <=
	tokAssign   // =
	tokRe       // =~
	tokNre      // !~
)

// token is one lexeme; col is its 1-based column (in runes) in the input.
type token struct {
	kind tokenKind
	text string
	col  int
	num  float64       // tokNumber; tokDuration in seconds
	dur  time.Duration // tokDuration
	str  string        // tokString, unquoted
}

// describe is how a token is named in error messages.
func (t token) describe() string {
	if t.kind == tokEOF {
		return "end of expression"
	}
	return strconv.Quote(t.text)
}

// lex splits src into tokens, ending with tokEOF.
func lex(src string) ([]token, error) {
	var toks []token
	col := 1
	i := 0
	for i < len(src) {
		r, w := utf8.DecodeRuneInString(src[i:])
		start, startCol := i, col
		emit := func(k tokenKind, n int) {
			toks = append(toks, token{kind: k, text: src[start : start+n], col: startCol})
			i = start + n
			col += utf8.RuneCountInString(src[start : start+n])
		}
		two := ""
		if i+1 < len(src) {
			two = src[i : i+2]
		}
		switch {
		case r == ' ' || r == '\t' || r == '\n' || r == '\r':
			i += w
			col++
		case two == "==":
			emit(tokEq, 2)
		case two == "!=":
			emit(tokNe, 2)
		case two == ">=":
			emit(tokGe, 2)
		case two == "<=":
			emit(tokLe, 2)
		case two == "=~":
			emit(tokRe, 2)
		case two == "!~":
			emit(tokNre, 2)
		case strings.ContainsRune("{}()[],+-*/><=", r):
			emit(map[rune]tokenKind{
				'{': tokLBrace, '}': tokRBrace, '(': tokLParen, ')': tokRParen,
				'[': tokLBracket, ']': tokRBracket, ',': tokComma, '+': tokAdd,
				'-': tokSub, '*': tokMul, '/': tokDiv, '>': tokGt, '<': tokLt, '=': tokAssign,
			}[r], 1)
		case r == '"' || r == '\'' || r == '`':
			n, s, err := scanString(src[i:])
			if err != nil {
				return nil, &ParseError{Column: startCol, Token: src[i:], Msg: err.Error()}
			}
			emit(tokString, n)
			toks[len(toks)-1].str = s
		case isDigit(r) || (r == '.' && i+1 < len(src) && isDigit(rune(src[i+1]))):
			t, err := scanNumber(src[i:])
			if err != nil {
				return nil, &ParseError{Column: startCol, Token: t.text, Msg: err.Error()}
			}
			n := len(t.text)
			emit(t.kind, n)
			last := &toks[len(toks)-1]
			last.num, last.dur = t.num, t.dur
		case r == '_' || r == ':' || isLetter(r):
			n := 0
			for n < len(src)-i {
				c := rune(src[i+n])
				if c != '_' && c != ':' && !isLetter(c) && !isDigit(c) {
					break
				}
				n++
			}
			emit(tokIdent, n)
		default:
			return nil, &ParseError{Column: startCol, Token: string(r), Msg: fmt.Sprintf("unexpected character %q", r)}
		}
	}
	toks = append(toks, token{kind: tokEOF, col: col})
	return toks, nil
}

// scanString reads a quoted string at the start of s, returning its length
// in bytes and its unquoted value.
func scanString(s string) (int, string, error) {
	q := s[0]
	for i := 1; i < len(s); i++ {
		switch {
		case s[i] == '\\' && q != '`':
			i++
		case s[i] == '\n' && q != '`':
			return 0, "", fmt.Errorf("unterminated string")
		case s[i] == q:
			lit := s[:i+1]
			if q == '\'' {
				// strconv only unquotes single-quoted runes; re-quote.
				lit = `"` + strings.ReplaceAll(strings.ReplaceAll(lit[1:i], `\'`, `'`), `"`, `\"`) + `"`
			}
			v, err := strconv.Unquote(lit)
			if err != nil {
				return 0, "", fmt.Errorf("invalid string %s", s[:i+1])
			}
			return i + 1, v, nil
		}
	}
	return 0, "", fmt.Errorf("unterminated string")
}

// durationUnits in the order they may appear in a compound duration.
var durationUnits = []struct {
	name string
	d    time.Duration
}{{"d", 24 * time.Hour}, {"h", time.Hour}, {"m", time.Minute}, {"s", time.Second}, {"ms", time.Millisecond}}

// scanNumber reads a number (1, 0.5, .5, 1e3) or a duration (5m, 1h30m,
// 250ms) at the start of s. Only text is set on error.
func scanNumber(s string) (token, error) {
	end := func(from int, pred func(byte) bool) int {
		for from < len(s) && pred(s[from]) {
			from++
		}
		return from
	}
	digit := func(c byte) bool { return c >= '0' && c <= '9' }
	alnum := func(c byte) bool { return digit(c) || isLetter(rune(c)) || c == '_' || c == '.' }
	n := end(0, digit)
	// A duration: integer followed by a unit, possibly repeated.
	if n < len(s) && n > 0 && isLetter(rune(s[n])) && s[n] != 'e' && s[n] != 'E' {
		whole := end(n, alnum)
		text := s[:whole]
		d, err := parseDuration(text)
		if err != nil {
			return token{text: text}, err
		}
		return token{kind: tokDuration, text: text, dur: d, num: d.Seconds()}, nil
	}
	if n < len(s) && s[n] == '.' {
		n = end(n+1, digit)
	}
	if n < len(s) && (s[n] == 'e' || s[n] == 'E') {
		m := n + 1
		if m < len(s) && (s[m] == '+' || s[m] == '-') {
			m++
		}
		if m < len(s) && digit(s[m]) {
			n = end(m, digit)
		}
	}
	text := s[:n]
	if n < len(s) && alnum(s[n]) {
		whole := end(n, alnum)
		return token{text: s[:whole]}, fmt.Errorf("invalid number %q", s[:whole])
	}
	v, err := strconv.ParseFloat(text, 64)
	if err != nil {
		return token{text: text}, fmt.Errorf("invalid number %q", text)
	}
	return token{kind: tokNumber, text: text, num: v}, nil
}

// parseDuration parses integer-unit sequences in decreasing unit order, e.g.
// 1h30m, 90s, 250ms, 1d.
func parseDuration(s string) (time.Duration, error) {
	if s == "" {
		return 0, fmt.Errorf("empty duration")
	}
	var total time.Duration
	rest := s
	next := 0 // index into durationUnits: units must decrease
	for rest != "" {
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 0 || i == len(rest) {
			return 0, fmt.Errorf("invalid duration %q: want integers with units ms, s, m, h, d", s)
		}
		n, err := strconv.ParseInt(rest[:i], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("invalid duration %q: %v", s, err)
		}
		rest = rest[i:]
		found := false
		for k := next; k < len(durationUnits); k++ {
			u := durationUnits[k]
			if strings.HasPrefix(rest, u.name) && !(u.name == "m" && strings.HasPrefix(rest, "ms")) {
				if n > int64((1<<63-1)/u.d) {
					return 0, fmt.Errorf("invalid duration %q: too large", s)
				}
				total += time.Duration(n) * u.d
				if total < 0 {
					return 0, fmt.Errorf("invalid duration %q: too large", s)
				}
				rest = rest[len(u.name):]
				next = k + 1
				found = true
				break
			}
		}
		if !found {
			return 0, fmt.Errorf("invalid duration %q: want integers with units ms, s, m, h, d", s)
		}
	}
	return total, nil
}

// ParseDuration parses a duration in the expression syntax: integers with
// units ms, s, m, h, d in decreasing order ("90s", "1h30m", "1d"). It is
// also how rule durations such as "for" are written; Go forms like "1.5h"
// are not accepted.
func ParseDuration(s string) (time.Duration, error) { return parseDuration(s) }
