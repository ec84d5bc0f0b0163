// Package tilecache is the client of the distributed tile cache: workers
// read and write tiles of the geo_tiles object store through it.
//
// A Client keeps a small near-cache (an LRU bounded in bytes) in front of
// the cache nodes (services/cache). A read tries the near-cache, then the
// node that owns the object by rendezvous hashing over the live nodes
// (Rank), then the next node, then the object store itself. A write goes to
// the store, bumps the object's version in geo_cache, fills the near-cache
// and writes through to the owner node.
//
// Coherency: an object's version is the revision of its key in geo_cache
// (events.CacheKey); every write bumps it after the bytes are in the store.
// The client watches geo_cache and drops near entries older than the latest
// version; a read asks nodes for at least the latest version it knows of,
// so it never returns bytes older than a version it has seen. Bytes read
// from the store are labelled with the version read just before them
// (Load), which is never newer than the bytes.
//
// The package does not log; watch errors go to Config.OnError.
package tilecache
