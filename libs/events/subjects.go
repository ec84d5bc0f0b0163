package events

import (
	"encoding/base64"
	"strconv"
	"strings"
)

// Every subject, stream, consumer, bucket and object store name is defined
// here and only here. Services build subjects with the functions below.

// Subject roots.
const (
	// Root is the first token of every platform subject.
	Root = "geo"
	// DefaultTenant is the tenant of a job that names none.
	DefaultTenant = "default"
	// DefaultPool is the worker pool of a task that names none.
	DefaultPool = "default"
)

// Stream names.
const (
	StreamJobs   = "JOBS"
	StreamEvents = "EVENTS"
	StreamDLQ    = "DLQ"
	// StreamAlerts keeps the alerts the monitor publishes, firing and
	// resolved, on geo.alerts.<severity>.<rule>.
	StreamAlerts = "ALERTS"
)

// KV bucket and object store names.
const (
	BucketJobs    = "geo_jobs"
	BucketTasks   = "geo_tasks"
	BucketWorkers = "geo_workers"
	BucketLeases  = "geo_leases"
	ObjectTiles   = "geo_tiles"
	// BucketCache holds one key per cached tile object (CacheKey): its
	// value's revision is the tile's version. Every tile write bumps it;
	// cache nodes and worker near-caches watch it to drop stale copies.
	BucketCache = "geo_cache"
	// BucketCacheNodes holds the live cache nodes, removed after the TTL.
	BucketCacheNodes = "geo_cache_nodes"
	// BucketCheckpoints holds the progress a long task saved, by TaskKey,
	// so that a redelivered or retried task resumes from it.
	BucketCheckpoints = "geo_checkpoints"
	// BucketRules holds the alert rules, one JSON rule per key (the rule's
	// name); the monitor watches it and reloads on change.
	BucketRules = "geo_rules"
	// BucketMonitor holds the monitor's snapshot: its metrics and the
	// EVENTS sequence they include, so a restart does not count twice.
	BucketMonitor = "geo_monitor"
)

// Lease keys in geo_leases.
const (
	// LeaseScheduler is held by the scheduler replica that does the
	// release work.
	LeaseScheduler = "scheduler"
)

// FencingTokenHeader carries the fencing token (the lease's revision) of
// the leader that published a message: a consumer that remembers the
// highest token it saw can spot a deposed leader's late message.
const FencingTokenHeader = "Geo-Fencing-Token"

// Durable consumer names.
const (
	// ConsumerSchedulerJobs reads submissions and cancellations from JOBS.
	ConsumerSchedulerJobs = "scheduler"
	// ConsumerSchedulerTasks reads task lifecycle events from EVENTS.
	ConsumerSchedulerTasks = "scheduler_tasks"
	// ConsumerMonitor reads every event of EVENTS for the monitor.
	ConsumerMonitor = "monitor"
)

// TaskStream returns the work-queue stream of a priority, e.g. TASKS_HIGH.
func TaskStream(p Priority) string { return "TASKS_" + strings.ToUpper(string(p)) }

// TaskStreamSubjects returns the subjects a priority's stream captures.
func TaskStreamSubjects(p Priority) string { return Root + ".tasks." + string(p) + ".>" }

// TaskSubject is where a released task of priority p for pool waits:
// geo.tasks.<prio>.<pool>.
func TaskSubject(p Priority, pool string) string {
	return Root + ".tasks." + string(p) + "." + pool
}

// PoolConsumer is the durable pull consumer shared by every worker of pool on
// each task stream. Workers of one pool compete on it (work stealing).
func PoolConsumer(pool string) string { return "pool_" + pool }

// TaskSignalSubject is a core NATS (not stored) subject on which the
// scheduler says "tasks were released for pool". Idle workers wake on it
// instead of polling; it is a hint only, correctness never depends on it.
func TaskSignalSubject(pool string) string { return Root + ".signal.tasks." + pool }

// JobSubmitSubject is where a job is submitted: geo.jobs.submit.<tenant>.
func JobSubmitSubject(tenant string) string { return Root + ".jobs.submit." + tenant }

// JobCancelSubject is where a cancellation is requested: geo.jobs.cancel.<tenant>.
func JobCancelSubject(tenant string) string { return Root + ".jobs.cancel." + tenant }

// JobsStreamSubjects are the subjects the JOBS stream captures.
const JobsStreamSubjects = Root + ".jobs.>"

