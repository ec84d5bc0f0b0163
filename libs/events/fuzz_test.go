package events_test

import (
	"testing"

	"github.com/geocluster/geocluster/libs/events"
)

// FuzzDecodeJob: any input decodes to a job or to an error, never a panic,
// and validation of whatever decodes never panics either.
func FuzzDecodeJob(f *testing.F) {
	for _, s := range []string{
		`{"tasks":[{"id":"a","op":"noop"}]}`,
		`{"id":"j","priority":"high","on_failure":"continue","retry":{"initial_ms":10,"jitter":0.5},"tasks":[{"id":"a","op":"sleep","params":{"duration_ms":5}},{"id":"b","op":"noop","deps":["a"]}]}`,
		`{"tasks":[{"id":"a","op":"noop","deps":["b"]},{"id":"b","op":"noop","deps":["a"]}]}`,
		`{"tasks":[`, `null`, `[]`, `{"v":2}`, `{"tasks":[{"id":"a","op":"checksum","params":{"object":"x"}}]}`,
	} {
		f.Add([]byte(s))
	}
	ops := events.PlatformOps()
	f.Fuzz(func(t *testing.T, data []byte) {
		j, err := events.DecodeJob(data)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		_ = j.Validate("default", ops, events.Limits{MaxTasks: 1000})
	})
}

// FuzzDecodeTask: task messages from the stream never panic a worker.
func FuzzDecodeTask(f *testing.F) {
	f.Add([]byte(`{"v":1,"tenant":"default","job_id":"j","task_id":"t","op":"noop","priority":"normal","pool":"default","attempt":1,"max_attempts":3,"released_at":"2026-01-01T00:00:00Z"}`))
	f.Add([]byte(`{"v":1}`))
	f.Add([]byte(`{`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := events.DecodeTask(data)
		if err == nil && (m.TaskID == "" || m.Attempt < 1) {
			t.Fatalf("accepted an invalid task: %+v", m)
		}
	})
}

// FuzzDecodeTaskEvent: events from any client never panic the scheduler.
func FuzzDecodeTaskEvent(f *testing.F) {
	f.Add([]byte(`{"v":1,"tenant":"default","job_id":"j","task_id":"t","state":"succeeded","attempt":1,"result":{"x":1}}`))
	f.Add([]byte(`{"v":1,"tenant":"a.b","job_id":"j","task_id":"t","state":"failed"}`))
	f.Add([]byte(`nope`))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = events.DecodeTaskEvent(data)
		_, _ = events.DecodeCancel(data)
		_, _ = events.DecodeJobEvent(data)
	})
}
