package scheduler

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/geocluster/geocluster/libs/events"
)

// subscribeHoldings delivers the workers' holdings announcements to ch.
// A channel subscription is filled by the connection's reader in the order
// messages arrive, so an announcement a worker published before a task's
// completion is in ch before the loop sees that completion (the loop
// drains ch before each batch).
func subscribeHoldings(nc *nats.Conn, ch chan *nats.Msg) (*nats.Subscription, error) {
	sub, err := nc.ChanSubscribe(events.AllWorkerHoldings, ch)
	if err != nil {
		return nil, fmt.Errorf("subscribe %s: %w", events.AllWorkerHoldings, err)
	}
	return sub, nil
}

// watchWorkersLoop feeds the loop the workers' registrations in
// geo_workers (a KV watch, recreated with backoff when it ends early) until
// ctx is done.
func watchWorkersLoop(ctx context.Context, js jetstream.JetStream, push func(item)) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		if err := watchWorkers(ctx, js, push); err == nil {
			backoff = 100 * time.Millisecond
		}
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
			backoff = min(2*backoff, 5*time.Second)
		}
	}
}

// watchWorkers follows geo_workers until ctx is done or the watch ends.
func watchWorkers(ctx context.Context, js jetstream.JetStream, push func(item)) error {
	kv, err := js.KeyValue(ctx, events.BucketWorkers)
	if err != nil {
		return fmt.Errorf("bind %s: %w", events.BucketWorkers, err)
	}
	w, err := kv.WatchAll(ctx)
	if err != nil {
		return fmt.Errorf("watch %s: %w", events.BucketWorkers, err)
	}
	defer func() { _ = w.Stop() }()
	for {
		select {
		case <-ctx.Done():
			return nil
		case e, ok := <-w.Updates():
			if !ok {
				return fmt.Errorf("watch %s ended", events.BucketWorkers)
			}
			if e == nil {
				continue // the initial values are all delivered
			}
			if e.Operation() != jetstream.KeyValuePut {
				// A TTL expiry marker reads as a purge, a worker's own
				// deregistration as a delete.
				push(item{kind: itemWorker, worker: e.Key(), expired: e.Operation() == jetstream.KeyValuePurge})
				continue
			}
			var info events.WorkerInfo
			if err := json.Unmarshal(e.Value(), &info); err != nil || info.ID != e.Key() {
				continue
			}
			push(item{kind: itemWorker, worker: e.Key(), info: &info})
		}
	}
}
