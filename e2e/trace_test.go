package e2e_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/geocluster/geocluster/libs/events"
)

// TestTraceContextFollowsAJobAcrossServices: a job submitted with a W3C
// traceparent header keeps its trace id on the released task messages and on
// every task event the workers and the scheduler publish.
func TestTraceContextFollowsAJobAcrossServices(t *testing.T) {
	t.Parallel()
	cl := start(t, 2, nil, nil)
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	job := events.JobSpec{ID: "traced", Tasks: []events.TaskSpec{
		{ID: "a", Op: "noop"}, {ID: "b", Op: "fail", MaxAttempts: 2, Deps: []string{"a"}, Params: json.RawMessage(`{"succeed_on_attempt":2}`)},
	}, Retry: &events.RetryPolicy{InitialMS: 10}}
	data, err := json.Marshal(job)
	require.NoError(t, err)
	msg := nats.NewMsg(events.JobSubmitSubject(events.DefaultTenant))
	msg.Data = data
	msg.Header.Set(events.TraceParentHeader, "00-"+traceID+"-00f067aa0ba902b7-01")
	_, err = cl.js.PublishMsg(t.Context(), msg, jetstream.WithMsgID(job.ID))
	require.NoError(t, err)
	require.Equal(t, events.JobSucceeded, cl.waitJob(t, job.ID, 30*time.Second).State)

	rec, _ := cl.job(t, job.ID)
	assert.Contains(t, rec.TraceParent, traceID, "the job record keeps the trace")
	evs := cl.eventsOf(t, job.ID)
	require.NotEmpty(t, evs)
	states := map[string]bool{}
	for _, m := range evs {
		tp := m.Headers().Get(events.TraceParentHeader)
		assert.Contains(t, tp, traceID, "event %s lost the trace", m.Subject())
		states[m.Subject()] = true
	}
	// Scheduler-side (retrying, job events) and worker-side (started,
	// failed, succeeded) events were all checked.
	assert.True(t, states["geo.events.default.task.traced.retrying"])
	assert.True(t, states["geo.events.default.task.traced.started"])
	assert.True(t, states["geo.events.default.job.traced.succeeded"])
}
