package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/geocluster/geocluster/libs/events"
)

func deadLetter(tenant, job, task, lastErr string) events.DeadLetter {
	return events.DeadLetter{
		V: 1, Attempts: 3, LastError: lastErr, At: time.Now(),
		Task: events.TaskMessage{V: 1, Tenant: tenant, JobID: job, TaskID: task, Op: events.OpFail,
			Priority: events.PriorityHigh, Pool: events.DefaultPool, Attempt: 3, MaxAttempts: 3},
		Errors: []events.AttemptError{{Attempt: 3, Error: lastErr}},
	}
}

func TestDLQShowsTheTenantsDeadLetters(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	for _, dl := range []events.DeadLetter{
		deadLetter("default", "j1", "t1", "boom 1"),
		deadLetter("acme", "j9", "t9", "other tenant"),
		deadLetter("default", "j2", "t2", "boom 2"),
	} {
		c.publish(t, events.DLQSubject(dl.Task.Tenant, events.PriorityHigh), dl)
	}

	stdout, _, err := c.run(t, "dlq")
	require.NoError(t, err)
	lines := splitLines(stdout)
	require.Len(t, lines, 3)
	assert.Regexp(t, `^DEAD AT\s+JOB\s+TASK\s+OP\s+PRIORITY\s+ATTEMPTS\s+LAST ERROR$`, lines[0])
	assert.Regexp(t, `\s+j1\s+t1\s+fail\s+high\s+3\s+boom 1$`, lines[1])
	assert.Regexp(t, `\s+j2\s+t2\s+fail\s+high\s+3\s+boom 2$`, lines[2])

	stdout, _, err = c.run(t, "dlq", "--limit", "1")
	require.NoError(t, err)
	lines = splitLines(stdout)
	require.Len(t, lines, 2)
	assert.Contains(t, lines[1], "boom 2")

	stdout, _, err = c.run(t, "dlq", "--all-tenants", "--limit", "2")
	require.NoError(t, err)
	lines = splitLines(stdout)
	require.Len(t, lines, 3)
	assert.Regexp(t, `^acme\s+.*other tenant$`, lines[1])

	stdout, _, err = c.run(t, "dlq", "--json")
	require.NoError(t, err)
	assert.Contains(t, stdout, `"last_error": "boom 1"`)
}

func TestDLQSaysWhenEmpty(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	stdout, _, err := c.run(t, "dlq")
	require.NoError(t, err)
	assert.Equal(t, "no dead letters\n", stdout)
}
