package main

import (
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/micro"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/geocluster/geocluster/libs/events"
)

func splitLines(s string) []string { return strings.Split(strings.TrimRight(s, "\n"), "\n") }

func TestWatchShowsProgressAndExitsZeroWhenJobSucceeds(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	c.putJob(t, jobRecord("j1", events.JobRunning, 4, 1, 2))
	inv := c.start(t, "", nil, "watch", "j1")
	require.Eventually(t, func() bool {
		return strings.Contains(inv.stderr.String(), "job j1 running: 1/4 done, 2 running, 0 queued, 0 retrying, 0 failed")
	}, 10*time.Second, 10*time.Millisecond)
	c.putJob(t, jobRecord("j1", events.JobSucceeded, 4, 4, 0))

	require.NoError(t, inv.wait(t))
	out := inv.stdout.String()
	assert.Regexp(t, `job:\s+j1 \(test job\)`, out)
	assert.Regexp(t, `state:\s+succeeded`, out)
	assert.Regexp(t, `tasks:\s+4/4 done: 4 succeeded`, out)
	assert.Regexp(t, `duration:\s+2(\.\d+)?s`, out)
}

func TestWatchFailsWhenJobFails(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	rec := jobRecord("j1", events.JobFailed, 3, 3, 0)
	rec.Counts = events.TaskCounts{Succeeded: 1, Failed: 1, Cancelled: 1}
	rec.Error = "task second dead-lettered after 3 attempts: boom"
	c.putJob(t, rec)

	stdout, _, err := c.run(t, "watch", "j1")
	require.Error(t, err)
	assert.Equal(t, "job j1 failed: task second dead-lettered after 3 attempts: boom", err.Error())
	assert.Regexp(t, `state:\s+failed`, stdout)
	assert.Regexp(t, `tasks:\s+3/3 done: 1 succeeded, 1 failed, 1 cancelled`, stdout)
	assert.Regexp(t, `error:\s+task second dead-lettered`, stdout)
}

func TestWatchFailsWhenJobIsCancelled(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	c.putJob(t, jobRecord("j1", events.JobCancelled, 2, 0, 0))
	stdout, _, err := c.run(t, "--json", "watch", "j1")
	require.EqualError(t, err, "job j1 cancelled")
	assert.Contains(t, stdout, `"state": "cancelled"`)
}

func TestWatchWaitsForTheJobToAppear(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	inv := c.start(t, "", nil, "watch", "late", "--progress", "bar")
	c.putJob(t, jobRecord("late", events.JobRunning, 2, 1, 1))
	c.putJob(t, jobRecord("late", events.JobSucceeded, 2, 2, 0))
	require.NoError(t, inv.wait(t))
	assert.Contains(t, inv.stderr.String(), "2/2")
	assert.Regexp(t, `state:\s+succeeded`, inv.stdout.String())
}

func TestWatchGivesUpWhenTheJobNeverAppears(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	_, _, err := c.run(t, "watch", "ghost", "--wait", "200ms")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `job ghost not found in tenant "default" after 200ms`)
}

func TestWatchReportsARejectedJob(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	c.publish(t, events.JobEventSubject(events.DefaultTenant, "bad", events.JobRejected), events.JobEvent{
		V: 1, Tenant: events.DefaultTenant, JobID: "bad", State: events.JobRejected,
		Error: `unknown op "x"`, Field: "tasks[3].op", At: time.Now(),
	})
	_, _, err := c.run(t, "watch", "bad")
	require.Error(t, err)
	assert.Equal(t, `job bad rejected: tasks[3].op: unknown op "x"`, err.Error())
}

func TestWatchIgnoresTheRejectionOfAStoredJob(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	c.publish(t, events.JobEventSubject(events.DefaultTenant, "j1", events.JobRejected), events.JobEvent{
		V: 1, Tenant: events.DefaultTenant, JobID: "j1", State: events.JobRejected, Error: "duplicate", At: time.Now(),
	})
	c.putJob(t, jobRecord("j1", events.JobSucceeded, 1, 1, 0))
	_, _, err := c.run(t, "watch", "j1")
	require.NoError(t, err)
}

func TestSubmitWatchFollowsTheJobAndIgnoresEarlierRejections(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	c.fakeAPI(t, events.DefaultTenant, map[string]micro.HandlerFunc{
		events.APIVerbSubmit: reply(events.SubmitReply{V: 1, JobID: "j2", Tenant: "default", Seq: 10}),
	})
	c.publish(t, events.JobEventSubject(events.DefaultTenant, "j2", events.JobRejected), events.JobEvent{
		V: 1, Tenant: events.DefaultTenant, JobID: "j2", State: events.JobRejected, Error: "old", SubmitSeq: 4, At: time.Now(),
	})
	inv := c.start(t, "", nil, "submit", "testdata/job.json", "--id", "j2", "--watch")
	inv.waitOutput(t, "j2\n")
	c.putJob(t, jobRecord("j2", events.JobSucceeded, 2, 2, 0))
	require.NoError(t, inv.wait(t))
	assert.Regexp(t, `state:\s+succeeded`, inv.stdout.String())
}

func TestSubmitWatchReportsALaterRejection(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	c.fakeAPI(t, events.DefaultTenant, map[string]micro.HandlerFunc{
		events.APIVerbSubmit: reply(events.SubmitReply{V: 1, JobID: "j3", Tenant: "default", Seq: 10}),
	})
	inv := c.start(t, "", nil, "submit", "testdata/job.json", "--watch")
	inv.waitOutput(t, "j3\n")
	c.publish(t, events.JobEventSubject(events.DefaultTenant, "j3", events.JobRejected), events.JobEvent{
		V: 1, Tenant: events.DefaultTenant, JobID: "j3", State: events.JobRejected, Error: "over quota", SubmitSeq: 10, At: time.Now(),
	})
	require.EqualError(t, inv.wait(t), "job j3 rejected: over quota")
}

func TestWatchStopsWhenInterrupted(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	c.putJob(t, jobRecord("j1", events.JobRunning, 4, 1, 2))
	inv := c.start(t, "", nil, "watch", "j1")
	require.Eventually(t, func() bool { return inv.stderr.String() != "" }, 10*time.Second, 10*time.Millisecond)
	inv.cancel()
	err := inv.wait(t)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "watch j1: context canceled")
}
