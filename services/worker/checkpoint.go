package worker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/geocluster/geocluster/libs/events"
)

// Checkpoints: a long task saves its progress (for example how many tiles
// it wrote) in geo_checkpoints under its task key; when the task runs again
// — redelivered after its worker died, or retried after a failure — it
// loads that progress and resumes instead of starting over. The worker
// deletes the checkpoint once the task succeeded. Ops must write outputs
// idempotently up to the checkpoint (the same bytes under the same names),
// as every op must anyway.

// ErrNoCheckpoint is returned by LoadCheckpoint when nothing was saved.
var ErrNoCheckpoint = errors.New("no checkpoint")

// MaxCheckpointBytes bounds one checkpoint.
const MaxCheckpointBytes = 64 << 10

// checkpointTimeout bounds one checkpoint read or write, so that a reply
// lost with a dying NATS node fails it instead of holding the task.
const checkpointTimeout = 10 * time.Second

// SaveCheckpoint stores the task's progress, replacing the last one.
func (t Task) SaveCheckpoint(ctx context.Context, data []byte) error {
	if len(data) > MaxCheckpointBytes {
		return Permanent(fmt.Errorf("checkpoint of %d bytes is over the %d-byte limit", len(data), MaxCheckpointBytes))
	}
	ctx, cancel := context.WithTimeout(ctx, checkpointTimeout)
	defer cancel()
	kv, err := t.JS.KeyValue(ctx, events.BucketCheckpoints)
	if err != nil {
		return fmt.Errorf("bind %s: %w", events.BucketCheckpoints, err)
	}
	if _, err := kv.Put(ctx, events.TaskKey(t.Tenant, t.JobID, t.TaskID), data); err != nil {
		return fmt.Errorf("save checkpoint: %w", err)
	}
	if t.checkpoint != nil {
		t.checkpoint.Store(true)
	}
	return nil
}

// LoadCheckpoint returns the progress an earlier run of the task saved, or
// ErrNoCheckpoint.
func (t Task) LoadCheckpoint(ctx context.Context) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, checkpointTimeout)
	defer cancel()
	kv, err := t.JS.KeyValue(ctx, events.BucketCheckpoints)
	if err != nil {
		return nil, fmt.Errorf("bind %s: %w", events.BucketCheckpoints, err)
	}
	e, err := kv.Get(ctx, events.TaskKey(t.Tenant, t.JobID, t.TaskID))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, ErrNoCheckpoint
	}
	if err != nil {
		return nil, fmt.Errorf("load checkpoint: %w", err)
	}
	if t.checkpoint != nil {
		t.checkpoint.Store(true)
	}
	return e.Value(), nil
}

// clearCheckpoint removes the checkpoint of a task that succeeded. A
// failure only leaves it to the bucket's TTL.
func (w *worker) clearCheckpoint(ctx context.Context, m events.TaskMessage) {
	kv, err := w.js.KeyValue(ctx, events.BucketCheckpoints)
	if err != nil {
		return
	}
	_ = kv.Purge(ctx, events.TaskKey(m.Tenant, m.JobID, m.TaskID))
}
