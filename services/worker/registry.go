package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/geocluster/geocluster/libs/events"
)

// Sentinel errors of this package. Match them with errors.Is.
var (
	// ErrDuplicateOp is returned by Register for a name already registered.
	ErrDuplicateOp = errors.New("op already registered")
	// ErrUnknownOp is the (permanent) error of a task naming an op this
	// worker does not have.
	ErrUnknownOp = errors.New("unknown op")
	// ErrJobCancelled is the cause of a task context cancelled because its
	// job was cancelled.
	ErrJobCancelled = errors.New("job cancelled")
	// ErrSuperseded is the cause of a task context cancelled because
	// another copy of the same attempt (a speculative backup, or the
	// original) finished first.
	ErrSuperseded = errors.New("another copy of the attempt finished first")
	// ErrDraining is the cause of a task context cancelled because the
	// worker stopped before the task finished; the task is handed back.
	ErrDraining = errors.New("worker draining")
)

// Op runs one task. It returns the task's result (any JSON, or nil) or an
// error; wrap the error with Permanent when retrying cannot help. An op must
// honour ctx: it is cancelled on timeout, job cancellation and at the end of
// a drain, and the worker waits for the op to return.
type Op func(ctx context.Context, t Task) (json.RawMessage, error)

// Task is what an op gets: the released task and the worker's means to
// reach JetStream (object store, KV) and to log.
type Task struct {
	events.TaskMessage
	// WorkerID is the id of the worker running the task.
	WorkerID string
	// JS is the worker's JetStream context.
	JS jetstream.JetStream
	// Tiles reads and writes geo_tiles objects, through the worker's
	// near-cache when it has one.
	Tiles TileStore
	// DataDirs are the directories whose files a task may read by path.
	DataDirs []string
	// OutputDirs are the directories a task may write outputs to by path.
	OutputDirs []string
	// checkpoint is set when the task saved or loaded a checkpoint, which
	// the worker then clears once the task succeeded.
	checkpoint *atomic.Bool
	// Log carries worker_id, job_id, task_id and trace_id.
	Log zerolog.Logger
}

// Registry maps op names to ops. Register everything before Run; a Registry
// is read concurrently while a worker runs and must not change then.
type Registry struct {
	ops map[string]Op
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{ops: map[string]Op{}}
}

// Register adds op under name. It rejects an empty name, a nil op and a
// name already registered (ErrDuplicateOp).
func (r *Registry) Register(name string, op Op) error {
	switch {
	case name == "":
		return errors.New("register op: empty name")
	case op == nil:
		return fmt.Errorf("register op %s: nil op", name)
	}
	if _, dup := r.ops[name]; dup {
		return fmt.Errorf("register op %s: %w", name, ErrDuplicateOp)
	}
	r.ops[name] = op
	return nil
}

// Names returns the registered op names, sorted.
func (r *Registry) Names() []string {
	out := make([]string, 0, len(r.ops))
	for name := range r.ops {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

// Lookup returns the op registered under name.
func (r *Registry) Lookup(name string) (Op, bool) {
	op, ok := r.ops[name]
	return op, ok
}

// permanentError marks an error that retrying cannot fix.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent marks err as permanent: the failed event says so and the
// scheduler dead-letters the task at once instead of retrying. Permanent(nil)
// is nil.
func Permanent(err error) error {
	if err == nil || IsPermanent(err) {
		return err
	}
	return &permanentError{err: err}
}

// IsPermanent reports whether err is or wraps an error marked by Permanent.
func IsPermanent(err error) bool {
	var pe *permanentError
	return errors.As(err, &pe)
}
