package replicator

import (
	"context"
	"encoding/json"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/geocluster/geocluster/libs/events"
)

// reporter publishes replicator events for one tenure.
type reporter struct {
	js      jetstream.JetStream
	log     zerolog.Logger
	id      string
	token   uint64
	timeout time.Duration
}

// publish stores e on geo.replicator.<kind>. A failed publish is logged:
// the state it reports is read again at the next check.
func (r *reporter) publish(ctx context.Context, e events.ReplicatorEvent) {
	e.V, e.Replicator, e.Token, e.At = events.Version, r.id, r.token, time.Now().UTC()
	data, err := json.Marshal(e)
	if err != nil {
		r.log.Error().Err(err).Str("kind", e.Kind).Msg("encode event")
		return
	}
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	if _, err := r.js.Publish(ctx, events.ReplicatorEventSubject(e.Kind), data, jetstream.WithMsgID(events.NewID())); err != nil {
		r.log.Warn().Err(err).Str("kind", e.Kind).Msg("event not published")
	}
}
