package events

import (
	"encoding/json"
	"time"
)

// Data locality.
//
// A worker announces the tile objects its near-cache holds on
// WorkerHoldsSubject as WorkerHoldings deltas (and a full list with
// Reset when it starts or its cache was cleared). The scheduler keeps a map
// object -> holders from them. When it releases a task with inputs and some
// live worker holds some of them, it first offers the attempt to the worker
// holding the most (a directed copy on DirectedTaskSubject, read by that
// worker's own consumer) and only after the locality wait, if no worker
// started the attempt, releases the shared copy every worker of the pool
// competes for. That is delay scheduling: a worker that does not hold the
// data leaves a fresh task to the one that does for at most the wait, so
// locality never starves throughput.

// WorkerHoldings is a delta of what a worker's near-cache holds.
type WorkerHoldings struct {
	V        int    `json:"v"`
	WorkerID string `json:"worker_id"`
	Pool     string `json:"pool"`
	Zone     string `json:"zone,omitempty"`
	// Reset says Added is everything the worker holds: forget the rest.
	Reset   bool      `json:"reset,omitempty"`
	Added   []string  `json:"added,omitempty"`
	Removed []string  `json:"removed,omitempty"`
	At      time.Time `json:"at"`
}

// MaxHoldingsObjects bounds the object names one announcement carries.
const MaxHoldingsObjects = 10000

// Validate checks what the scheduler relies on.
func (h *WorkerHoldings) Validate() error {
	if h.V != Version {
		return &ValidationError{Field: "v", Reason: "unsupported version", kind: ErrUnsupportedVersion}
	}
	if err := checkToken("worker_id", h.WorkerID); err != nil {
		return err
	}
	if err := checkToken("pool", h.Pool); err != nil {
		return err
	}
	if h.Zone != "" {
		if err := checkToken("zone", h.Zone); err != nil {
			return err
		}
	}
	if n := len(h.Added) + len(h.Removed); n > MaxHoldingsObjects {
		return invalid("added", "%d objects in one announcement, at most %d", n, MaxHoldingsObjects)
	}
	return nil
}

// DecodeHoldings decodes and validates a holdings announcement.
func DecodeHoldings(data []byte) (WorkerHoldings, error) {
	var h WorkerHoldings
	if err := json.Unmarshal(data, &h); err != nil {
		return WorkerHoldings{}, jsonError("", err)
	}
	if err := h.Validate(); err != nil {
		return WorkerHoldings{}, err
	}
	return h, nil
}

// WorkerHoldsSubject is where a worker announces its holdings:
// geo.holds.<workerID>. Announcements are core NATS messages, kept by no
// stream: they are soft state, and a lost one costs locality only.
func WorkerHoldsSubject(workerID string) string { return Root + ".holds." + workerID }

// AllWorkerHoldings matches every worker's holdings announcements.
const AllWorkerHoldings = Root + ".holds.*"

// DirectedTaskSubject is where an attempt offered to one worker waits:
// geo.tasks.<prio>.<pool>.<workerID>. Only that worker's consumer
// (DirectedConsumer) reads it; the pool consumer filters the shared
// subject only.
func DirectedTaskSubject(p Priority, pool, workerID string) string {
	return TaskSubject(p, pool) + "." + workerID
}

// DirectedConsumer is a worker's own consumer of its directed tasks on
// each task stream.
func DirectedConsumer(workerID string) string { return "worker_" + workerID }

// DirectedSignalSubject wakes one worker: a task was offered to it.
func DirectedSignalSubject(pool, workerID string) string {
	return TaskSignalSubject(pool) + "." + workerID
}

// DirectedMsgID is the Nats-Msg-Id of the directed copy of an attempt.
func DirectedMsgID(tenant, jobID, taskID string, attempt int) string {
	return ReleaseMsgID(tenant, jobID, taskID, attempt) + ".directed"
}
