package replicator

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/geocluster/geocluster/libs/events"
)

// mirrorConfig is the stream of a copy of object store source: it sources
// OBJ_<source> and renames $O.<source>.> to $O.<bucket>.>, so the copy
// reads as object store bucket with any client. Rollups of descriptions
// apply as they do in the source; deletes and purges of old chunks do not
// travel, so the copy keeps superseded chunks until it is purged or
// recreated.
//
// It is a sourcing stream, not a Mirror: the server makes a mirror of a
// stream that allows direct gets answer the origin's direct gets too
// (mirror_direct, forced to the origin's allow_direct), without applying
// the subject transform, so reads of geo_tiles would randomly find nothing
// when the mirror answered (seen with nats-server v2.15.2). A source does
// not take part in the origin's reads.
func mirrorConfig(source string, m Mirror, storage jetstream.StorageType) jetstream.StreamConfig {
	cfg := jetstream.StreamConfig{
		Name:        events.ObjectStream(m.Bucket),
		Description: "copy of object store " + source,
		Sources: []*jetstream.StreamSource{{
			Name: events.ObjectStream(source),
			SubjectTransforms: []jetstream.SubjectTransformConfig{
				{Source: events.ObjectSubjects(source), Destination: events.ObjectSubjects(m.Bucket)},
			},
		}},
		Storage:     storage,
		Replicas:    m.Replicas,
		MaxBytes:    -1,
		Discard:     jetstream.DiscardNew,
		AllowRollup: true,
		AllowDirect: true,
	}
	if m.Cluster != "" || len(m.Tags) > 0 {
		cfg.Placement = &jetstream.Placement{Cluster: m.Cluster, Tags: m.Tags}
	}
	return cfg
}

// ensureMirror creates or updates the mirror of source.
func ensureMirror(ctx context.Context, js jetstream.JetStream, source string, m Mirror, storage jetstream.StorageType) error {
	cfg := mirrorConfig(source, m, storage)
	if _, err := js.CreateOrUpdateStream(ctx, cfg); err != nil {
		return fmt.Errorf("ensure mirror %s of %s: %w", m.Bucket, source, err)
	}
	return nil
}