// TaskEventSubject: geo.events.<tenant>.task.<jobID>.<state>.
func TaskEventSubject(tenant, jobID string, s TaskState) string {
	return Root + ".events." + tenant + ".task." + jobID + "." + string(s)
}

// JobEventSubject: geo.events.<tenant>.job.<jobID>.<state>.
func JobEventSubject(tenant, jobID string, s JobState) string {
	return Root + ".events." + tenant + ".job." + jobID + "." + string(s)
}

// JobEventsFilter matches every task and job event of one job.
func JobEventsFilter(tenant, jobID string) string {
	return Root + ".events." + tenant + ".*." + jobID + ".*"
}

// AllTaskEvents matches every task event of every tenant.
const AllTaskEvents = Root + ".events.*.task.>"

// AllJobEvents matches every job event of every tenant.
const AllJobEvents = Root + ".events.*.job.>"

// StoppedJobEvents match the events of a job that stopped before all its
// tasks ran: cancelled, and failed (a task was dead-lettered under
// on_failure=fail). Workers listen to them to stop that job's running tasks
// and skip its queued ones.
var StoppedJobEvents = []string{
	Root + ".events.*.job.*." + string(JobCancelled),
	Root + ".events.*.job.*." + string(JobFailed),
}

// WorkerEventSubject: geo.workers.<workerID>.<state>.
func WorkerEventSubject(workerID string, s WorkerState) string {
	return Root + ".workers." + workerID + "." + string(s)
}

// EventsStreamSubjects are the subjects the EVENTS stream captures.
var EventsStreamSubjects = []string{Root + ".events.>", Root + ".workers.>", CacheStatsFilter, ReplicatorEventsFilter}

// CacheGetSubject is where cache node serves reads: geo.cache.<node>.get.
func CacheGetSubject(node string) string { return Root + ".cache." + node + ".get" }

// CachePutSubject is where cache node accepts writes: geo.cache.<node>.put.
func CachePutSubject(node string) string { return Root + ".cache." + node + ".put" }

// CacheStatsSubject is where a cache node (or a worker's near-cache)
// publishes its statistics: geo.cache.<node>.stats, kept in EVENTS.
func CacheStatsSubject(node string) string { return Root + ".cache." + node + ".stats" }

// CacheStatsFilter matches the statistics of every cache node.
const CacheStatsFilter = Root + ".cache.*.stats"

// ReplicatorEventSubject is where the replicator reports what it found and
// did: geo.replicator.<kind> (e.g. peer_lost, moved, scrubbed, repaired).
func ReplicatorEventSubject(kind string) string { return Root + ".replicator." + kind }

// ReplicatorEventsFilter matches every replicator event.
const ReplicatorEventsFilter = Root + ".replicator.>"

// AlertSubject is where the monitor publishes an alert of rule:
// geo.alerts.<severity>.<rule>.
func AlertSubject(severity, rule string) string { return Root + ".alerts." + severity + "." + rule }

// AlertsStreamSubjects are the subjects ALERTS captures.
const AlertsStreamSubjects = Root + ".alerts.>"

// DLQSubject: geo.dlq.<tenant>.<prio>. The tenant sits at a fixed token, as
// on every subject that carries a tenant's data.
func DLQSubject(tenant string, p Priority) string { return Root + ".dlq." + tenant + "." + string(p) }

// TenantDLQFilter matches every dead letter of a tenant.
func TenantDLQFilter(tenant string) string { return Root + ".dlq." + tenant + ".*" }

// TenantEventsFilter matches every task and job event of a tenant.
func TenantEventsFilter(tenant string) string { return Root + ".events." + tenant + ".>" }

// AllWorkerEvents matches every worker lifecycle event.
const AllWorkerEvents = Root + ".workers.*.*"

// DLQStreamSubjects are the subjects the DLQ stream captures.
const DLQStreamSubjects = Root + ".dlq.>"

// API subjects (nats micro): geo.api.<tenant>.jobs.<verb>.
const (
	APIServiceName = "geo-scheduler"
	APIVerbSubmit  = "submit"
	APIVerbGet     = "get"
	APIVerbCancel  = "cancel"
	APIVerbList    = "list"
	// APIVerbPipeline plans a raster pipeline (libs/pipeline.Request) and
	// submits it as a job.
	APIVerbPipeline = "pipeline"
)

