package events

import (
	"encoding/json"
	"time"
)

// JobRecord is a job's state in geo_jobs under JobKey(tenant, id). The
// scheduler writes it; anyone may read or watch it (nats kv get geo_jobs ...).
type JobRecord struct {
	V         int               `json:"v"`
	ID        string            `json:"id"`
	Tenant    string            `json:"tenant"`
	Name      string            `json:"name,omitempty"`
	State     JobState          `json:"state"`
	Priority  Priority          `json:"priority"`
	OnFailure FailurePolicy     `json:"on_failure"`
	Labels    map[string]string `json:"labels,omitempty"`
	Total     int               `json:"total"`
	Counts    TaskCounts        `json:"counts"`
	// Error says why a job failed or was cancelled.
	Error       string     `json:"error,omitempty"`
	SubmittedAt time.Time  `json:"submitted_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	FinishedAt  *time.Time `json:"finished_at,omitempty"`
	// Retry is the job's retry policy as submitted (nil: defaults).
	Retry *RetryPolicy `json:"retry,omitempty"`
	// TraceParent is the W3C trace context the job's work continues.
	TraceParent string `json:"traceparent,omitempty"`
}

// TaskCounts counts a job's tasks by stored state.
type TaskCounts struct {
	Pending   int `json:"pending"`
	Queued    int `json:"queued"`
	Running   int `json:"running"`
	Retrying  int `json:"retrying"`
	Succeeded int `json:"succeeded"`
	Failed    int `json:"failed"`
	Skipped   int `json:"skipped"`
	Cancelled int `json:"cancelled"`
}

// Add adds d to the counter of state s.
func (c *TaskCounts) Add(s TaskState, d int) {
	switch s {
	case TaskPending:
		c.Pending += d
	case TaskQueued:
		c.Queued += d
	case TaskRunning:
		c.Running += d
	case TaskRetrying:
		c.Retrying += d
	case TaskSucceeded:
		c.Succeeded += d
	case TaskFailed:
		c.Failed += d
	case TaskSkipped:
		c.Skipped += d
	case TaskCancelled:
		c.Cancelled += d
	}
}

// Done is the number of tasks in a terminal state.
func (c TaskCounts) Done() int { return c.Succeeded + c.Failed + c.Skipped + c.Cancelled }

// TaskRecord is a task's state in geo_tasks under TaskKey(tenant, job, task).
type TaskRecord struct {
	V        int             `json:"v"`
	Spec     TaskSpec        `json:"spec"`
	State    TaskState       `json:"state"`
	Attempt  int             `json:"attempt"`
	WorkerID string          `json:"worker_id,omitempty"`
	Result   json.RawMessage `json:"result,omitempty"`
	Errors   []AttemptError  `json:"errors,omitempty"`
	RetryAt  *time.Time      `json:"retry_at,omitempty"`
	// DirectedTo and LocalUntil: the current attempt was offered to one
	// worker for data locality; the shared copy follows at LocalUntil
	// unless the attempt started.
	DirectedTo string     `json:"directed_to,omitempty"`
	LocalUntil *time.Time `json:"local_until,omitempty"`
	UpdatedAt  time.Time  `json:"updated_at"`
}

// AttemptError is the error of one failed attempt.
type AttemptError struct {
	Attempt  int       `json:"attempt"`
	WorkerID string    `json:"worker_id,omitempty"`
	Error    string    `json:"error"`
	At       time.Time `json:"at"`
}

// WorkerInfo is a worker's registration in geo_workers under its id,
// refreshed every heartbeat; the bucket's TTL removes a silent worker.
type WorkerInfo struct {
	V        int               `json:"v"`
	ID       string            `json:"id"`
	Pool     string            `json:"pool"`
	Host     string            `json:"host,omitempty"`
	Ops      []string          `json:"ops"`
	Capacity int               `json:"capacity"`
	OpLimits map[string]int    `json:"op_limits,omitempty"`
	Labels   map[string]string `json:"labels,omitempty"`
	// Zone is the worker's "zone" label, for placement.
	Zone      string      `json:"zone,omitempty"`
	Running   int         `json:"running"`
	Completed uint64      `json:"completed"`
	Failed    uint64      `json:"failed"`
	State     WorkerState `json:"state"`
	// Tiles counts the worker's tile reads since it started.
	Tiles *WorkerTileStats `json:"tiles,omitempty"`
	// Breakers are the states of the worker's circuit breakers by op:
	// "closed" (runs the op), "open" (refuses its tasks) or "half_open"
	// (runs a few probes); absent when the breakers are off.
	Breakers    map[string]string `json:"breakers,omitempty"`
	StartedAt   time.Time         `json:"started_at"`
	HeartbeatAt time.Time         `json:"heartbeat_at"`
}

// WorkerTileStats are a worker's tile reads: from its near-cache, from
// cache nodes, from the object store, and the bytes that crossed the
// network for them (the figure data locality lowers).
type WorkerTileStats struct {
	NearHits    uint64 `json:"near_hits"`
	RemoteHits  uint64 `json:"remote_hits"`
	Misses      uint64 `json:"misses"`
	RemoteBytes uint64 `json:"remote_bytes"`
	StoreBytes  uint64 `json:"store_bytes"`
	NearBytes   int64  `json:"near_bytes"`
	NearEntries int    `json:"near_entries"`
}
