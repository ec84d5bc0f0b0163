package rules

import (
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"
)

// detectorIdle is how long a group's detector state is kept after the
// group's signal was last seen.
const detectorIdle = 24 * time.Hour

// Engine evaluates rules against a Store and tracks the state of their
// alerts. Per alert (one per rule and group):
//
//	inactive → pending   condition holds
//	pending  → firing    condition held for the rule's "for" (reported)
//	pending  → inactive  condition no longer holds (not reported)
//	firing   → resolved  condition no longer holds (reported), then inactive
//
// The condition of a plain rule holds for each group its expression yields a
// value for; of a detector rule, for each group whose signal the detector
// flags. Eval is driven by explicit times and never reads the clock.
//
// An Engine is safe for concurrent use.
type Engine struct {
	store     *Store
	staleness time.Duration

	mu       sync.Mutex
	rules    map[string]*ruleState
	resolved []Alert // alerts of removed rules, reported by the next Eval
}

type ruleState struct {
	rule      Rule
	alerts    map[string]*Alert // by labelsKey(group)
	detectors map[string]*groupDetector
}

type groupDetector struct {
	state     detectorState
	lastT     time.Time
	lastSeen  time.Time
	anomalous bool
	ev        Evidence
}

// EngineOption configures an Engine. Options reject invalid values.
type EngineOption func(*Engine) error

// WithStaleness sets how old the latest sample of a series may be for an
// instant selector to see it (default DefaultStaleness). It must be positive.
func WithStaleness(d time.Duration) EngineOption {
	return func(e *Engine) error {
		if d <= 0 {
			return fmt.Errorf("staleness %v: must be positive", d)
		}
		e.staleness = d
		return nil
	}
}

// NewEngine returns an Engine with no rules evaluating against store.
func NewEngine(store *Store, opts ...EngineOption) (*Engine, error) {
	if store == nil {
		return nil, errors.New("new engine: nil store")
	}
	e := &Engine{store: store, staleness: DefaultStaleness, rules: map[string]*ruleState{}}
	for _, o := range opts {
		if err := o(e); err != nil {
			return nil, fmt.Errorf("new engine: %w", err)
		}
	}
	return e, nil
}

