package rules

import (
	"sort"
	"strconv"
	"strings"
)

// validMetricName reports whether s is [a-zA-Z_:][a-zA-Z0-9_:]*.
func validMetricName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		if !(c == '_' || c == ':' || isLetter(c) || (i > 0 && isDigit(c))) {
			return false
		}
	}
	return true
}

// validLabelName reports whether s is [a-zA-Z_][a-zA-Z0-9_]*.
func validLabelName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		if !(c == '_' || isLetter(c) || (i > 0 && isDigit(c))) {
			return false
		}
	}
	return true
}

func isLetter(c rune) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }
func isDigit(c rune) bool  { return c >= '0' && c <= '9' }

// labelsKey is a canonical, injective encoding of a label set: names sorted,
// each name and value length-prefixed so no value can forge a separator.
func labelsKey(l map[string]string) string {
	if len(l) == 0 {
		return ""
	}
	names := make([]string, 0, len(l))
	for k := range l {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, k := range names {
		for _, s := range []string{k, l[k]} {
			b.WriteString(strconv.Itoa(len(s)))
			b.WriteByte(':')
			b.WriteString(s)
		}
	}
	return b.String()
}

// copyLabels returns a copy of l, or nil when l is empty.
func copyLabels(l map[string]string) map[string]string {
	if len(l) == 0 {
		return nil
	}
	c := make(map[string]string, len(l))
	for k, v := range l {
		c[k] = v
	}
	return c
}

// keepLabels returns the subset of l named in by (absent names are omitted).
func keepLabels(l map[string]string, by []string) map[string]string {
	var out map[string]string
	for _, k := range by {
		if v, ok := l[k]; ok {
			if out == nil {
				out = make(map[string]string, len(by))
			}
			out[k] = v
		}
	}
	return out
}
