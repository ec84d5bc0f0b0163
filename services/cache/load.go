package cache

import (
	"context"
	"errors"

	"github.com/geocluster/geocluster/libs/tilecache"
)

// flight is one read of the store that concurrent misses of the same
// object share.
type flight struct {
	minV uint64
	done chan struct{}
	data []byte
	v    uint64
	err  error
}

// load reads object from the store (at least version minV), sharing a read
// in flight when that one asked for at least minV, and holds the result.
func (n *node) load(ctx context.Context, object string, minV uint64) ([]byte, uint64, error) {
	n.mu.Lock()
	if f, ok := n.flights[object]; ok && f.minV >= minV {
		n.mu.Unlock()
		select {
		case <-f.done:
			return f.data, f.v, f.err
		case <-ctx.Done():
			return nil, 0, ctx.Err()
		}
	}
	f := &flight{minV: minV, done: make(chan struct{})}
	n.flights[object] = f
	n.mu.Unlock()

	// An object too large to send is not read: its info tells.
	f.data, f.v, f.err = tilecache.LoadAtMost(ctx, n.kv, n.store, object, minV, n.maxObject())
	switch {
	case errors.Is(f.err, tilecache.ErrTooLarge):
		n.mu.Lock()
		n.tooLarge[object] = f.v
		n.mu.Unlock()
	case f.err == nil:
		n.hold(object, f.v, f.data)
	}
	n.mu.Lock()
	if n.flights[object] == f {
		delete(n.flights, object)
	}
	n.mu.Unlock()
	close(f.done)
	return f.data, f.v, f.err
}

// knownTooLarge reports whether object at version minV or newer is known
// to be too large to send.
func (n *node) knownTooLarge(object string, minV uint64) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	v, ok := n.tooLarge[object]
	return ok && v >= minV
}
