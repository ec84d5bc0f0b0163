package events_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/geocluster/geocluster/libs/events"
)

func validate(body string, lim events.Limits) error {
	j, err := events.DecodeJob([]byte(body))
	if err != nil {
		return err
	}
	return j.Validate("default", events.PlatformOps(), lim)
}

func TestValidateNamesTheBadField(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, body, field, reason string
		sentinel                  error
	}{
		{"malformed", `{"tasks":[`, "", "malformed JSON", events.ErrMalformed},
		{"empty", ``, "", "empty message", events.ErrMalformed},
		{"trailing", `{"tasks":[{"id":"a","op":"noop"}]} {}`, "", "trailing data", events.ErrMalformed},
		{"unknown field", `{"prority":"high","tasks":[]}`, "prority", "unknown field", events.ErrMalformed},
		{"wrong type", `{"tasks":[{"id":"a","op":"noop","max_attempts":"3"}]}`, "tasks[0].max_attempts", "expected int", events.ErrMalformed},
		{"unknown task field", `{"tasks":[{"id":"a","op":"noop"},{"id":"b","op":"noop","depz":["a"]}]}`, "tasks[1].depz", "unknown field", events.ErrMalformed},
		{"version", `{"v":2,"tasks":[{"id":"a","op":"noop"}]}`, "v", "version 2", events.ErrUnsupportedVersion},
		{"no tasks", `{"tasks":[]}`, "tasks", "at least one task", events.ErrInvalid},
		{"bad id", `{"id":"a.b","tasks":[{"id":"a","op":"noop"}]}`, "id", "letters, digits", events.ErrInvalid},
		{"tenant mismatch", `{"tenant":"other","tasks":[{"id":"a","op":"noop"}]}`, "tenant", "does not match", events.ErrInvalid},
		{"priority", `{"tasks":[{"id":"a","op":"noop","priority":"urgent"}]}`, "tasks[0].priority", "unknown priority", events.ErrInvalid},
		{"policy", `{"on_failure":"ignore","tasks":[{"id":"a","op":"noop"}]}`, "on_failure", "unknown policy", events.ErrInvalid},
		{"missing op", `{"tasks":[{"id":"a"}]}`, "tasks[0].op", "is required", events.ErrInvalid},
		{"unknown op", `{"tasks":[{"id":"a","op":"teleport"}]}`, "tasks[0].op", `unknown op "teleport"`, events.ErrInvalid},
		{"dup id", `{"tasks":[{"id":"a","op":"noop"},{"id":"a","op":"noop"}]}`, "tasks[1].id", "duplicate task id", events.ErrInvalid},
		{"task id with space", `{"tasks":[{"id":"a b","op":"noop"}]}`, "tasks[0].id", "letters, digits", events.ErrInvalid},
		{"dangling", `{"tasks":[{"id":"a","op":"noop","deps":["x"]}]}`, "tasks[0].deps[0]", "dangling", events.ErrInvalid},
		{"self", `{"tasks":[{"id":"a","op":"noop","deps":["a"]}]}`, "tasks[0].deps[0]", "depends on itself", events.ErrInvalid},
		{"dup dep", `{"tasks":[{"id":"a","op":"noop"},{"id":"b","op":"noop","deps":["a","a"]}]}`, "tasks[1].deps[1]", "duplicate dependency", events.ErrInvalid},
		{"cycle", `{"tasks":[{"id":"a","op":"noop","deps":["b"]},{"id":"b","op":"noop","deps":["a"]},{"id":"c","op":"noop"}]}`, "tasks[0].deps", "cycle: a -> b -> a", events.ErrInvalid},
		{"params type", `{"tasks":[{"id":"a","op":"sleep","params":{"duration_ms":"x"}}]}`, "tasks[0].params.duration_ms", "expected int64", events.ErrInvalid},
		{"params unknown", `{"tasks":[{"id":"a","op":"sleep","params":{"secs":1}}]}`, "tasks[0].params.secs", "unknown field", events.ErrInvalid},
		{"params range", `{"tasks":[{"id":"a","op":"sleep","params":{"duration_ms":-1}}]}`, "tasks[0].params.duration_ms", "between", events.ErrInvalid},
		{"checksum needs object", `{"tasks":[{"id":"a","op":"checksum"}]}`, "tasks[0].params.object", "is required", events.ErrInvalid},
		{"attempts", `{"max_attempts":99,"tasks":[{"id":"a","op":"noop"}]}`, "max_attempts", "between 1 and 20", events.ErrInvalid},
		{"retry", `{"retry":{"jitter":2},"tasks":[{"id":"a","op":"noop"}]}`, "retry.jitter", "between 0 and 1", events.ErrInvalid},
		{"resources", `{"tasks":[{"id":"a","op":"noop","resources":{"cpu":-1}}]}`, "tasks[0].resources", "negative", events.ErrInvalid},
		{"pool", `{"tasks":[{"id":"a","op":"noop","pool":"gpu.*"}]}`, "tasks[0].pool", "letters, digits", events.ErrInvalid},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := validate(c.body, events.Limits{})
			require.Error(t, err)
			assert.Equal(t, c.field, events.FieldOf(err))
			assert.Contains(t, err.Error(), c.reason)
			assert.True(t, errors.Is(err, c.sentinel), "%v is not %v", err, c.sentinel)
		})
	}
}

