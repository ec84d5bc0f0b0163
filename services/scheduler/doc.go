// Package scheduler accepts jobs (DAGs of tasks), keeps their state in KV
// and releases ready tasks to the per-priority work-queue streams, advancing
// each DAG from the task events workers publish.
//
// One goroutine, the loop, owns all job state. Inputs reach it as items:
// submissions and cancellations from the JOBS stream, task events from the
// EVENTS stream, and retry timers. The loop takes
// one item, then every item already waiting (up to a batch), applies them to
// the in-memory state, and flushes the result in one go: task records,
// job records, task releases, events and dead letters as asynchronous
// JetStream publishes. Only when every publish of a flush is acknowledged are
// the input messages acked, so a crash at any point replays inputs against
// the state in KV, and every transition is idempotent: releases carry
// Nats-Msg-Id = <job>.<task>.<attempt>, the first completion of a task wins,
// stale attempts are ignored.
//
// States of the service: starting (provision topology, recover live jobs from
// KV), running (loop, consumers, API), stopping (ctx done: consumers stop,
// the loop finishes its flush, Run returns nil).
//
// The sync API is a nats micro service on geo.api.<tenant>.jobs.{submit,get,
// cancel,list}. Submit and cancel validate and then store the request in the
// JOBS stream, the single intake path that plain NATS clients use too.
package scheduler
