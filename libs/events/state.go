package events

// Priority is the urgency class of a task. Each priority has its own
// work-queue stream; workers serve them by weighted credits (see worker docs).
type Priority string

// Priorities, most urgent first.
const (
	PriorityCritical Priority = "critical"
	PriorityHigh     Priority = "high"
	PriorityNormal   Priority = "normal"
	PriorityLow      Priority = "low"
)

// Priorities lists every priority, most urgent first.
var Priorities = []Priority{PriorityCritical, PriorityHigh, PriorityNormal, PriorityLow}

// Valid reports whether p is a known priority.
func (p Priority) Valid() bool {
	switch p {
	case PriorityCritical, PriorityHigh, PriorityNormal, PriorityLow:
		return true
	}
	return false
}

// JobState is the lifecycle state of a job.
type JobState string

// Job states. Accepted and running are live; the rest are terminal.
// Rejected is only ever an event: a rejected job is never stored.
const (
	JobAccepted  JobState = "accepted"
	JobRunning   JobState = "running"
	JobSucceeded JobState = "succeeded"
	JobFailed    JobState = "failed"
	JobCancelled JobState = "cancelled"
	JobRejected  JobState = "rejected"
)

// Terminal reports whether no further change can happen to a job in state s.
func (s JobState) Terminal() bool {
	return s == JobSucceeded || s == JobFailed || s == JobCancelled || s == JobRejected
}

// TaskState is the lifecycle state of a task.
type TaskState string

// Task states.
//   - pending: waiting for its dependencies
//   - queued: released to its priority stream, waiting for a worker
//   - started: a worker runs it (event name; the stored state is "running")
//   - running: stored state of a started task
//   - retrying: an attempt failed; released again after a backoff
//   - succeeded, failed (dead-lettered), skipped (a dependency failed under
//     on_failure=continue), cancelled: terminal
const (
	TaskPending   TaskState = "pending"
	TaskQueued    TaskState = "queued"
	TaskStarted   TaskState = "started"
	TaskRunning   TaskState = "running"
	TaskRetrying  TaskState = "retrying"
	TaskSucceeded TaskState = "succeeded"
	TaskFailed    TaskState = "failed"
	TaskSkipped   TaskState = "skipped"
	TaskCancelled TaskState = "cancelled"
	// TaskDeadLettered is the event published when a task's last attempt
	// failed and it went to the DLQ; its stored state is failed.
	TaskDeadLettered TaskState = "deadlettered"
	// TaskBackup is the event published when a straggling attempt gets a
	// backup copy on another worker (speculative execution); worker_id
	// names the backup's worker. The stored state stays running.
	TaskBackup TaskState = "backup"
	// TaskSuperseded is the event published when one copy of an attempt
	// finished first: worker_id names the worker whose copy lost, which
	// stops it.
	TaskSuperseded TaskState = "superseded"
)

// SupersededTaskEvents matches the superseded events of every tenant:
// workers listen to stop the copies that lost.
const SupersededTaskEvents = Root + ".events.*.task.*." + string(TaskSuperseded)

// Terminal reports whether a task in state s will not run again.
func (s TaskState) Terminal() bool {
	return s == TaskSucceeded || s == TaskFailed || s == TaskSkipped || s == TaskCancelled
}

// FailurePolicy says what a job does when one of its tasks is dead-lettered.
type FailurePolicy string

// Failure policies.
const (
	// FailJob (the default) stops releasing, cancels what has not run and
	// marks the job failed as soon as one task is dead-lettered.
	FailJob FailurePolicy = "fail"
	// ContinueJob skips the dead task's dependents, runs every independent
	// branch to the end, then marks the job failed.
	ContinueJob FailurePolicy = "continue"
)

// WorkerState is the lifecycle of a worker as its events tell it.
type WorkerState string

// Worker states.
const (
	WorkerRegistered WorkerState = "registered"
	WorkerDraining   WorkerState = "draining"
	WorkerStopped    WorkerState = "stopped"
	// WorkerLost is published by the scheduler when a worker's registration
	// expired (it missed its heartbeats for the worker TTL).
	WorkerLost WorkerState = "lost"
)
