package rules

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// t0 is the fixed origin of test time.
var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// at is t0 plus secs seconds.
func at(secs float64) time.Time { return t0.Add(time.Duration(secs * float64(time.Second))) }

func newTestStore(t *testing.T, opts ...StoreOption) *Store {
	t.Helper()
	s, err := NewStore(opts...)
	require.NoError(t, err)
	return s
}

// appendSeries appends vals at t0+start, t0+start+step, ...
func appendSeries(t *testing.T, s *Store, name string, labels map[string]string, start, step float64, vals ...float64) {
	t.Helper()
	for i, v := range vals {
		require.NoError(t, s.Append(name, labels, at(start+float64(i)*step), v))
	}
}

func evalAt(t *testing.T, s *Store, expr string, now time.Time) []Result {
	t.Helper()
	e, err := ParseExpr(expr)
	require.NoError(t, err)
	return e.Eval(s, now, 0)
}

// only returns the single unlabelled value of rs, failing otherwise.
func only(t *testing.T, rs []Result) float64 {
	t.Helper()
	require.Len(t, rs, 1)
	require.Empty(t, rs[0].Labels)
	return rs[0].Value
}
