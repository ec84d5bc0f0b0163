// Package worker runs geocluster tasks: it takes released tasks of its pool
// from the priority work-queue streams, runs their ops and publishes their
// lifecycle events. Workers of a pool share one durable pull consumer per
// priority stream, so they compete for tasks and an idle worker steals work
// from a busy pool. A worker keeps no state of its own beyond the tasks it
// holds; everything durable is in JetStream.
//
// # Lifecycle
//
// Run drives one worker through these states:
//
//   - starting: provision the topology and the pool's consumers
//     (events.EnsureTopology, events.EnsurePool), bind the consumers,
//     subscribe to task signals and job cancellations, write the
//     registration to geo_workers and publish the registered event.
//   - registered: fetch and run tasks; refresh the registration every
//     HeartbeatInterval (the bucket's TTL removes a worker that stops
//     beating).
//   - draining (ctx done): stop fetching, mark the registration draining
//     and publish the draining event, hand back tasks still waiting for
//     their op's limit, wait up to DrainTimeout for running tasks, then
//     cancel the ones left and Nak them so another worker gets them at once.
//   - stopped: stop the heartbeat, delete the registration, publish the
//     stopped event, flush, return nil.
//
// # Pull rule: weighted credits
//
// JetStream has no per-message priority, so each priority has its own
// stream, and the worker chooses which stream to fetch from. Each priority
// has credits, its weight (Config.Weights, default critical 8, high 4,
// normal 2, low 1) times a scale chosen so that one full fetch fits in the
// heaviest priority's credits (scale = ceil(min(Capacity, MaxBatch) / the
// largest weight)); the scale keeps the weights' ratio. Then, whenever the
// worker has free slots:
//
//  1. It fetches from the most urgent priority that still has credits, with
//     FetchNoWait(min(free slots, MaxBatch, its credits)); every task taken
//     spends one credit. The next fetch starts again from the most urgent
//     priority, so urgent work that arrives is taken first.
//  2. A priority that returns nothing is skipped in this round. When no
//     priority with credits has tasks and some priority is out of credits
//     (every non-empty priority is out of credits), all credits refill.
//  3. When every priority is empty, the worker is idle: it waits for a
//     wake-up on events.TaskSignalSubject(pool) (the scheduler's hint after
//     a release, buffered in a channel of one so none is lost), a freed
//     slot, IdlePoll, or ctx, and fetches again.
//  4. When every slot is taken it waits for one to be freed.
//
// Higher priorities are served first and get the larger share: with a
// backlog at every level, each priority gets weight/sum of the tasks taken
// (8:4:2:1 by default), so low priority keeps moving while urgent work
// exists, and an empty level gives its share to the others. The worker never
// runs Consume or Messages on several priorities: their prefetch would hold
// hundreds of low-priority tasks while urgent ones wait.
//
// # Running a task
//
// A task message is decoded with events.DecodeTask; one that does not decode
// is terminated with the reason (the server publishes it in a terminated
// advisory). A task of a cancelled job is acked and skipped. Otherwise the
// task waits for its op's limit (Config.OpLimits; a task waiting holds one of
// the worker's Capacity slots), the worker publishes the started event and
// runs the op under the task's timeout (timeout_ms, else DefaultTimeout),
// while reporting progress to JetStream every TaskAckWait/3 so that a long
// task is not redelivered. Every event carries the task's trace context, in
// a span "task <op>".
//
// Before a task waits for its op's limit, and again once it has it, the
// op's circuit breaker is asked (see below); a refused task is handed back.
//
// The outcome is published as an event and the worker waits for the stream
// to store it before it acks the task: succeeded (with the result and the
// duration), failed (with the error; Permanent for errors marked with
// Permanent, such as bad params or an unknown op; "timeout after <d>" on
// timeout) or cancelled (the job was cancelled while the task ran). If the
// event cannot be published the task is naked and runs again: nothing is
// lost, and the event ids (events.TaskEventMsgID) deduplicate the repeat.
// The worker never retries a failed task itself: the scheduler owns retries
// and their backoff. A worker that dies holding a task lets its ack wait
// lapse, and JetStream redelivers the task to another worker.
//
// # Circuit breakers
//
// Each op has a circuit breaker (Config.Breaker, see BreakerConfig for the
// thresholds): closed, it runs the op's tasks; open, the worker refuses
// them; half-open, it runs a bounded number of probes. It opens when, within
// a rolling window (1m), at least MinRequests (10) outcomes of the op were
// counted and at least FailureRatio (half) of them were failures; after a
// cooldown (10s) it is half-open, and one probe (Probes) runs: a success
// closes it, a failure opens it again for twice the last cooldown, at most
// MaxCooldown (5m). Errors, timeouts and panics are failures; cancellations,
// drain hand-backs and Permanent errors (the task's own fault) count for
// nothing. Op limits are the bulkheads next to them: a slow op waits for
// its own limit and does not hold up the others.
//
// A refused task is handed back at once with NakWithDelay (the time left of
// the cooldown, at most RefuseDelay, 2s), so another worker of the pool
// takes it. A Nak counts as a delivery: an attempt refused by open breakers
// on every worker is, past Topology.TaskMaxDeliver deliveries, reported
// failed ("delivered N times without an ack (task_max_deliver M): refused
// by open circuit breakers or held by workers that died or hung"), and the
// scheduler retries it with backoff or dead-letters it, so a task that fails
// everywhere ends in the dead letters with every attempt's error. With the
// defaults that takes 5 refusals of at most 2s, about one 10s cooldown:
// where a pool has a single worker, tasks queued while its breaker is open
// may each lose an attempt (a larger RefuseDelay or TaskMaxDeliver trades
// that against a slower hand-back). Each
// transition is logged (warn when a breaker opens) and written to the
// registration at once (WorkerInfo.Breakers, op → state).
package worker
