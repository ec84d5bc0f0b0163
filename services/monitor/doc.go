// Package monitor is the geocluster monitor: it turns the event streams
// into metrics, evaluates alert rules and anomaly detectors over them, and
// serves what it knows.
//
//   - A durable consumer (monitor_<ID>) of EVENTS counts task, job, worker,
//     cache and replicator events into counters and histograms by tenant, op
//     and priority. The counts and the stream sequence they include are
//     snapshotted to geo_monitor every SnapshotInterval, and only then are
//     the events acked (AckAll), so a restarted monitor resumes from its
//     consumer and skips what its snapshot already holds: nothing is lost or
//     counted twice. Monitors sharing an ID take a lease (monitor_<ID>):
//     one counts and publishes alerts, the others serve the live views and
//     take over; the snapshot is written by compare-and-set.
//   - Queue depths and stream sizes come from the JetStream API, worker
//     load from the registrations in geo_workers, job progress from
//     geo_jobs (KV watches).
//   - /metrics is the Prometheus text exposition (client_golang).
//   - Every EvalInterval the registry is sampled into a libs/rules store and
//     the rules of geo_rules (reloaded on change by watch) are evaluated;
//     alerts that start firing or resolve are published once each on
//     geo.alerts.<severity>.<rule>, kept by the ALERTS stream.
//   - The dashboard (package web) reads /api/... and the Server-Sent Events
//     of /api/stream.
package monitor
