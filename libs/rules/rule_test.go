package rules

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseRuleAcceptsAFullDefinition(t *testing.T) {
	r, err := ParseRule([]byte(`{
		"name": "hillshade_failures",
		"expr": "rate(task_failed{op=\"hillshade\"}[1m]) / rate(task_done[1m]) > 0.1",
		"for": "2m",
		"severity": "critical",
		"labels": {"team": "raster"},
		"summary": "more than 10% of hillshade tasks fail"
	}`))
	require.NoError(t, err)
	assert.Equal(t, "hillshade_failures", r.Name)
	assert.Equal(t, 2*time.Minute, r.For)
	assert.Equal(t, SeverityCritical, r.Severity)
	assert.Equal(t, map[string]string{"team": "raster"}, r.Labels)
	assert.Nil(t, r.Detector)

	// The stored form round-trips.
	data, err := json.Marshal(r)
	require.NoError(t, err)
	again, err := ParseRule(data)
	require.NoError(t, err)
	assert.True(t, equalDefinition(r, again))
}

func TestParseRuleAppliesDetectorDefaults(t *testing.T) {
	r, err := ParseRule([]byte(`{"name": "throughput", "expr": "rate(task_done[1m])", "severity": "warning",
		"detector": {"type": "ewma", "season": "1d", "direction": "down"}}`))
	require.NoError(t, err)
	assert.Equal(t, &Detector{Type: DetectorEWMA, Threshold: 3, Direction: DirectionDown, MinSamples: 10,
		SpreadFloor: 0.01, Alpha: 0.1, Season: 24 * time.Hour, Bins: 24}, r.Detector)

	r, err = ParseRule([]byte(`{"name": "throughput", "expr": "rate(task_done[1m])", "severity": "info",
		"detector": {"type": "robust_z", "threshold": 5}}`))
	require.NoError(t, err)
	assert.Equal(t, &Detector{Type: DetectorRobustZ, Threshold: 5, Direction: DirectionBoth, MinSamples: 10,
		SpreadFloor: 0.01, Window: 30 * time.Minute}, r.Detector)
}

func TestParseRuleNamesTheBadField(t *testing.T) {
	const ok = `"name": "x", "expr": "up > 0", "severity": "info"`
	tests := []struct {
		name string
		json string
		want []string
	}{
		{"severity", `{"name": "x", "expr": "up", "severity": "page"}`,
			[]string{`rule "x": severity: must be one of critical, warning, info`}},
		{"missing severity", `{"name": "x", "expr": "up"}`,
			[]string{`rule "x": severity: must be one of critical, warning, info`}},
		{"expr", `{"name": "x", "expr": "a > > 1", "severity": "info"}`,
			[]string{`rule "x": expr: column 5: unexpected ">", expected expression`}},
		{"empty expr", `{"name": "x", "expr": " ", "severity": "info"}`,
			[]string{`rule "x": expr: required`}},
		{"name with dot", `{"name": "a.b", "expr": "up", "severity": "info"}`,
			[]string{`rule "a.b": name: must match [a-z0-9_-]{1,64}`}},
		{"upper-case name", `{"name": "Up", "expr": "up", "severity": "info"}`,
			[]string{`rule "Up": name: must match`}},
		{"long name", `{"name": "` + strings.Repeat("a", 65) + `", "expr": "up", "severity": "info"}`,
			[]string{`name: must match`}},
		{"empty name", `{"expr": "up", "severity": "info"}`,
			[]string{`rule "": name: must match`}},
		{"for", `{` + ok + `, "for": "2 minutes"}`,
			[]string{`rule "x": for: invalid duration "2 minutes"`}},
		{"for go syntax", `{` + ok + `, "for": "1.5m"}`,
			[]string{`rule "x": for: invalid duration "1.5m"`}},
		{"label name", `{` + ok + `, "labels": {"a-b": "1"}}`,
			[]string{`rule "x": labels: invalid label name "a-b"`}},
		{"unknown field", `{` + ok + `, "treshold": 3}`,
			[]string{`rule "x": decode: json: unknown field "treshold"`}},
		{"not json", `{"name": "x",`,
			[]string{`decode: unexpected EOF`}},
		{"trailing data", `{` + ok + `} {}`,
			[]string{`rule "x": decode: trailing data after rule`}},
		{"detector type", `{` + ok + `, "detector": {"type": "prophet"}}`,
			[]string{`rule "x": detector.type: must be one of ewma, robust_z`}},
		{"detector direction", `{` + ok + `, "detector": {"type": "ewma", "direction": "sideways"}}`,
			[]string{`rule "x": detector.direction: must be one of up, down, both`}},
		{"detector alpha", `{` + ok + `, "detector": {"type": "ewma", "alpha": 1.5}}`,
			[]string{`rule "x": detector.alpha: must be in (0, 1]`}},
		{"detector threshold", `{` + ok + `, "detector": {"type": "ewma", "threshold": -1}}`,
			[]string{`rule "x": detector.threshold: must be a positive number`}},
		{"detector season", `{` + ok + `, "detector": {"type": "ewma", "season": "1y"}}`,
			[]string{`rule "x": detector.season: invalid duration "1y"`}},
		{"detector bins without season", `{` + ok + `, "detector": {"type": "ewma", "bins": 4}}`,
			[]string{`rule "x": detector.bins: must be 1 without a season`}},
		{"detector window on ewma", `{` + ok + `, "detector": {"type": "ewma", "window": "5m"}}`,
			[]string{`rule "x": detector.window: applies to robust_z only`}},
		{"detector min_samples", `{` + ok + `, "detector": {"type": "robust_z", "min_samples": -2}}`,
			[]string{`rule "x": detector.min_samples: must be at least 1`}},
		{"bad detector field and severity", `{"name": "x", "expr": "up", "severity": "sev", "detector": {"type": "robust_z", "window": "ten"}}`,
			[]string{
				`rule "x": detector.window: invalid duration "ten"`,
				`rule "x": severity: must be one of critical, warning, info`,
			}},
		{"several problems at once", `{"name": "x", "expr": "rte(x[1m])", "severity": "high", "labels": {"1": "a"}}`,
			[]string{
				`rule "x": expr: column 1: unknown function "rte"`,
				`rule "x": severity: must be one of critical, warning, info`,
				`rule "x": labels: invalid label name "1"`,
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseRule([]byte(tt.json))
			require.Error(t, err)
			assert.ErrorIs(t, err, ErrInvalidRule)
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestRuleExprErrorMatchesErrSyntax(t *testing.T) {
	_, err := ParseRule([]byte(`{"name": "x", "expr": "up{", "severity": "info"}`))
	assert.ErrorIs(t, err, ErrSyntax)
	var pe *ParseError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, 4, pe.Column)
}
