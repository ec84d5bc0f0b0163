package tilecache

import "sync/atomic"

// Stats are a client's counters since New.
type Stats struct {
	// NearHits were answered from the near-cache, RemoteHits by a cache
	// node, Misses from the object store.
	NearHits   uint64
	RemoteHits uint64
	Misses     uint64
	// RemoteBytes were fetched from cache nodes, StoreBytes from the object
	// store: together the data that crossed the network for reads.
	RemoteBytes uint64
	StoreBytes  uint64
	// Writes made by Put and their bytes.
	Writes     uint64
	WriteBytes uint64
	// NearEvictions dropped near entries for room; Invalidations dropped
	// them because a newer version was written.
	NearEvictions uint64
	Invalidations uint64
	// NodeErrors counts node requests that failed (timeout, no responder,
	// error status): the read went on to the next node or the store.
	NodeErrors uint64
	// WriteThroughErrors counts Put's write-throughs that failed (the
	// write itself succeeded).
	WriteThroughErrors uint64
	// NearEntries and NearBytes held now.
	NearEntries int
	NearBytes   int64
}

type counters struct {
	nearHits, remoteHits, misses   atomic.Uint64
	remoteBytes, storeBytes        atomic.Uint64
	writes, writeBytes             atomic.Uint64
	nearEvictions, invalidations   atomic.Uint64
	nodeErrors, writeThroughErrors atomic.Uint64
}

// Stats returns the counters.
func (c *Client) Stats() Stats {
	s := Stats{
		NearHits: c.n.nearHits.Load(), RemoteHits: c.n.remoteHits.Load(), Misses: c.n.misses.Load(),
		RemoteBytes: c.n.remoteBytes.Load(), StoreBytes: c.n.storeBytes.Load(),
		Writes: c.n.writes.Load(), WriteBytes: c.n.writeBytes.Load(),
		NearEvictions: c.n.nearEvictions.Load(), Invalidations: c.n.invalidations.Load(),
		NodeErrors: c.n.nodeErrors.Load(), WriteThroughErrors: c.n.writeThroughErrors.Load(),
	}
	c.mu.Lock()
	s.NearEntries, s.NearBytes = c.near.Len(), c.near.Bytes()
	c.mu.Unlock()
	return s
}
