// Package cache is a node of the distributed tile cache: it holds tiles of
// the geo_tiles object store in memory and serves them over request/reply
// (libs/tilecache is the client).
//
// Nodes register in geo_cache_nodes (a heartbeat every third of the
// bucket's TTL; the key is deleted on a clean stop) and clients route each
// object to its owner by rendezvous hashing over the live nodes
// (tilecache.Rank). When a node joins, the others drop the entries it now
// owns. A node serves any object it is asked for: gets on
// geo.cache.<id>.get (read through to the store on a miss) and write-through
// puts on geo.cache.<id>.put, from a plain subscription feeding a bounded
// pool of workers. Entries live in an LRU bounded in bytes; entries above a
// threshold are stored zstd-compressed when that saves at least a tenth.
//
// Coherency: the version of a tile is the revision of its key in geo_cache.
// The node watches the bucket and drops every entry older than the latest
// version; a get carries the newest version the reader knows of and the
// node never answers with older bytes (it reads the store again). While
// the watch is lost (it is recreated with backoff) the node serves from the
// store only.
//
// States: starting (provision the topology, replay geo_cache and
// geo_cache_nodes, subscribe, register), running (serve, heartbeat,
// statistics on geo.cache.<id>.stats every StatsInterval), stopping (ctx
// done: deregister, drain the subscriptions and finish the requests taken,
// publish the last statistics, Run returns nil).
package cache
