package rules

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStoreKeepsSamplesForRetention(t *testing.T) {
	s := newTestStore(t, WithRetention(time.Minute))
	appendSeries(t, s, "g", nil, 0, 10, 0, 1, 2, 3, 4, 5, 6, 7, 8)
	got := s.Select("g", nil, at(-1000), at(1000))
	require.Len(t, got, 1)
	// Newest is t=80; retention keeps t >= 20.
	require.Len(t, got[0].Points, 7)
	assert.Equal(t, at(20), got[0].Points[0].T)
	assert.Equal(t, 2.0, got[0].Points[0].V)
}

func TestStoreRemovesSeriesThatExpired(t *testing.T) {
	s := newTestStore(t, WithRetention(time.Minute))
	require.NoError(t, s.Append("old", nil, at(0), 1))
	for i := range 200 {
		require.NoError(t, s.Append("live", nil, at(float64(i)), 1))
	}
	assert.Equal(t, 1, s.SeriesCount())
	assert.Empty(t, s.Select("old", nil, at(-1), at(1000)))
}

func TestStoreBoundsSeriesCount(t *testing.T) {
	s := newTestStore(t, WithMaxSeries(2))
	require.NoError(t, s.Append("x", map[string]string{"op": "a"}, at(0), 1))
	require.NoError(t, s.Append("x", map[string]string{"op": "b"}, at(0), 1))
	err := s.Append("x", map[string]string{"op": "c"}, at(0), 1)
	require.ErrorIs(t, err, ErrTooManySeries)
	assert.Contains(t, err.Error(), "2 series")
	assert.Equal(t, uint64(1), s.Dropped())
	// Existing series still accept samples.
	require.NoError(t, s.Append("x", map[string]string{"op": "a"}, at(1), 2))
	assert.Equal(t, 2, s.SeriesCount())
}

func TestStoreRejectsOutOfOrderAndReplacesSameTime(t *testing.T) {
	s := newTestStore(t)
	require.NoError(t, s.Append("g", nil, at(10), 1))
	require.NoError(t, s.Append("g", nil, at(10), 2))
	require.ErrorIs(t, s.Append("g", nil, at(5), 3), ErrOutOfOrder)
	assert.Equal(t, uint64(1), s.Dropped())
	got := s.Select("g", nil, at(0), at(20))
	require.Len(t, got, 1)
	assert.Equal(t, []Point{{T: at(10), V: 2}}, got[0].Points)
}

func TestStoreRejectsInvalidNames(t *testing.T) {
	s := newTestStore(t)
	assert.ErrorIs(t, s.Append("9x", nil, at(0), 1), ErrInvalidName)
	assert.ErrorIs(t, s.Append("x", map[string]string{"a-b": "1"}, at(0), 1), ErrInvalidName)
	assert.ErrorIs(t, s.Append("x", map[string]string{"a:b": "1"}, at(0), 1), ErrInvalidName)
	require.NoError(t, s.Append("ns:x_y", map[string]string{"_a1": "1"}, at(0), 1))
	assert.Equal(t, uint64(3), s.Dropped())
}

func TestStoreSelectReturnsACopy(t *testing.T) {
	s := newTestStore(t)
	labels := map[string]string{"op": "a"}
	require.NoError(t, s.Append("g", labels, at(0), 1))
	labels["op"] = "mutated"
	got := s.Select("g", nil, at(-1), at(1))
	require.Len(t, got, 1)
	assert.Equal(t, "a", got[0].Labels["op"])
	got[0].Labels["op"] = "again"
	got[0].Points[0].V = 99
	again := s.Select("g", nil, at(-1), at(1))
	assert.Equal(t, "a", again[0].Labels["op"])
	assert.Equal(t, 1.0, again[0].Points[0].V)
}

func TestStoreOptionsRejectBadValues(t *testing.T) {
	_, err := NewStore(WithRetention(0))
	assert.Error(t, err)
	_, err = NewStore(WithMaxSeries(-1))
	assert.Error(t, err)
}
