package tilecache

import (
	"crypto/sha256"
	"encoding/binary"
	"slices"
)

// Rank orders nodes by rendezvous (highest random weight) hashing for
// object: the first is the object's owner, the next takes over when it
// leaves. The weight of a node is the first 8 bytes, big-endian, of
// SHA-256(node + "\n" + object); ties go to the greater node id. When a
// node leaves, only the objects it owned move; when one joins, it takes
// about 1/n of the objects and nothing else moves.
func Rank(nodes []string, object string) []string {
	type ranked struct {
		node string
		w    uint64
	}
	rs := make([]ranked, len(nodes))
	for i, n := range nodes {
		rs[i] = ranked{n, weight(n, object)}
	}
	slices.SortFunc(rs, func(a, b ranked) int {
		switch {
		case a.w > b.w:
			return -1
		case a.w < b.w:
			return 1
		case a.node > b.node:
			return -1
		case a.node < b.node:
			return 1
		}
		return 0
	})
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.node
	}
	return out
}

// Owner is Rank's first node, "" when there is none.
func Owner(nodes []string, object string) string {
	best, bw := "", uint64(0)
	for _, n := range nodes {
		w := weight(n, object)
		if best == "" || w > bw || (w == bw && n > best) {
			best, bw = n, w
		}
	}
	return best
}

func weight(node, object string) uint64 {
	h := sha256.New()
	h.Write([]byte(node))
	h.Write([]byte{'\n'})
	h.Write([]byte(object))
	var sum [sha256.Size]byte
	return binary.BigEndian.Uint64(h.Sum(sum[:0]))
}
