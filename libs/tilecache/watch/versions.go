package watch

import (
	"context"
	"sync"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/geocluster/geocluster/libs/events"
)

// Change is one change of an object's version. Deleted says the object's
// key was removed from geo_cache: whatever copy a holder has is no longer
// backed by a known version.
type Change struct {
	Object  string
	Version uint64
	Deleted bool
}

// Versions knows the latest version of every tile object in geo_cache: the
// revision of the object's key (events.CacheKey). It keeps one map entry
// per key (the object name and a number), the price of never having to ask.
type Versions struct {
	// OnChange is called, in order, from the watching goroutine for every
	// new version and every deletion, during the replay too; holders drop
	// their copies older than the version. It must not block for long.
	OnChange func(Change)
	// OnError receives watch errors (the watcher is recreated).
	OnError func(error)

	kv      jetstream.KeyValue
	mu      sync.RWMutex
	latest  map[string]uint64
	seen    map[string]bool // keys of the current replay
	ready   bool
	readyC  chan struct{}
	once    sync.Once
	restart restarter
}

// NewVersions returns a follower of kv (the geo_cache bucket). Set the
// callbacks, then Run it.
func NewVersions(kv jetstream.KeyValue) *Versions {
	return &Versions{kv: kv, latest: map[string]uint64{}, readyC: make(chan struct{}), restart: newRestarter()}
}

// Run follows the bucket until ctx is done.
func (v *Versions) Run(ctx context.Context) { follow(ctx, v.kv, v, v.OnError, v.restart) }

// Restart recreates the watcher; until its replay is complete the versions
// are not Synced.
func (v *Versions) Restart() {
	v.lost()
	v.restart.signal()
}

// WaitSynced blocks until the first replay of the bucket is complete.
func (v *Versions) WaitSynced(ctx context.Context) error {
	select {
	case <-v.readyC:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Synced reports whether the watch is live and past its replay. While it is
// not, holders must not trust their copies.
func (v *Versions) Synced() bool {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.ready
}

// Latest is the newest version of object known (0: none).
func (v *Versions) Latest(object string) uint64 {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.latest[object]
}

// Observe raises object's latest version to version, as a writer does with
// the revision of its own bump before the watch brings it.
func (v *Versions) Observe(object string, version uint64) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if version > v.latest[object] {
		v.latest[object] = version
	}
}

// Len is the number of objects known.
func (v *Versions) Len() int {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return len(v.latest)
}

func (v *Versions) begin() {
	v.mu.Lock()
	v.seen = map[string]bool{}
	v.mu.Unlock()
}

func (v *Versions) apply(e jetstream.KeyValueEntry) {
	object, ok := events.ObjectFromCacheKey(e.Key())
	if !ok {
		return
	}
	ch := Change{Object: object, Version: e.Revision()}
	v.mu.Lock()
	if e.Operation() != jetstream.KeyValuePut {
		ch.Deleted = true
		delete(v.latest, object)
	} else if ch.Version > v.latest[object] {
		v.latest[object] = ch.Version
	}
	if v.seen != nil && !ch.Deleted {
		v.seen[object] = true
	}
	v.mu.Unlock()
	if v.OnChange != nil {
		v.OnChange(ch)
	}
}

// synced ends a replay: objects known before but absent from the replay
// were deleted while no watcher ran.
func (v *Versions) synced() {
	var gone []string
	v.mu.Lock()
	if !v.ready && v.seen != nil {
		for object := range v.latest {
			if !v.seen[object] {
				gone = append(gone, object)
				delete(v.latest, object)
			}
		}
	}
	v.seen = nil
	v.ready = true
	v.mu.Unlock()
	v.once.Do(func() { close(v.readyC) })
	if v.OnChange != nil {
		for _, object := range gone {
			v.OnChange(Change{Object: object, Deleted: true})
		}
	}
}

func (v *Versions) lost() {
	v.mu.Lock()
	v.ready = false
	v.mu.Unlock()
}
