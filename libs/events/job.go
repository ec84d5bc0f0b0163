package events

import (
	"encoding/json"
	"time"
)

// Version is the message version this build writes and reads.
const Version = 1

// JobSpec is a job submission: a DAG of tasks. It is published on
// geo.jobs.submit.<tenant> (or sent to the submit API) as JSON.
type JobSpec struct {
	// V is the message version; 0 (absent) is read as 1.
	V int `json:"v"`
	// ID is chosen by the client (letters, digits, '-', '_') so it can follow
	// the job; a ULID is assigned when empty.
	ID string `json:"id,omitempty"`
	// Tenant is taken from the subject; when set in the body it must match.
	Tenant string `json:"tenant,omitempty"`
	// Name is free text for people.
	Name string `json:"name,omitempty"`
	// Priority is the default priority of the job's tasks (normal).
	Priority Priority `json:"priority,omitempty"`
	// OnFailure is what happens when a task is dead-lettered ("fail").
	OnFailure FailurePolicy `json:"on_failure,omitempty"`
	// MaxAttempts is the default number of attempts of each task (3).
	MaxAttempts int `json:"max_attempts,omitempty"`
	// TimeoutMS is the default per-attempt timeout of each task (0: the
	// worker's default).
	TimeoutMS int64 `json:"timeout_ms,omitempty"`
	// Retry shapes the backoff between attempts.
	Retry *RetryPolicy `json:"retry,omitempty"`
	// Labels are free key/value pairs carried to events.
	Labels map[string]string `json:"labels,omitempty"`
	// Tasks is the DAG. Task ids are unique within the job.
	Tasks []TaskSpec `json:"tasks"`
}

// TaskSpec is one node of a job's DAG.
type TaskSpec struct {
	// ID is unique within the job (letters, digits, '-', '_').
	ID string `json:"id"`
	// Op names the operation (see Ops).
	Op string `json:"op"`
	// Params are the op's parameters, checked by the op's validator.
	Params json.RawMessage `json:"params,omitempty"`
	// Inputs name objects in geo_tiles that the task reads.
	Inputs []string `json:"inputs,omitempty"`
	// Deps are ids of tasks that must succeed before this one runs.
	Deps []string `json:"deps,omitempty"`
	// Priority overrides the job's priority.
	Priority Priority `json:"priority,omitempty"`
	// Pool is the worker pool that runs the task ("default").
	Pool string `json:"pool,omitempty"`
	// Resources are what the task needs from a worker.
	Resources *Resources `json:"resources,omitempty"`
	// MaxAttempts overrides the job's max attempts.
	MaxAttempts int `json:"max_attempts,omitempty"`
	// TimeoutMS overrides the job's per-attempt timeout.
	TimeoutMS int64 `json:"timeout_ms,omitempty"`
}

// Resources a task asks of a worker. Recorded and carried to the worker;
// placement by resources is a scheduler policy that builds on them.
type Resources struct {
	CPU      float64 `json:"cpu,omitempty"`
	MemoryMB int64   `json:"memory_mb,omitempty"`
}

// RetryPolicy is the exponential backoff between attempts of a task:
// delay(n) = min(MaxMS, InitialMS * Multiplier^(n-1)) * (1 ± Jitter).
type RetryPolicy struct {
	InitialMS  int64    `json:"initial_ms,omitempty"` // default 200
	MaxMS      int64    `json:"max_ms,omitempty"`     // default 30000
	Multiplier float64  `json:"multiplier,omitempty"` // default 2
	Jitter     *float64 `json:"jitter,omitempty"`     // default 0.2, in [0,1]; 0 turns it off
}

// Retry defaults.
const (
	DefaultMaxAttempts     = 3
	DefaultRetryInitial    = 200 * time.Millisecond
	DefaultRetryMax        = 30 * time.Second
	DefaultRetryMultiplier = 2.0
	DefaultRetryJitter     = 0.2
)

// WithDefaults returns the policy with zero fields set to their defaults.
func (r *RetryPolicy) WithDefaults() RetryPolicy {
	var out RetryPolicy
	if r != nil {
		out = *r
	}
	if out.InitialMS == 0 {
		out.InitialMS = DefaultRetryInitial.Milliseconds()
	}
	if out.MaxMS == 0 {
		out.MaxMS = DefaultRetryMax.Milliseconds()
	}
	if out.Multiplier == 0 {
		out.Multiplier = DefaultRetryMultiplier
	}
	if out.Jitter == nil {
		j := DefaultRetryJitter
		out.Jitter = &j
	}
	return out
}

// Normalize fills the defaults a validated job leaves open: version, tenant,
// priority, failure policy, attempts and each task's priority and pool. It
// does not assign the id.
func (j *JobSpec) Normalize(tenant string) {
	j.V = Version
	if j.Tenant == "" {
		j.Tenant = tenant
	}
	if j.Priority == "" {
		j.Priority = PriorityNormal
	}
	if j.OnFailure == "" {
		j.OnFailure = FailJob
	}
	if j.MaxAttempts == 0 {
		j.MaxAttempts = DefaultMaxAttempts
	}
	for i := range j.Tasks {
		t := &j.Tasks[i]
		if t.Priority == "" {
			t.Priority = j.Priority
		}
		if t.Pool == "" {
			t.Pool = DefaultPool
		}
		if t.MaxAttempts == 0 {
			t.MaxAttempts = j.MaxAttempts
		}
		if t.TimeoutMS == 0 {
			t.TimeoutMS = j.TimeoutMS
		}
	}
}