// APISubject returns geo.api.<tenant>.jobs.<verb>.
func APISubject(tenant, verb string) string { return Root + ".api." + tenant + ".jobs." + verb }

// APIGroupWildcard is the micro group the scheduler serves: every tenant.
const APIGroupWildcard = Root + ".api.*.jobs"

// TenantFromAPISubject extracts the tenant token of geo.api.<tenant>.jobs.<verb>.
func TenantFromAPISubject(subject string) (string, bool) {
	t := strings.Split(subject, ".")
	if len(t) != 5 || t[0] != Root || t[1] != "api" || t[3] != "jobs" {
		return "", false
	}
	return t[2], true
}

// TenantFromJobsSubject extracts the tenant of geo.jobs.<verb>.<tenant>.
func TenantFromJobsSubject(subject string) (verb, tenant string, ok bool) {
	t := strings.Split(subject, ".")
	if len(t) != 4 || t[0] != Root || t[1] != "jobs" {
		return "", "", false
	}
	return t[2], t[3], true
}

// JobKey is a job's key in geo_jobs: <tenant>.<jobID>.
func JobKey(tenant, jobID string) string { return tenant + "." + jobID }

// TaskKey is a task's key in geo_tasks: <tenant>.<jobID>.<taskID>.
func TaskKey(tenant, jobID, taskID string) string { return tenant + "." + jobID + "." + taskID }

// TaskKeysOfJob matches every task key of a job in geo_tasks.
func TaskKeysOfJob(tenant, jobID string) string { return tenant + "." + jobID + ".*" }

// JobKeysOfTenant matches every job key of a tenant in geo_jobs.
func JobKeysOfTenant(tenant string) string { return tenant + ".*" }

// Message ids (Nats-Msg-Id) carry the tenant: job ids are unique only
// within a tenant, and a stream's duplicate window spans every tenant.

// JobMsgID is the Nats-Msg-Id of a submission stored by the API:
// <tenant>.<job>. A client publishing to geo.jobs.submit.<tenant> itself
// should use the same form (a bare job id is accepted too).
func JobMsgID(tenant, jobID string) string { return tenant + "." + jobID }

// JobIDFromMsgID returns the job id a submission's Nats-Msg-Id names for
// tenant: the id of "<tenant>.<id>", or a bare valid id.
func JobIDFromMsgID(tenant, msgID string) (string, bool) {
	if rest, ok := strings.CutPrefix(msgID, tenant+"."); ok && ValidToken(rest) {
		return rest, true
	}
	return msgID, ValidToken(msgID)
}

// ReleaseMsgID is the Nats-Msg-Id of a task release: the stream drops a
// second release of the same attempt within its duplicate window.
func ReleaseMsgID(tenant, jobID, taskID string, attempt int) string {
	return tenant + "." + jobID + "." + taskID + "." + strconv.Itoa(attempt)
}

// TaskEventMsgID is the Nats-Msg-Id of a task lifecycle event.
func TaskEventMsgID(tenant, jobID, taskID string, attempt int, s TaskState) string {
	return tenant + "." + jobID + "." + taskID + "." + strconv.Itoa(attempt) + "." + string(s)
}

// JobEventMsgID is the Nats-Msg-Id of a job event; a rejection adds the
// submission's JOBS sequence (one answer per submission).
func JobEventMsgID(tenant, jobID string, s JobState, seq uint64) string {
	id := tenant + "." + jobID + "." + string(s)
	if seq > 0 {
		id += "." + strconv.FormatUint(seq, 10)
	}
	return id
}

// KVSubject is the subject a write to key of bucket is published on. The
// scheduler writes records with pipelined asynchronous publishes to it,
// which is exactly what a KV put does, one round trip at a time.
func KVSubject(bucket, key string) string { return "$KV." + bucket + "." + key }

// CacheKey is a tile object's key in geo_cache. Object names may hold
// characters a KV key may not, so the key is the name in unpadded
// base64url (which uses only letters, digits, '-' and '_').
func CacheKey(object string) string { return base64.RawURLEncoding.EncodeToString([]byte(object)) }

// ObjectFromCacheKey is the inverse of CacheKey.
func ObjectFromCacheKey(key string) (string, bool) {
	b, err := base64.RawURLEncoding.DecodeString(key)
	return string(b), err == nil
}
