package rules

import (
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// State is the state of an alert.
type State string

// Alert states. An alert is pending while its condition holds for less than
// the rule's "for", then firing; resolved is only ever a transition.
const (
	StatePending  State = "pending"
	StateFiring   State = "firing"
	StateResolved State = "resolved"
)

// Alert is one alert of a rule: the rule itself, or one group of a rule
// whose expression aggregates "by" labels.
type Alert struct {
	ID        string            `json:"id"` // AlertID(Rule, Group)
	Rule      string            `json:"rule"`
	Severity  Severity          `json:"severity"`
	State     State             `json:"state"`
	Group     map[string]string `json:"group,omitempty"`  // labels identifying the group
	Labels    map[string]string `json:"labels,omitempty"` // rule labels overlaid with Group
	Summary   string            `json:"summary,omitempty"`
	Value     float64           `json:"value"`              // latest value while the condition held
	Evidence  *Evidence         `json:"evidence,omitempty"` // detector rules only
	StartedAt time.Time         `json:"started_at"`         // when the condition began to hold
	FiredAt   time.Time         `json:"fired_at,omitzero"`  // when it began firing
}

// Transition is a change an Engine.Eval reports: an alert that started
// firing, or a firing alert that resolved. State is StateFiring or
// StateResolved. Each is reported once.
type Transition struct {
	Alert
	At time.Time `json:"at"` // evaluation time of the change
}

// AlertID is the stable identity of a rule's alert for a group: a hash of
// the rule name and the sorted group labels. Use it to deduplicate.
func AlertID(rule string, group map[string]string) string {
	h := sha256.Sum256([]byte(rule + "\x00" + labelsKey(group)))
	return hex.EncodeToString(h[:16])
}

// alertLabels overlays group on the rule's static labels.
func alertLabels(rule, group map[string]string) map[string]string {
	if len(rule) == 0 && len(group) == 0 {
		return nil
	}
	out := make(map[string]string, len(rule)+len(group))
	for k, v := range rule {
		out[k] = v
	}
	for k, v := range group {
		out[k] = v
	}
	return out
}

// clone returns a deep copy of a.
func (a *Alert) clone() Alert {
	c := *a
	c.Group, c.Labels = copyLabels(a.Group), copyLabels(a.Labels)
	if a.Evidence != nil {
		ev := *a.Evidence
		c.Evidence = &ev
	}
	return c
}
