package rules

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Severity says how urgent an alert is. It becomes the second token of the
// subject geo.alerts.<severity>.<rule>.
type Severity string

// Severities.
const (
	SeverityCritical Severity = "critical"
	SeverityWarning  Severity = "warning"
	SeverityInfo     Severity = "info"
)

// MaxSummaryLen bounds a rule's summary.
const MaxSummaryLen = 1024

var ruleNameRe = regexp.MustCompile(`^[a-z0-9_-]{1,64}$`)

// Rule is an alert rule. It is stored as JSON, one rule per key (the key is
// the rule name):
//
//	{"name": "hillshade_failures", "expr": "rate(task_failed{op=\"hillshade\"}[1m]) / rate(task_done[1m]) > 0.1",
//	 "for": "2m", "severity": "critical", "labels": {"team": "raster"}, "summary": "hillshade failing"}
//
// With a Detector, Expr is the signal the detector watches and the rule's
// condition is "the detector flags the signal".
type Rule struct {
	Name     string            // [a-z0-9_-]{1,64}; a NATS subject token
	Expr     string            // expression, see the package doc
	For      time.Duration     // how long the condition must hold before firing; 0 fires at once
	Severity Severity          // critical, warning or info
	Labels   map[string]string // static labels attached to the rule's alerts
	Summary  string            // human readable description
	Detector *Detector         // optional anomaly detector

	expr *Expr // compiled by Validate
}

// ruleJSON is the stored form of a Rule.
type ruleJSON struct {
	Name     string            `json:"name"`
	Expr     string            `json:"expr"`
	For      string            `json:"for,omitempty"`
	Severity Severity          `json:"severity"`
	Labels   map[string]string `json:"labels,omitempty"`
	Summary  string            `json:"summary,omitempty"`
	Detector *detectorJSON     `json:"detector,omitempty"`
}

// RuleError names the rule and field of a rule definition that is invalid.
// It matches ErrInvalidRule, and also ErrSyntax when the expression does
// not parse.
type RuleError struct {
	Rule  string // rule name as given, possibly invalid
	Field string // JSON field, e.g. "severity", "detector.threshold"
	Err   error
}

func (e *RuleError) Error() string {
	msg := e.Err.Error()
	if e.Field != "" && !strings.HasPrefix(msg, e.Field+": ") {
		msg = e.Field + ": " + msg
	}
	return fmt.Sprintf("rule %q: %s", e.Rule, msg)
}

// Is makes every RuleError match ErrInvalidRule.
func (e *RuleError) Is(target error) bool { return target == ErrInvalidRule }

// Unwrap returns the underlying reason.
func (e *RuleError) Unwrap() error { return e.Err }

// ParseRule decodes and validates a stored rule. Unknown fields are
// rejected. All problems are reported at once (errors.Join of *RuleError).
func ParseRule(data []byte) (Rule, error) {
	var j ruleJSON
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		return Rule{}, &RuleError{Rule: j.Name, Err: fmt.Errorf("decode: %w", err)}
	}
	if dec.More() {
		return Rule{}, &RuleError{Rule: j.Name, Err: errors.New("decode: trailing data after rule")}
	}
	r := Rule{Name: j.Name, Expr: j.Expr, Severity: j.Severity, Labels: j.Labels, Summary: j.Summary}
	var errs []error
	fail := func(field string, err error) { errs = append(errs, &RuleError{Rule: j.Name, Field: field, Err: err}) }
	if j.For != "" {
		d, err := ParseDuration(j.For)
		if err != nil {
			fail("for", err)
		}
		r.For = d
	}
	if j.Detector != nil {
		d, derrs := j.Detector.decode()
		for _, e := range derrs {
			e.Rule = j.Name
			errs = append(errs, e)
		}
		r.Detector = d
	}
	errs = append(errs, r.Validate())
	if err := errors.Join(errs...); err != nil {
		return Rule{}, err
	}
	return r, nil
}

// MarshalJSON encodes the rule in its stored form.
func (r Rule) MarshalJSON() ([]byte, error) {
	j := ruleJSON{Name: r.Name, Expr: r.Expr, Severity: r.Severity, Labels: r.Labels, Summary: r.Summary}
	if r.For > 0 {
		j.For = formatDuration(r.For)
	}
	if r.Detector != nil {
		j.Detector = r.Detector.encode()
	}
	return json.Marshal(j)
}

// Validate checks every field, compiling the expression, and returns all
// problems joined. Rules built in code must pass it before use; ParseRule
// and Engine.SetRules call it.
func (r *Rule) Validate() error {
	var errs []error
	fail := func(field string, err error) { errs = append(errs, &RuleError{Rule: r.Name, Field: field, Err: err}) }
	if !ruleNameRe.MatchString(r.Name) {
		fail("name", errors.New("must match [a-z0-9_-]{1,64}"))
	}
	if strings.TrimSpace(r.Expr) == "" {
		fail("expr", errors.New("required"))
	} else if e, err := ParseExpr(r.Expr); err != nil {
		fail("expr", err)
	} else {
		r.expr = e
	}
	if r.For < 0 {
		fail("for", errors.New("must not be negative"))
	}
	switch r.Severity {
	case SeverityCritical, SeverityWarning, SeverityInfo:
	default:
		fail("severity", errors.New("must be one of critical, warning, info"))
	}
	for k := range r.Labels {
		if !validLabelName(k) {
			fail("labels", fmt.Errorf("invalid label name %q", k))
		}
	}
	if len(r.Summary) > MaxSummaryLen {
		fail("summary", fmt.Errorf("longer than %d bytes", MaxSummaryLen))
	}
	if r.Detector != nil {
		for _, e := range r.Detector.validate() {
			e.Rule = r.Name
			errs = append(errs, e)
		}
	}
	return errors.Join(errs...)
}

// equalDefinition reports whether a and b define the same rule.
func equalDefinition(a, b Rule) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb)
}