func TestValidateRejectsOversizeJobs(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString(`{"tasks":[`)
	for i := range 11 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":"t%d","op":"noop"}`, i)
	}
	b.WriteString(`]}`)
	err := validate(b.String(), events.Limits{MaxTasks: 10})
	require.ErrorIs(t, err, events.ErrTooLarge)
	assert.Equal(t, "tasks", events.FieldOf(err))
	assert.Contains(t, err.Error(), "11 tasks, the limit is 10")
	require.NoError(t, validate(b.String(), events.Limits{MaxTasks: 11}))
}

func TestValidateAcceptsALargeFanOutFanIn(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString(`{"id":"big","tasks":[{"id":"root","op":"noop"}`)
	deps := make([]string, 0, 1000)
	for i := range 1000 {
		fmt.Fprintf(&b, `,{"id":"m%d","op":"noop","deps":["root"]}`, i)
		deps = append(deps, fmt.Sprintf("%q", fmt.Sprintf("m%d", i)))
	}
	fmt.Fprintf(&b, `,{"id":"sink","op":"noop","deps":[%s]}]}`, strings.Join(deps, ","))
	require.NoError(t, validate(b.String(), events.Limits{}))
}

func TestNormalizeFillsDefaults(t *testing.T) {
	t.Parallel()
	j, err := events.DecodeJob([]byte(`{"priority":"high","max_attempts":5,"tasks":[{"id":"a","op":"noop"},{"id":"b","op":"noop","priority":"low","max_attempts":1,"pool":"gpu"}]}`))
	require.NoError(t, err)
	j.Normalize("acme")
	assert.Equal(t, "acme", j.Tenant)
	assert.Equal(t, events.FailJob, j.OnFailure)
	assert.Equal(t, events.PriorityHigh, j.Tasks[0].Priority)
	assert.Equal(t, 5, j.Tasks[0].MaxAttempts)
	assert.Equal(t, "default", j.Tasks[0].Pool)
	assert.Equal(t, events.PriorityLow, j.Tasks[1].Priority)
	assert.Equal(t, 1, j.Tasks[1].MaxAttempts)
	assert.Equal(t, "gpu", j.Tasks[1].Pool)
}

func TestSubjectsCarryTheTenantAtAFixedToken(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "geo.jobs.submit.acme", events.JobSubmitSubject("acme"))
	assert.Equal(t, "geo.events.acme.task.J1.succeeded", events.TaskEventSubject("acme", "J1", events.TaskSucceeded))
	assert.Equal(t, "geo.events.acme.job.J1.failed", events.JobEventSubject("acme", "J1", events.JobFailed))
	assert.Equal(t, "geo.api.acme.jobs.submit", events.APISubject("acme", "submit"))
	tenant, ok := events.TenantFromAPISubject("geo.api.acme.jobs.get")
	assert.True(t, ok)
	assert.Equal(t, "acme", tenant)
	_, ok = events.TenantFromAPISubject("geo.api.acme.other.get")
	assert.False(t, ok)
	verb, tenant, ok := events.TenantFromJobsSubject("geo.jobs.cancel.acme")
	assert.True(t, ok)
	assert.Equal(t, "cancel", verb)
	assert.Equal(t, "acme", tenant)
	assert.Equal(t, "geo.tasks.critical.gpu", events.TaskSubject(events.PriorityCritical, "gpu"))
	assert.Equal(t, "TASKS_CRITICAL", events.TaskStream(events.PriorityCritical))
	assert.Equal(t, "acme.J1.t1", events.TaskKey("acme", "J1", "t1"))
	assert.True(t, events.ValidToken(events.NewID()))
	assert.False(t, events.ValidToken("a>"))
	assert.False(t, events.ValidToken(strings.Repeat("a", 65)))
}
