package events

import (
	"encoding/base64"
	"encoding/json"
	"time"
)

// Names the replicator uses. The object store layout ($O.<bucket>.M.<name>,
// $O.<bucket>.C.<nuid>, stream OBJ_<bucket>) is the one every NATS client
// library shares.
const (
	// LeaseReplicator is the replicator's lease key in geo_leases.
	LeaseReplicator = "replicator"
	// ObjectTilesMirror is the default name of the object store that
	// mirrors geo_tiles.
	ObjectTilesMirror = "geo_tiles_mirror"
)

// ObjectStream is the stream behind object store bucket: OBJ_<bucket>.
func ObjectStream(bucket string) string { return "OBJ_" + bucket }

// ObjectSubjects matches every subject of object store bucket: $O.<bucket>.>.
func ObjectSubjects(bucket string) string { return "$O." + bucket + ".>" }

// ObjectMetaSubject is where the description of object name lives:
// $O.<bucket>.M.<base64url(name), padded>.
func ObjectMetaSubject(bucket, name string) string {
	return "$O." + bucket + ".M." + base64.URLEncoding.EncodeToString([]byte(name))
}

// ObjectChunkSubject is where the chunks of one version of an object live:
// $O.<bucket>.C.<nuid>.
func ObjectChunkSubject(bucket, nuid string) string { return "$O." + bucket + ".C." + nuid }

// Replicator event kinds: the last token of geo.replicator.<kind>.
const (
	// ReplicatorPeerLost: a stream replica's server stayed offline past the
	// grace period (Peer, Streams, OfflineMS).
	ReplicatorPeerLost = "peer_lost"
	// ReplicatorReplicaMoved: the meta leader was asked to replace Peer's
	// replica of Stream with one on a healthy server.
	ReplicatorReplicaMoved = "replica_moved"
	// ReplicatorReplicationRestored: Stream is back at its target
	// (Replicas current replicas, none offline) after a move.
	ReplicatorReplicationRestored = "replication_restored"
	// ReplicatorObjectCorrupt: a scrub found Object unreadable, incomplete,
	// or not matching its digest (Reason), or missing while the mirror has it.
	ReplicatorObjectCorrupt = "object_corrupt"
	// ReplicatorObjectRepaired: Object was rewritten from a verified copy.
	ReplicatorObjectRepaired = "object_repaired"
	// ReplicatorScrubbed: a scrub pass ended (Scrub holds the counts).
	ReplicatorScrubbed = "scrubbed"
)

// ReplicatorEvent is what the replicator publishes on
// geo.replicator.<kind>, kept in EVENTS. Fields not relevant to a kind are
// omitted.
type ReplicatorEvent struct {
	V    int    `json:"v"`
	Kind string `json:"kind"`
	// Replicator is the id of the acting replica and Token the fencing
	// token of its lease.
	Replicator string `json:"replicator"`
	Token      uint64 `json:"token,omitempty"`
	// Peer is a server name.
	Peer string `json:"peer,omitempty"`
	// Stream is a stream name; Streams the streams Peer held replicas of.
	Stream  string   `json:"stream,omitempty"`
	Streams []string `json:"streams,omitempty"`
	// Replicas is the stream's target replication.
	Replicas int `json:"replicas,omitempty"`
	// OfflineMS is how long Peer had been seen offline; RestoredMS how long
	// after the peer was first seen offline the stream was whole again.
	OfflineMS  int64 `json:"offline_ms,omitempty"`
	RestoredMS int64 `json:"restored_ms,omitempty"`
	// Bucket, Object, Digest ("SHA-256=<base64url>") name a tile object.
	Bucket string `json:"bucket,omitempty"`
	Object string `json:"object,omitempty"`
	Digest string `json:"digest,omitempty"`
	// Source is where a repaired object was copied from (a bucket).
	Source string `json:"source,omitempty"`
	// Reason explains a corrupt object.
	Reason string       `json:"reason,omitempty"`
	Scrub  *ScrubReport `json:"scrub,omitempty"`
	At     time.Time    `json:"at"`
}

// ScrubReport counts one scrub pass over a bucket.
type ScrubReport struct {
	Bucket string `json:"bucket"`
	// Objects were verified; OK matched their digest.
	Objects int `json:"objects"`
	OK      int `json:"ok"`
	// Corrupt were unreadable, incomplete or mismatched; Missing were in the
	// mirror but gone from the bucket.
	Corrupt int `json:"corrupt"`
	Missing int `json:"missing"`
	// Repaired were rewritten from the mirror; Unrepaired had no good copy.
	Repaired   int     `json:"repaired"`
	Unrepaired int     `json:"unrepaired"`
	DurationMS float64 `json:"duration_ms"`
}

// DecodeReplicatorEvent decodes a replicator event.
func DecodeReplicatorEvent(data []byte) (ReplicatorEvent, error) {
	var e ReplicatorEvent
	if err := json.Unmarshal(data, &e); err != nil {
		return ReplicatorEvent{}, jsonError("", err)
	}
	if e.V != Version {
		return ReplicatorEvent{}, &ValidationError{Field: "v", Reason: "unsupported version", kind: ErrUnsupportedVersion}
	}
	if !ValidToken(e.Kind) {
		return ReplicatorEvent{}, invalid("kind", "is not a valid token")
	}
	return e, nil
}

// JetStream API subjects the replicator calls (the server's, in the
// default domain).

// JSAPIStreamPeerRemove asks the meta leader to move stream's replica off a
// peer: $JS.API.STREAM.PEER.REMOVE.<stream>, body {"peer":"<server name>"}.
func JSAPIStreamPeerRemove(stream string) string { return "$JS.API.STREAM.PEER.REMOVE." + stream }

// JSAPIStreamMsgGet reads a message through the stream's leader (never a
// direct get): $JS.API.STREAM.MSG.GET.<stream>, body {"last_by_subj":…}.
func JSAPIStreamMsgGet(stream string) string { return "$JS.API.STREAM.MSG.GET." + stream }

// JSAPIDirectGetFilter matches the direct gets of stream, which any replica
// may answer: $JS.API.DIRECT.GET.<stream>.>.
func JSAPIDirectGetFilter(stream string) string { return "$JS.API.DIRECT.GET." + stream + ".>" }
