package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/geocluster/geocluster/libs/events"
)

func TestExampleJobsValidate(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("../../examples/*")
	require.NoError(t, err)
	names := make([]string, 0, len(files))
	for _, f := range files {
		names = append(names, filepath.Base(f))
	}
	require.Subset(t, names, []string{"diamond.yaml", "retry.json"})
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			raw, err := os.ReadFile(path)
			require.NoError(t, err)
			data, err := jobJSON(path, raw, "")
			require.NoError(t, err)
			job, err := events.DecodeJob(data)
			require.NoError(t, err)
			require.NoError(t, job.Validate(events.DefaultTenant, events.PlatformOps(), events.Limits{}))
		})
	}
}

func TestRetryExampleSucceedsOnItsLastAttempt(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../../examples/retry.json")
	require.NoError(t, err)
	job, err := events.DecodeJob(raw)
	require.NoError(t, err)
	require.Len(t, job.Tasks, 1)
	task := job.Tasks[0]
	assert.Equal(t, events.OpFail, task.Op)
	assert.Equal(t, 3, task.MaxAttempts)
	var p events.FailParams
	require.NoError(t, events.DecodeParams(task.Params, &p))
	assert.Equal(t, 3, p.SucceedOnAttempt)
}

func TestJobFilesParseAsJSONOrYAML(t *testing.T) {
	t.Parallel()
	want := decodeFile(t, "testdata/job.json")
	for _, path := range []string{"testdata/job.yaml", "testdata/job.txt"} {
		t.Run(path, func(t *testing.T) {
			got := decodeFile(t, path)
			assert.JSONEq(t, string(mustJSON(t, want)), string(mustJSON(t, got)))
			require.NoError(t, got.Validate(events.DefaultTenant, events.PlatformOps(), events.Limits{}))
		})
	}
}

func TestJobIDOverrideReplacesTheFilesID(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../../examples/diamond.yaml")
	require.NoError(t, err)
	data, err := jobJSON("diamond.yaml", raw, "other-id")
	require.NoError(t, err)
	job, err := events.DecodeJob(data)
	require.NoError(t, err)
	assert.Equal(t, "other-id", job.ID)
	assert.Len(t, job.Tasks, 5)
}

func TestJobFileErrorsNameTheField(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ path, raw, want string }{
		{"bad.json", `{"tasks": [{"id": "a", "op": 1}]}`, "tasks[0].op: expected string"},
		{"bad.yaml", "tasks:\n  - id: a\n    deps: x\n", "tasks[0].deps: expected []string"},
		{"bad.yaml", "tasks: [\n", "parse YAML"},
		{"empty.json", "  ", "empty message"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			_, err := jobJSON(tc.path, []byte(tc.raw), "")
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	data, err := json.Marshal(v)
	require.NoError(t, err)
	return data
}

func decodeFile(t *testing.T, path string) events.JobSpec {
	t.Helper()
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	data, err := jobJSON(path, raw, "")
	require.NoError(t, err)
	job, err := events.DecodeJob(data)
	require.NoError(t, err)
	return job
}

func FuzzJobJSON(f *testing.F) {
	for _, p := range []string{"testdata/job.json", "testdata/job.yaml", "testdata/job.txt", "../../examples/diamond.yaml"} {
		raw, err := os.ReadFile(p)
		require.NoError(f, err)
		f.Add(filepath.Ext(p), raw)
	}
	f.Fuzz(func(t *testing.T, ext string, raw []byte) {
		data, err := jobJSON("job"+ext, raw, "")
		if err != nil {
			return
		}
		_, err = events.DecodeJob(data)
		assert.NoError(t, err, "jobJSON returned a job DecodeJob refuses")
	})
}
