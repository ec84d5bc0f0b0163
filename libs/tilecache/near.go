package tilecache

import (
	"github.com/geocluster/geocluster/libs/tilecache/lru"
	"github.com/geocluster/geocluster/libs/tilecache/watch"
)

type nearEvent struct {
	object string
	held   bool
}

// nearGet returns object's near bytes if they are at least minV and the
// version watch is live.
func (c *Client) nearGet(object string, minV uint64) ([]byte, bool) {
	c.mu.Lock()
	e, ok := c.near.Get(object)
	if !ok {
		c.mu.Unlock()
		return nil, false
	}
	if e.Version >= minV && c.versions.Synced() {
		c.mu.Unlock()
		return e.Value, true
	}
	if e.Version < minV {
		c.near.Remove(object)
		c.n.invalidations.Add(1)
		c.pending = append(c.pending, nearEvent{object, false})
	}
	c.unlockAndNotify()
	return nil, false
}

// nearFill stores version v of object unless a newer version is known or
// the version watch is down.
func (c *Client) nearFill(object string, v uint64, data []byte) {
	if c.cfg.NearMaxBytes == 0 {
		return
	}
	c.mu.Lock()
	if v < c.versions.Latest(object) || !c.versions.Synced() {
		c.mu.Unlock()
		return
	}
	old, had := c.near.Peek(object)
	if had && old.Version >= v {
		c.mu.Unlock()
		return
	}
	stored := c.near.Add(object, lru.Entry{Version: v, Value: data, Raw: len(data)})
	if stored && !had {
		c.pending = append(c.pending, nearEvent{object, true})
	}
	if !stored && had {
		c.pending = append(c.pending, nearEvent{object, false})
	}
	c.unlockAndNotify()
}

// invalidate drops a near entry older than a new version (from the watch).
func (c *Client) invalidate(ch watch.Change) {
	c.mu.Lock()
	e, ok := c.near.Peek(ch.Object)
	if !ok || (!ch.Deleted && e.Version >= ch.Version) {
		c.mu.Unlock()
		return
	}
	c.near.Remove(ch.Object)
	c.n.invalidations.Add(1)
	c.pending = append(c.pending, nearEvent{ch.Object, false})
	c.unlockAndNotify()
}

// unlockAndNotify releases c.mu and runs OnNear for the pending events, in
// order: the callback lock is taken before c.mu is released, so events of
// concurrent changes reach the callback in the order they happened.
func (c *Client) unlockAndNotify() {
	evs := c.pending
	c.pending = nil
	if len(evs) == 0 || c.cfg.OnNear == nil {
		c.mu.Unlock()
		return
	}
	c.cbMu.Lock()
	c.mu.Unlock()
	defer c.cbMu.Unlock()
	for _, ev := range evs {
		c.cfg.OnNear(ev.object, ev.held)
	}
}
