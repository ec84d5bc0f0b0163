package tilecache_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/geocluster/geocluster/libs/tilecache"
)

func TestRankMovesOnlyTheLeavingNodesObjects(t *testing.T) {
	t.Parallel()
	nodes := []string{"c1", "c2", "c3"}
	owned := map[string]int{}
	moved := 0
	for i := range 3000 {
		o := fmt.Sprintf("job/t_%d.tif", i)
		r := tilecache.Rank(nodes, o)
		assert.Equal(t, r[0], tilecache.Owner(nodes, o))
		assert.ElementsMatch(t, nodes, r)
		owned[r[0]]++
		after := tilecache.Owner(slices.DeleteFunc(slices.Clone(nodes), func(n string) bool { return n == "c2" }), o)
		if r[0] != "c2" {
			assert.Equal(t, r[0], after, "an object of a staying node does not move")
		} else {
			moved++
			assert.Equal(t, r[1], after, "the runner-up takes over")
		}
	}
	for _, n := range nodes {
		assert.InDelta(t, 1000, owned[n], 150, "node %s owns about a third", n)
	}
	assert.Equal(t, owned["c2"], moved)
	assert.Equal(t, "", tilecache.Owner(nil, "x"))
	assert.Empty(t, tilecache.Rank(nil, "x"))
}
