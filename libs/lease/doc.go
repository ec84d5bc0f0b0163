// Package lease elects one actor among many replicas of a service: the
// scheduler's release loop, the autoscaler, the replicator's repairs. A
// lease is a key in the geo_leases KV bucket (events.BucketLeases), written
// by compare-and-set and expired by the server with a per-key TTL.
//
// # Protocol
//
//   - Acquire: create the key (expected last subject sequence 0, or the
//     revision of its delete marker) with a message TTL. Exactly one
//     contender's create succeeds; the others get ErrHeld.
//   - Renew: publish to $KV.<bucket>.<key> with the expected last subject
//     sequence set to the holder's last revision and the TTL header again
//     (a KV Update would drop the per-key TTL). A wrong-sequence answer
//     means someone else wrote the key: the lease is lost (ErrLost).
//   - Expire: a holder that stops renewing loses the key TTL after its last
//     write; the server replaces it with a delete marker (the bucket has
//     LimitMarkerTTL) and the next Acquire succeeds.
//   - Release: delete the key with the holder's revision expected, so a
//     successor can take over at once.
//
// The fencing token of a tenure is the key's revision when it was acquired.
// Every write to the key is a message of one stream, so a successor's token
// is greater than any revision its predecessors wrote; anything a leader
// writes elsewhere can carry the token, and a store that remembers the
// highest token it saw can refuse a deposed leader's late writes.
//
// # States
//
// Run drives one contender through these states, reported to
// Config.OnChange:
//
//   - Campaigning: trying Acquire every RetryEvery.
//   - Leading: the lease is held; lead runs with a context that is
//     cancelled, with cause ErrLost, as soon as the lease may have passed to
//     someone else.
//   - Lost: a renewal was refused, or none succeeded before the lease's
//     deadline (its last write plus the TTL, minus half a renewal period as
//     a margin). lead's context is cancelled before the server can expire
//     the key, so two leaders never act at once as long as clocks run at
//     the same rate.
//   - Released: the holder stopped (ctx done, or lead returned) and deleted
//     the key.
//
// Campaigning leads to Leading; Leading to Lost (then Campaigning again) or
// to Released (then Campaigning again unless ctx is done).
//
// The package does not log: it returns errors and reports states.
package lease
