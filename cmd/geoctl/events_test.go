package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/geocluster/geocluster/libs/events"
)

// publishSampleEvents stores task, job and worker events of two tenants.
func publishSampleEvents(t *testing.T, c *cluster) {
	t.Helper()
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	c.publish(t, events.TaskEventSubject("default", "j1", events.TaskStarted), events.TaskEvent{
		V: 1, Tenant: "default", JobID: "j1", TaskID: "t1", State: events.TaskStarted, Attempt: 1, WorkerID: "w1", At: at})
	c.publish(t, events.TaskEventSubject("default", "j1", events.TaskFailed), events.TaskEvent{
		V: 1, Tenant: "default", JobID: "j1", TaskID: "t1", State: events.TaskFailed, Attempt: 1, WorkerID: "w1", Error: "disk full", At: at})
	c.publish(t, events.JobEventSubject("default", "j2", events.JobSucceeded), events.JobEvent{
		V: 1, Tenant: "default", JobID: "j2", State: events.JobSucceeded, At: at})
	c.publish(t, events.JobEventSubject("acme", "j3", events.JobRejected), events.JobEvent{
		V: 1, Tenant: "acme", JobID: "j3", State: events.JobRejected, Error: "no tasks", Field: "tasks", At: at})
	c.publish(t, events.WorkerEventSubject("w1", events.WorkerRegistered), events.WorkerEvent{
		V: 1, WorkerID: "w1", State: events.WorkerRegistered, At: at})
}

// tail runs geoctl events with args until want lines were printed, then
// interrupts it, which must end it without an error.
func tail(t *testing.T, c *cluster, want int, args ...string) []string {
	t.Helper()
	inv := c.start(t, "", nil, append([]string{"events"}, args...)...)
	require.Eventually(t, func() bool {
		return strings.Count(inv.stdout.String(), "\n") >= want
	}, 10*time.Second, 10*time.Millisecond)
	inv.cancel()
	require.NoError(t, inv.wait(t))
	return splitLines(inv.stdout.String())
}

func TestEventsTailsOneJob(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	publishSampleEvents(t, c)
	lines := tail(t, c, 2, "--job", "j1")
	require.Len(t, lines, 2)
	assert.Regexp(t, `^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}  geo\.events\.default\.task\.j1\.started  started  j1/t1  worker=w1  attempt=1$`, lines[0])
	assert.Regexp(t, `  geo\.events\.default\.task\.j1\.failed  failed  j1/t1  worker=w1  attempt=1  error="disk full"$`, lines[1])
}

func TestEventsTailsTheTenantOrEveryone(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	publishSampleEvents(t, c)

	lines := tail(t, c, 3)
	require.Len(t, lines, 3, "the default tenant's task and job events")
	assert.Contains(t, lines[2], "geo.events.default.job.j2.succeeded  succeeded  j2")

	lines = tail(t, c, 5, "--all-tenants")
	require.Len(t, lines, 5)
	assert.Contains(t, lines[3], `rejected  j3  error="tasks: no tasks"`)
	assert.Contains(t, lines[4], "geo.workers.w1.registered  registered  w1")

	lines = tail(t, c, 4, "--workers")
	require.Len(t, lines, 4)
	assert.Contains(t, lines[3], "geo.workers.w1.registered")
}

func TestEventsPrintsRawJSON(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	publishSampleEvents(t, c)
	lines := tail(t, c, 2, "--job", "j1", "--json")
	require.Len(t, lines, 2)
	var e events.TaskEvent
	require.NoError(t, json.Unmarshal([]byte(lines[1]), &e))
	assert.Equal(t, "disk full", e.Error)
}

func TestEventsNewSkipsStoredEvents(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	publishSampleEvents(t, c)
	inv := c.start(t, "", nil, "events", "--new")
	// The consumer may start after a publish: publish until one is seen.
	require.Eventually(t, func() bool {
		c.publish(t, events.JobEventSubject("default", "fresh", events.JobAccepted), events.JobEvent{
			V: 1, Tenant: "default", JobID: "fresh", State: events.JobAccepted, At: time.Now()})
		return strings.Contains(inv.stdout.String(), "fresh")
	}, 10*time.Second, 50*time.Millisecond)
	inv.cancel()
	require.NoError(t, inv.wait(t))
	assert.NotContains(t, inv.stdout.String(), "j1")
}
