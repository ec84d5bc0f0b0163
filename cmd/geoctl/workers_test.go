package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/geocluster/geocluster/libs/events"
)

func TestWorkersListsLiveWorkers(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	now := time.Now()
	for _, w := range []events.WorkerInfo{
		{V: 1, ID: "w2", Pool: "gpu", Ops: []string{"noop", "sleep"}, Capacity: 2, Running: 1, Completed: 7, Failed: 1,
			Labels: map[string]string{"zone": "b", "arch": "arm64"}, State: events.WorkerRegistered, HeartbeatAt: now},
		{V: 1, ID: "w1", Pool: "default", Ops: []string{"noop"}, Capacity: 4, Completed: 12,
			State: events.WorkerDraining, HeartbeatAt: now.Add(-3 * time.Second)},
	} {
		c.put(t, events.BucketWorkers, w.ID, w)
	}
	stdout, _, err := c.run(t, "workers")
	require.NoError(t, err)
	lines := splitLines(stdout)
	require.Len(t, lines, 3)
	assert.Regexp(t, `^ID\s+POOL\s+STATE\s+RUNNING\s+COMPLETED\s+FAILED\s+LABELS\s+OPS\s+HEARTBEAT$`, lines[0])
	assert.Regexp(t, `^w1\s+default\s+draining\s+0/4\s+12\s+0\s+-\s+noop\s+\ds ago$`, lines[1])
	assert.Regexp(t, `^w2\s+gpu\s+registered\s+1/2\s+7\s+1\s+arch=arm64,zone=b\s+noop,sleep\s+\ds ago$`, lines[2])

	stdout, _, err = c.run(t, "workers", "--json")
	require.NoError(t, err)
	assert.Contains(t, stdout, `"id": "w2"`)
}

func TestWorkersSaysWhenNoneIsLive(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	stdout, _, err := c.run(t, "workers")
	require.NoError(t, err)
	assert.Equal(t, "no live workers\n", stdout)
}
