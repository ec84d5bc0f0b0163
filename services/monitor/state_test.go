package monitor

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/geocluster/geocluster/libs/events"
)

func taskEventData(t *testing.T, s events.TaskState, op string) []byte {
	t.Helper()
	data, err := json.Marshal(events.TaskEvent{V: events.Version, Tenant: "default", JobID: "j", TaskID: "t", Op: op,
		State: s, Priority: events.PriorityNormal, DurationMS: 1500, At: time.Now()})
	require.NoError(t, err)
	return data
}

// A monitor that crashed after its last snapshot gets the events after it
// redelivered, some of which it had applied: the snapshot's sequence
// decides, so each is counted once.
func TestStateSkipsWhatItCountedBefore(t *testing.T) {
	s := newState()
	subject := events.TaskEventSubject("default", "j", events.TaskSucceeded)
	for seq := uint64(1); seq <= 10; seq++ {
		_, fresh := s.apply(seq, subject, taskEventData(t, events.TaskSucceeded, "noop"))
		require.True(t, fresh)
	}
	data, err := json.Marshal(s)
	require.NoError(t, err)
	var restored state
	require.NoError(t, json.Unmarshal(data, &restored))
	restored.init()
	// Redelivery from seq 6 (the crash came before the ack of 6..10).
	for seq := uint64(6); seq <= 12; seq++ {
		_, fresh := restored.apply(seq, subject, taskEventData(t, events.TaskSucceeded, "noop"))
		assert.Equal(t, seq > 10, fresh, "seq %d", seq)
	}
	tot := restored.totals()
	assert.EqualValues(t, 12, tot.Done)
	assert.EqualValues(t, 12, restored.durationTotal().Count)
	assert.EqualValues(t, 12, restored.Seq)
}

func TestStateRejectsUndecodableEvents(t *testing.T) {
	s := newState()
	_, fresh := s.apply(1, events.TaskEventSubject("default", "j", events.TaskSucceeded), []byte(`{"v":1,"tenant":"x y"}`))
	assert.True(t, fresh, "a bad event is consumed, not retried forever")
	_, _ = s.apply(2, events.JobEventSubject("default", "j", events.JobSucceeded), []byte(`not json`))
	_, _ = s.apply(3, events.WorkerEventSubject("w1", events.WorkerRegistered), []byte(`{}`))
	assert.Equal(t, map[string]uint64{"task": 1, "job": 1, "worker": 1}, s.Rejected)
	assert.Empty(t, s.Tasks)
}

func TestHistogramQuantile(t *testing.T) {
	var h hist
	for range 90 {
		h.observe(0.02) // in (0.01, 0.025]
	}
	for range 10 {
		h.observe(7) // in (5, 10]
	}
	p50, ok := h.quantile(0.5)
	require.True(t, ok)
	assert.InDelta(t, 0.01+0.015*50/90, p50, 1e-9)
	p99, _ := h.quantile(0.99)
	assert.InDelta(t, 5+5*9.0/10, p99, 1e-9)
	c := h.cumulative()
	assert.EqualValues(t, 90, c[0.025])
	assert.EqualValues(t, 100, c[10])
	_, ok = (&hist{}).quantile(0.5)
	assert.False(t, ok)
}
