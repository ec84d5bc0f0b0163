// Package replicator keeps the platform's data at its target replication
// without an operator.
//
// Any number of replicas may run; one acts at a time, the holder of the
// "replicator" lease in geo_leases (libs/lease). The others campaign and
// take over when the holder's lease lapses. Every event carries the
// holder's fencing token.
//
// While it leads, the replicator runs two loops:
//
//   - heal (every CheckEvery): reads the cluster info of every replicated
//     stream (the object store stream OBJ_geo_tiles, the KV streams, the
//     platform streams). A replica whose server stays offline for
//     OfflineGrace is moved: the replicator asks the meta leader
//     ($JS.API.STREAM.PEER.REMOVE.<stream>) to drop that peer, and the meta
//     leader places a new replica (and the stream's consumers) on a healthy
//     server, which catches up from the others. Without a spare server the
//     request is refused and retried every check, so a node that joins later
//     is used at once. Events: peer_lost, replica_moved,
//     replication_restored.
//   - scrub (every ScrubEvery, when set): reads every object of geo_tiles
//     through the client API, hashes it and compares the SHA-256 digest its
//     description records. A corrupt, incomplete or missing object is
//     rewritten from the mirror when the mirror holds a copy with the same
//     digest. Events: object_corrupt, object_repaired, scrubbed.
//
// With Mirror.Bucket set, Run keeps a second object store that copies
// geo_tiles (a stream sourcing OBJ_geo_tiles with a subject transform, so
// it reads as an object store of its own; see mirrorConfig for why it is
// not a JetStream Mirror), optionally placed in another cluster or zone by
// placement tags.
//
// States of the service: starting (validate; provision and ensure the
// mirror, retried with backoff until they succeed, because the replicator
// is needed most when the cluster is sick), campaigning, leading (heal and
// scrub run), stopping (ctx done: the loops stop, the lease is released,
// Run returns nil).
package replicator
