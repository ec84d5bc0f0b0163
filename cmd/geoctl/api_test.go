package main

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go/micro"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/geocluster/geocluster/libs/events"
)

func TestSubmitSendsJSONAndPrintsJobID(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	api := c.fakeAPI(t, events.DefaultTenant, map[string]micro.HandlerFunc{
		events.APIVerbSubmit: reply(events.SubmitReply{V: 1, JobID: "my-job", Tenant: "default", Seq: 7}),
	})
	stdout, _, err := c.run(t, "submit", "testdata/job.yaml", "--id", "my-job")
	require.NoError(t, err)
	assert.Equal(t, "my-job\n", stdout)

	var sent events.JobSpec
	api.request(t, events.APIVerbSubmit, &sent)
	assert.Equal(t, "my-job", sent.ID)
	assert.Equal(t, "two steps", sent.Name)
	require.Len(t, sent.Tasks, 2)
	assert.Equal(t, []string{"first"}, sent.Tasks[1].Deps)
}

func TestSubmitReadsStdin(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	api := c.fakeAPI(t, events.DefaultTenant, map[string]micro.HandlerFunc{
		events.APIVerbSubmit: reply(events.SubmitReply{V: 1, JobID: "01J0000000000000000000000", Tenant: "default"}),
	})
	inv := c.start(t, "tasks: [{id: a, op: noop}]\n", nil, "submit", "-", "--json")
	require.NoError(t, inv.wait(t))
	assert.Contains(t, inv.stdout.String(), `"job_id": "01J0000000000000000000000"`)
	var sent events.JobSpec
	api.request(t, events.APIVerbSubmit, &sent)
	assert.Equal(t, "noop", sent.Tasks[0].Op)
}

func TestSubmitRejectionShowsFieldAndMessage(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	c.fakeAPI(t, events.DefaultTenant, map[string]micro.HandlerFunc{
		events.APIVerbSubmit: fail(events.APIError{Code: 400, Error: `unknown op "x" (known: noop, sleep)`, Field: "tasks[3].op"}),
	})
	_, _, err := c.run(t, "submit", "testdata/job.json")
	require.Error(t, err)
	assert.Equal(t, `submit rejected: tasks[3].op: unknown op "x" (known: noop, sleep)`, err.Error())
}

func TestRejectionNamesTheFieldOnce(t *testing.T) {
	t.Parallel()
	for _, e := range []apiError{
		{Verb: "submit", Code: 400, Field: "tasks[1].op", Message: `unknown op "x"`},
		{Verb: "submit", Code: 400, Field: "tasks[1].op", Message: `tasks[1].op: unknown op "x"`},
	} {
		assert.Equal(t, `submit rejected: tasks[1].op: unknown op "x"`, e.Error())
	}
}

func TestSubmitRefusesAnUnknownFieldBeforeSending(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	_, _, err := c.run(t, "submit", "testdata/unknown-field.yaml")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "job file testdata/unknown-field.yaml: tasks[0].depz: unknown field")
}

func TestRequestWithoutSchedulerSaysItIsNotRunning(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	_, _, err := c.run(t, "get", "some-job")
	require.ErrorIs(t, err, errNoScheduler)
	assert.Contains(t, err.Error(), "the scheduler is not running at "+c.url)
}

func TestRequestTimesOutWhenNobodyAnswers(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	sub, err := c.nc.SubscribeSync(events.APISubject(events.DefaultTenant, events.APIVerbList))
	require.NoError(t, err)
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	require.NoError(t, c.nc.Flush())
	_, _, err = c.run(t, "list", "--timeout", "200ms")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no reply from the scheduler")
}

func TestServerErrorWithoutBodyUsesTheHeaders(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	c.fakeAPI(t, events.DefaultTenant, map[string]micro.HandlerFunc{
		events.APIVerbGet: func(r micro.Request) { _ = r.Error("503", "not the leader", nil) },
	})
	_, _, err := c.run(t, "get", "j1")
	var apiErr *apiError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, 503, apiErr.Code)
	assert.Equal(t, "get failed: not the leader", err.Error())
}

func TestTenantComesFromTheEnvironment(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	api := c.fakeAPI(t, "acme", map[string]micro.HandlerFunc{
		events.APIVerbCancel: reply(events.CancelReply{V: 1, JobID: "j1", Seq: 3}),
	})
	inv := c.start(t, "", map[string]string{envTenant: "acme"}, "cancel", "j1", "--reason", "wrong input")
	require.NoError(t, inv.wait(t))
	assert.Equal(t, "cancel of job j1 requested\n", inv.stdout.String())
	var sent events.CancelRequest
	api.request(t, events.APIVerbCancel, &sent)
	assert.Equal(t, events.CancelRequest{V: events.Version, JobID: "j1", Reason: "wrong input"}, sent)
}

