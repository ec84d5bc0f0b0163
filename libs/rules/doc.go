// Package rules is the alerting core of services/monitor: a small in-memory
// time-series Store, a PromQL-flavoured expression language, anomaly
// detectors, and the Engine that turns rule evaluations into alert
// transitions. It does no I/O and never reads the clock: every evaluation
// takes an explicit time, so behaviour is deterministic and testable.
//
// # Data flow
//
// The monitor samples its Prometheus registry every second into a Store
// (Store.AppendGathered), loads rules from the geo_rules KV bucket
// (ParseRule, one JSON rule per key), hands them to Engine.SetRules, and on
// each evaluation tick publishes the []Transition that Engine.Eval returns.
// Engine.Active lists the pending and firing alerts for dashboards.
//
// # Expressions
//
//	selector        metric{label="v", label!="v", label=~"re", label!~"re"}
//	range function  rate(sel[1m]) increase(sel[5m]) delta(sel[5m])
//	                avg_over_time min_over_time max_over_time
//	                sum_over_time count_over_time
//	aggregation     sum by (l, ...) (e)   also min, max, avg, count; "by" optional,
//	                and may follow: sum(e) by (l)
//	quantile        histogram_quantile(0.99, rate(x_bucket{op="h"}[5m]))
//	arithmetic      + - * /      comparison  > < >= <= == !=
//	logical         and or       grouping    ( )
//	literals        0.5 1e3 .5   durations 250ms 30s 5m 1h 1d 1h30m (in seconds)
//
// Precedence, loosest first: or; and; comparisons; + -; * /; unary minus.
// Regular expressions are RE2 and anchored at both ends. A matcher on an
// absent label sees the empty string.
//
// Results are scalars by default: wherever a selector or range function
// matching several series is used, its values are summed into one. Only an
// aggregation with "by" keeps groups: sum by (op) (...) yields one value per
// op, and a rule over it one alert per op. Binary operators pair values with
// identical group labels; a single unlabelled value pairs with every group.
//
// An instant selector sees the latest sample no older than the staleness
// (DefaultStaleness, 5m). A range selector sees the samples in (now-range,
// now]. increase sums the growth between consecutive samples, treating a
// decrease as a counter reset; rate is that increase divided by the seconds
// between the first and last sample in the window; delta is last minus
// first. None of them extrapolate, and they need two samples.
//
// Some expressions have no value: nothing matched, a division by zero, or a
// comparison that holds for no group (comparisons filter: they keep the
// non-literal operand's value where they hold). No value means "not firing";
// it is never an error.
//
// histogram_quantile groups classic histogram buckets by their labels other
// than le (a plain selector or range function forms one group, summing
// buckets of equal le across series), and interpolates linearly within the
// bucket holding the quantile, as Prometheus does. For one quantile per op
// keep le in the by clause: histogram_quantile(0.9, sum by (op, le) (...)).
//
// Parse errors (*ParseError, matching ErrSyntax) name the 1-based column and
// the token: `expr: column 14: unknown function "rte"`.
//
// # Alerts
//
// Per rule and group an alert goes inactive → pending when the condition
// holds, pending → firing once it has held for the rule's "for", and firing →
// resolved when it stops holding. Firing and resolved are each reported once
// as a Transition; a pending alert that clears goes back to inactive
// silently. AlertID (rule name plus sorted group labels, hashed) identifies
// an alert across transitions for deduplication.
//
// # Detectors
//
// A rule with a detector evaluates its expression as a signal, and its
// condition holds while the detector flags the signal of a group. The ewma
// detector keeps an exponentially weighted mean and variance per bin of a
// season (time of day, say), so regular seasonal patterns are learned; the
// robust_z detector scores against the median and MAD of a trailing window.
// Detector state lives in the Engine per rule and group.
//
// The syntax, semantics, detectors and rule JSON are documented for
// operators in docs/alerts.md.
package rules
