package events

import (
	"context"
	"errors"

	"github.com/nats-io/nats.go/jetstream"
)

// Latest returns the current entry of every key of kv matching filter.
// It reads them with one watch (an ordered consumer, which the server
// places on the stream's leader) rather than a get per key: gets may be
// answered by any replica (direct gets), and a replica that lags would hand
// a reader records older than what their writer acted on.
func Latest(ctx context.Context, kv jetstream.KeyValue, filter string) (map[string]jetstream.KeyValueEntry, error) {
	w, err := kv.Watch(ctx, filter, jetstream.IgnoreDeletes())
	if err != nil {
		return nil, err
	}
	defer func() { _ = w.Stop() }()
	out := map[string]jetstream.KeyValueEntry{}
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case e, ok := <-w.Updates():
			if !ok {
				return nil, errors.New("watch ended before its initial values")
			}
			if e == nil {
				return out, nil // every current value is delivered
			}
			out[e.Key()] = e
		}
	}
}
