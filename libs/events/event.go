package events

import (
	"encoding/json"
	"time"
)

// TaskEvent is a task lifecycle event on geo.events.<tenant>.task.<jobID>.<state>.
// Workers publish started, succeeded, failed, and cancelled (a running task
// of a cancelled or failed job was stopped); the scheduler publishes
// retrying, deadlettered and skipped.
type TaskEvent struct {
	V      int       `json:"v"`
	Tenant string    `json:"tenant"`
	JobID  string    `json:"job_id"`
	TaskID string    `json:"task_id"`
	Op     string    `json:"op,omitempty"`
	State  TaskState `json:"state"`
	// Priority and Pool of the task (set by current publishers; absent in
	// events of older ones).
	Priority Priority `json:"priority,omitempty"`
	Pool     string   `json:"pool,omitempty"`
	Attempt  int      `json:"attempt,omitempty"`
	WorkerID string   `json:"worker_id,omitempty"`
	// Error is set on failed, retrying and deadlettered.
	Error string `json:"error,omitempty"`
	// Permanent on a failed event says retrying cannot help (bad params,
	// unknown op): the scheduler dead-letters at once.
	Permanent bool `json:"permanent,omitempty"`
	// Result is the op's output on succeeded.
	Result json.RawMessage `json:"result,omitempty"`
	// DurationMS is the run time of the attempt on succeeded and failed.
	DurationMS float64 `json:"duration_ms,omitempty"`
	// WaitMS on started is how long the attempt waited between its release
	// and the start (queueing, locality offers, backoff excluded).
	WaitMS float64 `json:"wait_ms,omitempty"`
	// RetryAt is when a retrying task is released again.
	RetryAt *time.Time `json:"retry_at,omitempty"`
	At      time.Time  `json:"at"`
}

// JobEvent is a job lifecycle event on geo.events.<tenant>.job.<jobID>.<state>.
type JobEvent struct {
	V      int      `json:"v"`
	Tenant string   `json:"tenant"`
	JobID  string   `json:"job_id"`
	State  JobState `json:"state"`
	// Error and Field explain a rejected or failed job.
	Error string `json:"error,omitempty"`
	Field string `json:"field,omitempty"`
	// SubmitSeq is the JOBS stream sequence of the submission a rejection
	// answers, so a client that sent no id can still find its answer.
	SubmitSeq uint64     `json:"submit_seq,omitempty"`
	Counts    TaskCounts `json:"counts"`
	// SubmittedAt is when the job was accepted (set by current
	// schedulers), so a final event tells the job's duration by itself.
	SubmittedAt *time.Time `json:"submitted_at,omitempty"`
	At          time.Time  `json:"at"`
}

// WorkerEvent is a worker lifecycle event on geo.workers.<workerID>.<state>.
type WorkerEvent struct {
	V        int         `json:"v"`
	WorkerID string      `json:"worker_id"`
	State    WorkerState `json:"state"`
	Info     *WorkerInfo `json:"info,omitempty"`
	At       time.Time   `json:"at"`
}

// DecodeTaskEvent decodes and checks a task event.
func DecodeTaskEvent(data []byte) (TaskEvent, error) {
	var e TaskEvent
	if err := json.Unmarshal(data, &e); err != nil {
		return TaskEvent{}, jsonError("", err)
	}
	if e.V != Version {
		return TaskEvent{}, &ValidationError{Field: "v", Reason: "unsupported version", kind: ErrUnsupportedVersion}
	}
	for _, c := range []struct{ f, v string }{{"tenant", e.Tenant}, {"job_id", e.JobID}, {"task_id", e.TaskID}} {
		if err := checkToken(c.f, c.v); err != nil {
			return TaskEvent{}, err
		}
	}
	if e.State == "" {
		return TaskEvent{}, invalid("state", "is required")
	}
	return e, nil
}

// DecodeJobEvent decodes a job event.
func DecodeJobEvent(data []byte) (JobEvent, error) {
	var e JobEvent
	if err := json.Unmarshal(data, &e); err != nil {
		return JobEvent{}, jsonError("", err)
	}
	return e, nil
}

// CancelRequest asks to cancel a job; published on geo.jobs.cancel.<tenant>
// or sent to the cancel API.
type CancelRequest struct {
	V      int    `json:"v"`
	JobID  string `json:"job_id"`
	Reason string `json:"reason,omitempty"`
}

// DecodeCancel decodes and checks a cancel request.
func DecodeCancel(data []byte) (CancelRequest, error) {
	var c CancelRequest
	if err := json.Unmarshal(data, &c); err != nil {
		return CancelRequest{}, jsonError("", err)
	}
	if c.V != 0 && c.V != Version {
		return CancelRequest{}, &ValidationError{Field: "v", Reason: "unsupported version", kind: ErrUnsupportedVersion}
	}
	if err := checkToken("job_id", c.JobID); err != nil {
		return CancelRequest{}, err
	}
	return c, nil
}

// DeadLetter is published on geo.dlq.<tenant>.<prio> when a task used all its
// attempts: the task, every attempt's error and the last one.
type DeadLetter struct {
	V         int            `json:"v"`
	Task      TaskMessage    `json:"task"`
	Attempts  int            `json:"attempts"`
	LastError string         `json:"last_error"`
	Errors    []AttemptError `json:"errors"`
	At        time.Time      `json:"at"`
}
