package scheduler

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/geocluster/geocluster/libs/events"
)

func TestStragglerRule(t *testing.T) {
	c := newTestCore(t)
	c.cfg.Speculation.MinRunning = 2 * time.Second
	late, _ := c.straggling("noop", time.Hour)
	assert.False(t, late, "no run times yet")
	r := &runTimes{}
	for i := 1; i <= 10; i++ {
		r.add(float64(i * 100)) // 100ms … 1s: p90 is 900ms
	}
	c.runTimes["noop"] = r
	tests := []struct {
		running time.Duration
		late    bool
	}{
		{time.Second, false},             // under MinRunning
		{2500 * time.Millisecond, false}, // under 3 x 900ms
		{2800 * time.Millisecond, true},
	}
	for _, tt := range tests {
		late, limit := c.straggling("noop", tt.running)
		assert.Equal(t, tt.late, late, "%s", tt.running)
		assert.Equal(t, 2700*time.Millisecond, limit)
	}
	c.cfg.Speculation.Off = true
	late, _ = c.straggling("noop", time.Hour)
	assert.False(t, late, "off")
	for range runTimesKept {
		r.add(50)
	}
	assert.Equal(t, 50*time.Millisecond, r.percentile(0.9), "only the last run times count")
}

func TestStragglerGetsABackupAndTheFirstCopyWins(t *testing.T) {
	c := newTestCore(t)
	now := c.now()
	clock := func(d time.Duration) { at := now.Add(d); c.now = func() time.Time { return at } }
	c.cfg.Speculation.MinRunning = time.Second
	r := &runTimes{}
	for range 10 {
		r.add(100)
	}
	c.runTimes["noop"] = r
	c.loc.worker("w1", &events.WorkerInfo{ID: "w1", Pool: "default", Ops: []string{"noop"}, Capacity: 4, Running: 4})
	c.loc.worker("w2", &events.WorkerInfo{ID: "w2", Pool: "default", Ops: []string{"noop"}, Capacity: 4, Running: 1})
	c.loc.worker("w3", &events.WorkerInfo{ID: "w3", Pool: "default", Ops: []string{"sleep"}, Capacity: 8})
	submitJSON(t, c, `{"id":"j","tasks":[{"id":"a","op":"noop"}]}`)
	c.taskEvent(events.TaskEvent{V: 1, Tenant: "default", JobID: "j", TaskID: "a", State: events.TaskStarted, Attempt: 1, WorkerID: "w1"})
	c.endBatch()

	clock(500 * time.Millisecond)
	c.speculate()
	assert.Empty(t, c.endBatch().msgs, "not late yet")

	clock(2 * time.Second)
	c.speculate()
	out := c.endBatch()
	rel := released(out)
	require.Len(t, rel, 1)
	assert.Equal(t, "w2", rel[0].DirectedTo, "the free worker that runs the op")
	assert.Equal(t, 1, rel[0].Attempt, "the same attempt")
	assert.Contains(t, subjects(out), "geo.events.default.task.j.backup")
	c.speculate()
	assert.Empty(t, released(c.endBatch()), "one backup only")

	// The original fails: the backup runs on.
	c.failed(c.jobs[events.JobKey("default", "j")].tasks["a"], events.TaskEvent{Attempt: 1, WorkerID: "w1", Error: "disk"}, c.now())
	out = c.endBatch()
	assert.NotContains(t, subjects(out), "geo.events.default.task.j.retrying")
	// The backup succeeds: the job is done, nothing to supersede (the
	// other copy already failed).
	c.taskEvent(events.TaskEvent{V: 1, Tenant: "default", JobID: "j", TaskID: "a", State: events.TaskSucceeded, Attempt: 1, WorkerID: "w2"})
	out = c.endBatch()
	assert.Contains(t, subjects(out), "geo.events.default.job.j.succeeded")
	assert.NotContains(t, subjects(out), "geo.events.default.task.j.superseded")
}

func TestFirstCopyToSucceedSupersedesTheOther(t *testing.T) {
	c := newTestCore(t)
	c.cfg.Speculation.MinRunning = 0
	r := &runTimes{}
	for range 10 {
		r.add(1)
	}
	c.runTimes["noop"] = r
	c.loc.worker("w2", &events.WorkerInfo{ID: "w2", Pool: "default", Ops: []string{"noop"}, Capacity: 4})
	submitJSON(t, c, `{"id":"j","tasks":[{"id":"a","op":"noop"}]}`)
	c.taskEvent(events.TaskEvent{V: 1, Tenant: "default", JobID: "j", TaskID: "a", State: events.TaskStarted, Attempt: 1, WorkerID: "w1"})
	c.endBatch()
	now := c.now().Add(time.Second)
	c.now = func() time.Time { return now }
	c.speculate()
	c.endBatch()
	c.taskEvent(events.TaskEvent{V: 1, Tenant: "default", JobID: "j", TaskID: "a", State: events.TaskSucceeded, Attempt: 1, WorkerID: "w1"})
	out := c.endBatch()
	var superseded []events.TaskEvent
	for _, m := range out.msgs {
		if m.subject == "geo.events.default.task.j.superseded" {
			var e events.TaskEvent
			require.NoError(t, jsonUnmarshal(m.data, &e))
			superseded = append(superseded, e)
		}
	}
	require.Len(t, superseded, 1)
	assert.Equal(t, "w2", superseded[0].WorkerID, "the backup lost and is told to stop")
}

func jsonUnmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }
