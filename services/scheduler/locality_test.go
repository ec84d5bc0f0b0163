package scheduler

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/geocluster/geocluster/libs/events"
)

func liveWorker(c *core, id string) {
	c.loc.worker(id, &events.WorkerInfo{V: 1, ID: id, Pool: "default", State: events.WorkerRegistered})
}

func holds(c *core, id string, objects ...string) {
	c.loc.holdings(events.WorkerHoldings{V: 1, WorkerID: id, Pool: "default", Added: objects})
}

const localityJob = `{"id":"j","tasks":[{"id":"a","op":"noop","inputs":["t/1","t/2"]}]}`

func TestTaskIsOfferedToTheWorkerHoldingMostInputsThenReleasedToAll(t *testing.T) {
	c := newTestCore(t)
	liveWorker(c, "w1")
	liveWorker(c, "w2")
	holds(c, "w1", "t/1")
	holds(c, "w2", "t/1", "t/2")
	out := submitJSON(t, c, localityJob)
	rel := released(out)
	require.Len(t, rel, 1)
	assert.Equal(t, "w2", rel[0].DirectedTo)
	assert.Equal(t, "geo.tasks.normal.default.w2", out.msgs[len(out.msgs)-1].subject)
	assert.Equal(t, "default.j.a.1.directed", out.msgs[len(out.msgs)-1].msgID)
	require.Len(t, out.timers, 1)
	assert.True(t, out.timers[0].local)
	assert.Equal(t, c.now().Add(c.cfg.LocalityWait), out.timers[0].at)
	assert.Contains(t, out.directed, directedSignal{pool: "default", worker: "w2"})

	// Nobody started it within the wait: the shared copy of the same attempt.
	c.retryDue(out.timers[0])
	out = c.endBatch()
	rel = released(out)
	require.Len(t, rel, 1)
	assert.Empty(t, rel[0].DirectedTo)
	assert.Equal(t, 1, rel[0].Attempt)
	assert.Equal(t, "geo.tasks.normal.default", out.msgs[0].subject)
	assert.Equal(t, "default.j.a.1", out.msgs[0].msgID)
}

func TestOfferStartedInTimeIsNotReleasedAgain(t *testing.T) {
	c := newTestCore(t)
	liveWorker(c, "w1")
	holds(c, "w1", "t/2")
	out := submitJSON(t, c, localityJob)
	timer := out.timers[0]
	c.taskEvent(events.TaskEvent{V: 1, Tenant: "default", JobID: "j", TaskID: "a", State: events.TaskStarted, Attempt: 1, WorkerID: "w1"})
	c.endBatch()
	c.retryDue(timer)
	assert.Empty(t, released(c.endBatch()), "the offer was taken: no shared copy")
}

func TestNoOfferWithoutLiveHolderOrWithLocalityOff(t *testing.T) {
	c := newTestCore(t)
	holds(c, "gone", "t/1") // announced but not registered
	rel := released(submitJSON(t, c, localityJob))
	require.Len(t, rel, 1)
	assert.Empty(t, rel[0].DirectedTo)

	c = newTestCore(t)
	c.cfg.LocalityWait = 0
	liveWorker(c, "w1")
	holds(c, "w1", "t/1")
	rel = released(submitJSON(t, c, localityJob))
	require.Len(t, rel, 1)
	assert.Empty(t, rel[0].DirectedTo)
}

func TestLostWorkerOffersGoToEveryoneAndItsDirectedRunIsRetried(t *testing.T) {
	c := newTestCore(t)
	liveWorker(c, "w1")
	holds(c, "w1", "t/1")
	submitJSON(t, c, `{"id":"j","tasks":[{"id":"a","op":"noop","inputs":["t/1"]},{"id":"b","op":"noop","inputs":["t/1"]}]}`)
	c.taskEvent(events.TaskEvent{V: 1, Tenant: "default", JobID: "j", TaskID: "b", State: events.TaskStarted, Attempt: 1, WorkerID: "w1"})
	c.endBatch()

	c.workerLost("w1", false)
	out := c.endBatch()
	rel := released(out)
	require.Len(t, rel, 1, "the queued offer is released to everyone at once")
	assert.Equal(t, "a", rel[0].TaskID)
	assert.Empty(t, rel[0].DirectedTo)
	j := c.jobs[events.JobKey("default", "j")]
	assert.Equal(t, events.TaskRetrying, j.tasks["b"].rec.State, "the run on the lost worker counts as a failed attempt")
	assert.Contains(t, j.tasks["b"].rec.Errors[0].Error, "lost")
	assert.Empty(t, c.loc.best("default", []string{"t/1"}), "its holdings are forgotten")
}

func TestHoldingsResetAndRemoval(t *testing.T) {
	l := newLocality()
	l.worker("w1", &events.WorkerInfo{ID: "w1", Pool: "default"})
	l.holdings(events.WorkerHoldings{WorkerID: "w1", Added: []string{"a", "b"}})
	assert.Equal(t, "w1", l.best("default", []string{"a"}))
	l.holdings(events.WorkerHoldings{WorkerID: "w1", Removed: []string{"a"}})
	assert.Empty(t, l.best("default", []string{"a"}))
	l.holdings(events.WorkerHoldings{WorkerID: "w1", Reset: true, Added: []string{"c"}})
	assert.Empty(t, l.best("default", []string{"b"}))
	assert.Equal(t, "w1", l.best("default", []string{"c"}))
	assert.Empty(t, l.best("other-pool", []string{"c"}), "only workers of the task's pool")
	l.worker("w1", &events.WorkerInfo{ID: "w1", Pool: "default", State: events.WorkerDraining})
	assert.Empty(t, l.best("default", []string{"c"}), "a draining worker is offered nothing")
}

func TestExpiredWorkerTasksAreRetriedAtOnceAndALostEventPublished(t *testing.T) {
	c := newTestCore(t)
	submitJSON(t, c, `{"id":"j","tasks":[{"id":"a","op":"noop"},{"id":"b","op":"noop"}]}`)
	c.taskEvent(events.TaskEvent{V: 1, Tenant: "default", JobID: "j", TaskID: "a", State: events.TaskStarted, Attempt: 1, WorkerID: "w1"})
	c.taskEvent(events.TaskEvent{V: 1, Tenant: "default", JobID: "j", TaskID: "b", State: events.TaskStarted, Attempt: 1, WorkerID: "w2"})
	c.endBatch()

	c.workerLost("w1", false)
	assert.Empty(t, c.endBatch().msgs, "a worker that deregistered itself handed its tasks back")

	c.workerLost("w1", true)
	out := c.endBatch()
	j := c.jobs[events.JobKey("default", "j")]
	assert.Equal(t, events.TaskRetrying, j.tasks["a"].rec.State)
	assert.Contains(t, j.tasks["a"].rec.Errors[0].Error, "missed its heartbeats")
	assert.Equal(t, events.TaskRunning, j.tasks["b"].rec.State, "another worker's task runs on")
	assert.Contains(t, subjects(out), "geo.workers.w1.lost")
}
