package scheduler

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/geocluster/geocluster/libs/events"
)

// newTestCore returns a core with a fixed clock and no stored jobs.
func newTestCore(t *testing.T) *core {
	t.Helper()
	c := newCore(DefaultConfig(), zerolog.Nop(), func(string) (bool, error) { return false, nil })
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c.now = func() time.Time { return now }
	c.rnd = func() float64 { return 0.5 }
	return c
}

func submitJSON(t *testing.T, c *core, body string) *outbox {
	t.Helper()
	require.NoError(t, c.submit("default", []byte(body), nil, 1))
	return c.endBatch()
}

func subjects(o *outbox) []string {
	var out []string
	for _, m := range o.msgs {
		out = append(out, m.subject)
	}
	return out
}

func released(o *outbox) []events.TaskMessage {
	var out []events.TaskMessage
	for _, m := range o.msgs {
		if strings.HasPrefix(m.subject, "geo.tasks.") {
			var tm events.TaskMessage
			_ = json.Unmarshal(m.data, &tm)
			out = append(out, tm)
		}
	}
	return out
}

func ev(task string, s events.TaskState, attempt int) events.TaskEvent {
	return events.TaskEvent{V: 1, Tenant: "default", JobID: "j", TaskID: task, State: s, Attempt: attempt, WorkerID: "w"}
}

func TestCoreReleasesOnlyReadyTasksAndAdvancesTheDAG(t *testing.T) {
	c := newTestCore(t)
	out := submitJSON(t, c, `{"id":"j","tasks":[{"id":"a","op":"noop"},{"id":"b","op":"noop","deps":["a"]},{"id":"c","op":"noop","deps":["a","b"]}]}`)
	rel := released(out)
	require.Len(t, rel, 1)
	assert.Equal(t, "a", rel[0].TaskID)
	assert.Len(t, out.tasks, 3, "every task record is written at intake")
	assert.Contains(t, subjects(out), "geo.events.default.job.j.accepted")
	assert.Equal(t, "default.j.a.1", out.msgs[len(out.msgs)-1].msgID)

	c.taskEvent(ev("a", events.TaskStarted, 1))
	c.taskEvent(ev("a", events.TaskSucceeded, 1))
	out = c.endBatch()
	rel = released(out)
	require.Len(t, rel, 1)
	assert.Equal(t, "b", rel[0].TaskID)
	assert.Len(t, out.tasks, 2, "a written once although it changed twice")

	c.taskEvent(ev("b", events.TaskSucceeded, 1))
	assert.Equal(t, "c", released(c.endBatch())[0].TaskID)
	c.taskEvent(ev("c", events.TaskSucceeded, 1))
	out = c.endBatch()
	require.Len(t, out.done, 1)
	assert.Equal(t, events.JobSucceeded, out.done[0].rec.State)
}

func TestCoreIgnoresDuplicatesAndStaleAttempts(t *testing.T) {
	c := newTestCore(t)
	submitJSON(t, c, `{"id":"j","max_attempts":3,"tasks":[{"id":"a","op":"noop"},{"id":"z","op":"noop","deps":["a"]}]}`)
	// Attempt 1 fails: retrying, with a timer at the backoff.
	c.taskEvent(events.TaskEvent{V: 1, Tenant: "default", JobID: "j", TaskID: "a", State: events.TaskFailed, Attempt: 1, Error: "boom"})
	out := c.endBatch()
	require.Len(t, out.timers, 1)
	assert.Equal(t, c.now().Add(200*time.Millisecond), out.timers[0].at)
	assert.Contains(t, subjects(out), "geo.events.default.task.j.retrying")
	// The same failure again (a redelivered event) changes nothing.
	c.taskEvent(events.TaskEvent{V: 1, Tenant: "default", JobID: "j", TaskID: "a", State: events.TaskFailed, Attempt: 1, Error: "boom"})
	assert.True(t, c.endBatch().empty())
	// The retry releases attempt 2.
	c.retryDue(out.timers[0])
	rel := released(c.endBatch())
	require.Len(t, rel, 1)
	assert.Equal(t, 2, rel[0].Attempt)
	// A stale timer does nothing.
	c.retryDue(out.timers[0])
	assert.True(t, c.endBatch().empty())
	// A late started event of attempt 1 is ignored; attempt 2's counts.
	c.taskEvent(ev("a", events.TaskStarted, 1))
	assert.True(t, c.endBatch().empty())
	c.taskEvent(ev("a", events.TaskSucceeded, 2))
	c.taskEvent(ev("a", events.TaskSucceeded, 2))
	out = c.endBatch()
	require.Len(t, released(out), 1, "z released once, not twice")
}

func TestCoreDeadLettersAfterMaxAttemptsOrAPermanentError(t *testing.T) {
	c := newTestCore(t)
	submitJSON(t, c, `{"id":"j","tasks":[{"id":"a","op":"noop","max_attempts":5},{"id":"b","op":"noop"}]}`)
	c.taskEvent(events.TaskEvent{V: 1, Tenant: "default", JobID: "j", TaskID: "a", State: events.TaskFailed, Attempt: 1, Error: "bad params", Permanent: true})
	out := c.endBatch()
	assert.Contains(t, subjects(out), "geo.dlq.default.normal")
	assert.Contains(t, subjects(out), "geo.events.default.task.j.deadlettered")
	require.Len(t, out.done, 1)
	j := out.done[0]
	assert.Equal(t, events.JobFailed, j.rec.State)
	assert.Equal(t, events.TaskCounts{Failed: 1, Cancelled: 1}, j.rec.Counts)
	assert.Contains(t, j.rec.Error, "task a dead-lettered after 1 attempts: bad params")
}

func TestCoreRejectsWithTheFieldAndAcceptsNothing(t *testing.T) {
	c := newTestCore(t)
	out := submitJSON(t, c, `{"id":"bad","tasks":[{"id":"a","op":"nope"}]}`)
	require.Len(t, out.msgs, 1)
	assert.Equal(t, "geo.events.default.job.bad.rejected", out.msgs[0].subject)
	var je events.JobEvent
	require.NoError(t, json.Unmarshal(out.msgs[0].data, &je))
	assert.Equal(t, "tasks[0].op", je.Field)
	assert.Empty(t, c.jobs)
	assert.Empty(t, out.tasks)
}

// TestEventsOfATaskReleasedByALostLeaderAreAdopted: a leader released b and
// died before storing b's record; its successor sees b pending, and b's
// completion arrives before the redelivered completion of a that released
// it. The completion counts: it would not come again.
func TestEventsOfATaskReleasedByALostLeaderAreAdopted(t *testing.T) {
	c := newTestCore(t)
	submitJSON(t, c, `{"id":"j","tasks":[{"id":"a","op":"noop"},{"id":"b","op":"noop","deps":["a"]}]}`)
	c.taskEvent(ev("b", events.TaskStarted, 1))
	c.taskEvent(ev("b", events.TaskSucceeded, 1))
	c.endBatch()
	j := c.jobs[events.JobKey("default", "j")]
	assert.Equal(t, events.TaskSucceeded, j.tasks["b"].rec.State)
	c.taskEvent(ev("a", events.TaskSucceeded, 1))
	out := c.endBatch()
	assert.Empty(t, released(out), "b is not released again")
	assert.Contains(t, subjects(out), "geo.events.default.job.j.succeeded")
}
