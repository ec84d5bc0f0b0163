package worker

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// queues fakes the four priority streams: backlog[i] tasks wait on
// priority i; fetch takes from them and records which priority gave each
// task.
type queues struct {
	backlog []int
	order   []int
	fetches int
}

func (q *queues) fetch(i, n int) (int, error) {
	q.fetches++
	n = min(n, q.backlog[i])
	q.backlog[i] -= n
	for range n {
		q.order = append(q.order, i)
	}
	return n, nil
}

// take runs rounds of free slots until a round finds nothing.
func (q *queues) take(c *credits, free, maxBatch int) {
	for {
		n, err := c.round(free, maxBatch, q.fetch)
		if err != nil || n == 0 {
			return
		}
	}
}

func TestCreditsServeWeightedRoundRobin(t *testing.T) {
	t.Parallel()
	c := newCredits([]int{8, 4, 2, 1}, 1)
	q := &queues{backlog: []int{12, 12, 12, 12}}
	q.take(c, 1, 64)
	const C, H, N, L = 0, 1, 2, 3
	want := []int{
		C, C, C, C, C, C, C, C, H, H, H, H, N, N, L, // a full round: 8:4:2:1
		C, C, C, C, H, H, H, H, N, N, L, // critical runs dry mid-round
		H, H, H, H, N, N, L, // high runs dry
		N, N, L, N, N, L, N, N, L, // normal and low share 2:1
		L, L, L, L, L, L, // low alone
	}
	assert.Equal(t, want, q.order)
}

func TestCreditsKeepRatioUnderBacklog(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name           string
		free, maxBatch int
	}{
		{"one slot", 1, 64},
		{"full batches", 32, 64},
		{"small batches", 32, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCredits([]int{8, 4, 2, 1}, min(tc.free, tc.maxBatch))
			q := &queues{backlog: []int{1e6, 1e6, 1e6, 1e6}}
			for range 1000 {
				_, err := c.round(tc.free, tc.maxBatch, q.fetch)
				require.NoError(t, err)
			}
			count := make([]int, 4)
			for _, p := range q.order {
				count[p]++
			}
			total := len(q.order)
			for i, w := range []int{8, 4, 2, 1} {
				assert.InDelta(t, float64(w)/15, float64(count[i])/float64(total), 0.01, "share of priority %d", i)
			}
		})
	}
}

func TestCreditsBatchFitsFreeSlots(t *testing.T) {
	t.Parallel()
	c := newCredits([]int{8, 4, 2, 1}, 32)
	assert.Equal(t, []int{32, 16, 8, 4}, c.full, "scaled so one batch fits the heaviest priority")
	q := &queues{backlog: []int{0, 0, 100, 0}}
	n, err := c.round(32, 64, q.fetch)
	require.NoError(t, err)
	assert.Equal(t, 8, n, "a batch never exceeds the priority's credits")
	q.take(c, 32, 64)
	assert.Zero(t, q.backlog[2], "an only busy priority is drained at full speed")
}

func TestCreditsUrgentWorkPreempts(t *testing.T) {
	t.Parallel()
	c := newCredits([]int{8, 4, 2, 1}, 1)
	q := &queues{backlog: []int{0, 0, 0, 10}}
	for range 3 {
		_, err := c.round(1, 64, q.fetch)
		require.NoError(t, err)
	}
	q.backlog[0] = 2 // critical work arrives while low drains
	q.take(c, 1, 64)
	assert.Equal(t, []int{3, 3, 3, 0, 0}, q.order[:5], "the next fetch after arrival is critical")
}

func TestCreditsIdleWhenEmpty(t *testing.T) {
	t.Parallel()
	c := newCredits([]int{8, 4, 2, 1}, 1)
	q := &queues{backlog: []int{0, 0, 0, 0}}
	n, err := c.round(4, 64, q.fetch)
	require.NoError(t, err)
	assert.Zero(t, n)
	assert.Equal(t, 4, q.fetches, "one look at each priority, no refill needed")

	boom := errors.New("boom")
	_, err = c.round(4, 64, func(int, int) (int, error) { return 0, boom })
	assert.ErrorIs(t, err, boom)
}