// SetRules replaces the rule set. A rule whose definition is unchanged keeps
// its alerts and detector state. A changed rule keeps its alerts if its
// expr, severity and detector are unchanged (only for, labels or summary
// differ); otherwise it starts afresh. Firing alerts of removed rules, and
// of rules that start afresh, are reported resolved by the next Eval.
//
// Invalid rules and repeated names are skipped and reported in the returned
// error (errors.Join of the reasons); the other rules are applied.
func (e *Engine) SetRules(rules []Rule) error {
	var errs []error
	next := make(map[string]*ruleState, len(rules))
	for _, r := range rules {
		if err := r.Validate(); err != nil {
			errs = append(errs, err)
			continue
		}
		if _, dup := next[r.Name]; dup {
			errs = append(errs, &RuleError{Rule: r.Name, Field: "name", Err: errors.New("defined more than once")})
			continue
		}
		next[r.Name] = &ruleState{rule: r, alerts: map[string]*Alert{}, detectors: map[string]*groupDetector{}}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, name := range sortedRuleNames(e.rules) {
		old := e.rules[name]
		nr, ok := next[name]
		switch {
		case ok && equalDefinition(old.rule, nr.rule):
			next[name] = old
		case ok && sameCondition(old.rule, nr.rule):
			old.rule = nr.rule
			next[name] = old
		default:
			e.resolveAll(old)
		}
	}
	e.rules = next
	return errors.Join(errs...)
}

// sameCondition reports whether a and b fire under the same conditions
// and at the same severity, so that their alerts are the same alerts.
func sameCondition(a, b Rule) bool {
	a.For, b.For = 0, 0
	a.Labels, b.Labels = nil, nil
	a.Summary, b.Summary = "", ""
	return equalDefinition(a, b)
}

// resolveAll queues the firing alerts of rs as resolved.
func (e *Engine) resolveAll(rs *ruleState) {
	for _, k := range sortedAlertKeys(rs.alerts) {
		if a := rs.alerts[k]; a.State == StateFiring {
			e.resolved = append(e.resolved, a.clone())
		}
	}
}

// Eval evaluates every rule at now and returns the transitions, ordered by
// rule name then group labels, preceded by resolutions of removed rules.
func (e *Engine) Eval(now time.Time) []Transition {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []Transition
	for _, a := range e.resolved {
		a.State = StateResolved
		out = append(out, Transition{Alert: a, At: now})
	}
	e.resolved = nil
	for _, n := range sortedRuleNames(e.rules) {
		out = append(out, e.evalRule(e.rules[n], now)...)
	}
	return out
}

// condition is one group for which a rule's condition holds.
type condition struct {
	labels   map[string]string
	value    float64
	evidence *Evidence
}

func (e *Engine) evalRule(rs *ruleState, now time.Time) []Transition {
	r := rs.rule
	results := r.expr.Eval(e.store, now, e.staleness)
	conds := map[string]condition{}
	if r.Detector == nil {
		for _, res := range results {
			conds[labelsKey(res.Labels)] = condition{labels: res.Labels, value: res.Value}
		}
	} else {
		e.detect(rs, results, now, conds)
	}

	var out []Transition
	// Alerts whose condition no longer holds.
	for _, k := range sortedAlertKeys(rs.alerts) {
		if _, holds := conds[k]; holds {
			continue
		}
		a := rs.alerts[k]
		delete(rs.alerts, k)
		if a.State == StateFiring {
			a.State = StateResolved
			out = append(out, Transition{Alert: a.clone(), At: now})
		}
	}
	keys := make([]string, 0, len(conds))
	for k := range conds {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		c := conds[k]
		a, ok := rs.alerts[k]
		if !ok {
			a = &Alert{ID: AlertID(r.Name, c.labels), Group: copyLabels(c.labels), State: StatePending, StartedAt: now}
			rs.alerts[k] = a
		}
		a.Rule, a.Severity, a.Summary = r.Name, r.Severity, r.Summary
		a.Labels = alertLabels(r.Labels, c.labels)
		a.Value, a.Evidence = c.value, c.evidence
		if a.State == StatePending && now.Sub(a.StartedAt) >= r.For {
			a.State, a.FiredAt = StateFiring, now
			out = append(out, Transition{Alert: a.clone(), At: now})
		}
	}
	return out
}

// detect feeds each group's signal to its detector and records the groups
// flagged as anomalous. A detector observes at most once per time, so
// re-evaluating the same instant does not learn twice.
func (e *Engine) detect(rs *ruleState, results []Result, now time.Time, conds map[string]condition) {
	for _, res := range results {
		k := labelsKey(res.Labels)
		gd, ok := rs.detectors[k]
		if !ok {
			gd = &groupDetector{state: newDetectorState(rs.rule.Detector)}
			rs.detectors[k] = gd
		}
		gd.lastSeen = now
		if gd.lastT.IsZero() || now.After(gd.lastT) {
			gd.anomalous, _, gd.ev = gd.state.observe(now, res.Value)
			gd.lastT = now
		}
		if gd.anomalous {
			ev := gd.ev
			conds[k] = condition{labels: res.Labels, value: res.Value, evidence: &ev}
		}
	}
	for k, gd := range rs.detectors {
		if now.Sub(gd.lastSeen) > detectorIdle {
			delete(rs.detectors, k)
		}
	}
}

// Active returns the pending and firing alerts, ordered by rule name then
// group labels. The alerts are copies.
func (e *Engine) Active() []Alert {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []Alert
	for _, n := range sortedRuleNames(e.rules) {
		rs := e.rules[n]
		for _, k := range sortedAlertKeys(rs.alerts) {
			out = append(out, rs.alerts[k].clone())
		}
	}
	return out
}

func sortedAlertKeys(m map[string]*Alert) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func sortedRuleNames(m map[string]*ruleState) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