func TestGetShowsJobAndTasks(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	job := jobRecord("j1", events.JobRunning, 2, 1, 1)
	job.Counts = events.TaskCounts{Succeeded: 1, Retrying: 1}
	api := c.fakeAPI(t, events.DefaultTenant, map[string]micro.HandlerFunc{
		events.APIVerbGet: reply(events.GetReply{V: 1, Job: job, Tasks: []events.TaskRecord{
			{V: 1, Spec: events.TaskSpec{ID: "first", Op: "noop", MaxAttempts: 3}, State: events.TaskSucceeded, Attempt: 1, WorkerID: "w1"},
			{V: 1, Spec: events.TaskSpec{ID: "second", Op: "fail", MaxAttempts: 3}, State: events.TaskRetrying, Attempt: 2, WorkerID: "w2",
				Errors: []events.AttemptError{{Attempt: 1, Error: "first try"}, {Attempt: 2, Error: "disk\nfull"}}},
		}}),
	})
	stdout, _, err := c.run(t, "get", "j1", "--tasks")
	require.NoError(t, err)
	var sent events.GetRequest
	api.request(t, events.APIVerbGet, &sent)
	assert.Equal(t, events.GetRequest{JobID: "j1", Tasks: true}, sent)
	assert.Regexp(t, `State:\s+running`, stdout)
	assert.Regexp(t, `Tasks:\s+1/2 done: 1 succeeded, 1 retrying`, stdout)
	assert.Regexp(t, `TASK\s+OP\s+STATE\s+ATTEMPT\s+WORKER`, stdout)
	assert.Regexp(t, `second\s+fail\s+retrying\s+2/3\s+w2\s+.*disk full`, stdout)
}

func TestGetPrintsJSON(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	c.fakeAPI(t, events.DefaultTenant, map[string]micro.HandlerFunc{
		events.APIVerbGet: reply(events.GetReply{V: 1, Job: jobRecord("j1", events.JobSucceeded, 1, 1, 0)}),
	})
	stdout, _, err := c.run(t, "--json", "get", "j1")
	require.NoError(t, err)
	assert.Contains(t, stdout, `"state": "succeeded"`)
}

func TestListShowsNewestFirst(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	older := jobRecord("older", events.JobFailed, 3, 3, 0)
	older.SubmittedAt = older.SubmittedAt.Add(-time.Hour)
	newer := jobRecord("newer", events.JobFailed, 5, 2, 0)
	api := c.fakeAPI(t, events.DefaultTenant, map[string]micro.HandlerFunc{
		events.APIVerbList: reply(events.ListReply{V: 1, Jobs: []events.JobRecord{older, newer}}),
	})
	stdout, _, err := c.run(t, "list", "--limit", "5", "--state", "failed")
	require.NoError(t, err)
	var sent events.ListRequest
	api.request(t, events.APIVerbList, &sent)
	assert.Equal(t, events.ListRequest{Limit: 5, State: events.JobFailed}, sent)
	lines := splitLines(stdout)
	require.Len(t, lines, 3)
	assert.Regexp(t, `^ID\s+NAME\s+STATE\s+DONE\s+SUBMITTED$`, lines[0])
	assert.Regexp(t, `^newer\s+test job\s+failed\s+2/5\s+`, lines[1])
	assert.Regexp(t, `^older\s+test job\s+failed\s+3/3\s+`, lines[2])
}

func TestBadArgumentsAreRefusedBeforeConnecting(t *testing.T) {
	t.Parallel()
	c := &cluster{url: "nats://127.0.0.1:1"} // nothing listens: a connection attempt would fail differently
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--tenant", "a.b", "list"}, `--tenant: "a.b"`},
		{[]string{"watch", "a.b"}, `job id "a.b"`},
		{[]string{"watch"}, "usage: geoctl watch JOB_ID"},
		{[]string{"list", "--state", "rejected"}, `--state: "rejected"`},
		{[]string{"list", "--limit", "0"}, "--limit"},
		{[]string{"watch", "j1", "--progress", "fancy"}, `--progress: "fancy"`},
		{[]string{"events", "--since", "1m", "--new"}, "none of the others can be"},
		{[]string{"submit", "testdata/missing.json"}, "read job"},
		{[]string{"submit", "testdata/job.json", "--id", "x y"}, "--id"},
	} {
		t.Run(tc.args[len(tc.args)-1], func(t *testing.T) {
			_, _, err := c.run(t, tc.args...)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}
