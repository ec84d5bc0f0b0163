package events

import (
	"encoding/json"
	"time"
)

// TaskMessage is a released task, published by the scheduler on
// geo.tasks.<prio>.<pool> with Nats-Msg-Id = ReleaseMsgID. Workers of the pool
// compete for it on the pool's durable consumer.
type TaskMessage struct {
	V           int             `json:"v"`
	Tenant      string          `json:"tenant"`
	JobID       string          `json:"job_id"`
	TaskID      string          `json:"task_id"`
	Op          string          `json:"op"`
	Params      json.RawMessage `json:"params,omitempty"`
	Inputs      []string        `json:"inputs,omitempty"`
	Priority    Priority        `json:"priority"`
	Pool        string          `json:"pool"`
	Resources   *Resources      `json:"resources,omitempty"`
	Attempt     int             `json:"attempt"`
	MaxAttempts int             `json:"max_attempts"`
	TimeoutMS   int64           `json:"timeout_ms,omitempty"`
	ReleasedAt  time.Time       `json:"released_at"`
	// DirectedTo is set on the copy of an attempt offered to one worker
	// for data locality; LocalUntil is when the offer lapses and the shared
	// copy is released. A worker takes a directed copy only before then.
	DirectedTo string     `json:"directed_to,omitempty"`
	LocalUntil *time.Time `json:"local_until,omitempty"`
}

// Validate checks the fields a worker relies on.
func (m *TaskMessage) Validate() error {
	if m.V != Version {
		return &ValidationError{Field: "v", Reason: "unsupported version", kind: ErrUnsupportedVersion}
	}
	for _, c := range []struct{ f, v string }{{"tenant", m.Tenant}, {"job_id", m.JobID}, {"task_id", m.TaskID}, {"pool", m.Pool}} {
		if err := checkToken(c.f, c.v); err != nil {
			return err
		}
	}
	if m.Op == "" {
		return invalid("op", "is required")
	}
	if !m.Priority.Valid() {
		return invalid("priority", "unknown priority %q", m.Priority)
	}
	if m.Attempt < 1 {
		return invalid("attempt", "must be at least 1")
	}
	if m.TimeoutMS < 0 {
		return invalid("timeout_ms", "must not be negative")
	}
	return nil
}

// DecodeTask decodes and validates a task message.
func DecodeTask(data []byte) (TaskMessage, error) {
	var m TaskMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return TaskMessage{}, jsonError("", err)
	}
	if err := m.Validate(); err != nil {
		return TaskMessage{}, err
	}
	return m, nil
}
