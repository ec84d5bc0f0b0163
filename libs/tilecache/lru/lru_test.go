package lru

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEvictionHoldsTheByteBudget(t *testing.T) {
	t.Parallel()
	var evicted []string
	budget := int64(10 * (1000 + Overhead + 3))
	c := New(budget, func(key string, _ Entry) { evicted = append(evicted, key) })
	for i := range 50 {
		key := fmt.Sprintf("k%02d", i)
		require.True(t, c.Add(key, Entry{Version: uint64(i), Value: make([]byte, 1000), Raw: 1000}))
		assert.LessOrEqual(t, c.Bytes(), budget, "after %d adds", i+1)
	}
	assert.Equal(t, 10, c.Len())
	assert.Len(t, evicted, 40)
	assert.Equal(t, "k00", evicted[0], "the least recently used goes first")
	assert.Equal(t, int64(10*1000), c.RawBytes())
}

func TestGetKeepsAnEntryFromEviction(t *testing.T) {
	t.Parallel()
	c := New(3*(10+Overhead+1), nil)
	for _, k := range []string{"a", "b", "c"} {
		c.Add(k, Entry{Value: make([]byte, 10), Raw: 10})
	}
	_, ok := c.Get("a")
	require.True(t, ok)
	c.Add("d", Entry{Value: make([]byte, 10), Raw: 10})
	_, ok = c.Peek("b")
	assert.False(t, ok, "b was the least recently used")
	assert.Equal(t, []string{"d", "a", "c"}, c.Keys())
}

func TestTooLargeEntryIsNotStoredAndReplacesNothing(t *testing.T) {
	t.Parallel()
	c := New(1000, nil)
	require.True(t, c.Add("a", Entry{Version: 1, Value: make([]byte, 10), Raw: 10}))
	assert.False(t, c.Add("a", Entry{Version: 2, Value: make([]byte, 2000), Raw: 2000}))
	_, ok := c.Peek("a")
	assert.False(t, ok, "the old version must not survive a newer one that did not fit")
	assert.Zero(t, c.Bytes())
	assert.False(t, New(0, nil).Add("x", Entry{}), "a zero budget holds nothing")
}

func TestReplaceChargesTheNewSize(t *testing.T) {
	t.Parallel()
	c := New(10000, nil)
	c.Add("a", Entry{Value: make([]byte, 100), Raw: 300, Compressed: true})
	c.Add("a", Entry{Value: make([]byte, 50), Raw: 50})
	assert.Equal(t, int64(50+1+Overhead), c.Bytes())
	assert.Equal(t, int64(50), c.RawBytes())
	assert.Equal(t, int64(50), c.StoredBytes())
	assert.Zero(t, c.Compressed())
	assert.True(t, c.Remove("a"))
	assert.False(t, c.Remove("a"))
	assert.Zero(t, c.Bytes())
}
