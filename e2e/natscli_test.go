package e2e_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/geocluster/geocluster/libs/events"
)

// TestPlainNATSCLIDrivesAJob runs the commands of docs/protocol.md ("Using
// the plain nats CLI") with the real nats binary against a one-process
// cluster: the public contract works without any geocluster code on the
// client side.
func TestPlainNATSCLIDrivesAJob(t *testing.T) {
	t.Parallel()
	bin := natsBinary(t)
	cl := start(t, 2, nil, nil)
	c := &natsCLI{t: t, bin: bin, url: cl.URL(), env: cliEnv(t)}
	if out, _, err := c.run("--version"); err == nil {
		t.Logf("nats CLI %s", strings.TrimSpace(out))
	}

	t.Run("the API is discoverable", func(t *testing.T) {
		c := c.with(t)
		require.Eventually(t, func() bool {
			out, _, err := c.run("micro", "ls")
			return err == nil && strings.Contains(out, events.APIServiceName)
		}, 10*time.Second, 50*time.Millisecond, "nats micro ls never listed %s", events.APIServiceName)
		out, _ := c.ok("micro", "info", events.APIServiceName)
		for _, verb := range []string{"submit", "get", "list", "cancel"} {
			assert.Contains(t, out, "geo.api.*.jobs."+verb)
		}
	})

	t.Run("workers are listed", func(t *testing.T) {
		c := c.with(t)
		want := cl.Workers()
		slices.Sort(want)
		var ids []string
		require.Eventually(t, func() bool {
			out, _, err := c.run("kv", "ls", events.BucketWorkers)
			ids = strings.Fields(out)
			slices.Sort(ids)
			return err == nil && slices.Equal(ids, want)
		}, 10*time.Second, 50*time.Millisecond, "nats kv ls %s: %v, want %v", events.BucketWorkers, ids, want)
		out, _ := c.ok("kv", "get", events.BucketWorkers, want[0], "--raw")
		var info events.WorkerInfo
		require.NoError(t, json.Unmarshal([]byte(out), &info), out)
		assert.Equal(t, want[0], info.ID)
		assert.Equal(t, events.WorkerRegistered, info.State)
		assert.Contains(t, info.Ops, events.OpSleep)
	})

	t.Run("a published diamond runs and is followed", func(t *testing.T) {
		c := c.with(t)
		const id = "diamond"
		jobEvents := c.background("sub", "geo.events.default.job."+id+".*", "--count", "2", "--raw")
		allEvents := c.background("sub", "geo.events.default.*."+id+".*")
		waitSubscribed(t, cl.Server.Server, "geo.events.default.job."+id+".*", "geo.events.default.*."+id+".*")

		job := `{"id":"` + id + `","tasks":[{"id":"prepare","op":"noop"},{"id":"tile-a","op":"sleep","params":{"duration_ms":100},"deps":["prepare"]},{"id":"tile-b","op":"noop","deps":["prepare"]},{"id":"merge","op":"noop","deps":["tile-a","tile-b"]}]}`
		c.ok("pub", "geo.jobs.submit.default", job, "-H", "Nats-Msg-Id:default."+id)
		_, stderr := c.ok("pub", "-J", "geo.jobs.submit.default", job, "-H", "Nats-Msg-Id:default."+id)
		assert.Contains(t, stderr, "Duplicate: true", "a repeat with the same Nats-Msg-Id is dropped by JOBS")

		rec := c.waitJob(id, events.JobSucceeded)
		assert.Equal(t, 4, rec.Total)
		assert.Equal(t, 4, rec.Counts.Succeeded)

		lines := jobEvents.wait(10 * time.Second)
		var states []events.JobState
		for _, l := range lines {
			var ev events.JobEvent
			require.NoError(t, json.Unmarshal([]byte(l), &ev), l)
			assert.Equal(t, id, ev.JobID)
			states = append(states, ev.State)
		}
		assert.Equal(t, []events.JobState{events.JobAccepted, events.JobSucceeded}, states)
		allEvents.waitFor(`Received on "geo.events.default.job.` + id + `.succeeded"`)
		allEvents.stop()

		// The EVENTS stream replays the job's whole history.
		out, _ := c.ok("sub", "geo.events.default.*."+id+".*", "--all", "-T", "--raw")
		succeeded := map[string]bool{}
		for _, l := range nonEmptyLines(out) {
			var ev events.TaskEvent
			require.NoError(t, json.Unmarshal([]byte(l), &ev), l)
			if ev.TaskID != "" && ev.State == events.TaskSucceeded {
				succeeded[ev.TaskID] = true
			}
		}
		assert.Len(t, succeeded, 4, "succeeded task events in the replay")

		out, _ = c.ok("kv", "get", events.BucketTasks, "default."+id+".merge", "--raw")
		var task events.TaskRecord
		require.NoError(t, json.Unmarshal([]byte(out), &task), out)
		assert.Equal(t, events.TaskSucceeded, task.State)
		assert.Equal(t, 1, task.Attempt)

		out, _ = c.ok("req", "geo.api.default.jobs.get", `{"job_id":"`+id+`","tasks":true}`, "--raw")
		var got events.GetReply
		require.NoError(t, json.Unmarshal([]byte(out), &got), out)
		assert.Equal(t, events.JobSucceeded, got.Job.State)
		assert.Len(t, got.Tasks, 4)

		out, _ = c.ok("req", "geo.api.default.jobs.list", `{"limit":10}`, "--raw")
		var list events.ListReply
		require.NoError(t, json.Unmarshal([]byte(out), &list), out)
		assert.True(t, slices.ContainsFunc(list.Jobs, func(r events.JobRecord) bool { return r.ID == id }), out)

		out, stderr = c.ok("req", "geo.api.default.jobs.cancel", `{"job_id":"`+id+`"}`)
		assert.Equal(t, 409, apiError(t, out).Code)
		assert.Contains(t, stderr, "Nats-Service-Error-Code: 409")
	})

	t.Run("the API rejects an unknown op naming the field", func(t *testing.T) {
		c := c.with(t)
		out, stderr := c.ok("req", "geo.api.default.jobs.submit", `{"tasks":[{"id":"a","op":"nope"}]}`)
		e := apiError(t, out)
		assert.Equal(t, 400, e.Code)
		assert.Equal(t, "tasks[0].op", e.Field)
		assert.Contains(t, e.Error, `tasks[0].op: unknown op "nope"`)
		assert.Contains(t, stderr, "Nats-Service-Error-Code: 400")
		assert.Contains(t, stderr, `Nats-Service-Error: tasks[0].op: unknown op "nope"`)
	})

	t.Run("a published bad job is rejected naming the field", func(t *testing.T) {
		c := c.with(t)
		const id = "bad"
		_, stderr := c.ok("pub", "-J", "geo.jobs.submit.default", `{"id":"`+id+`","tasks":[{"id":"a","op":"noop","deps":["zz"]}]}`, "-H", "Nats-Msg-Id:default."+id)
		m := regexp.MustCompile(`Stored in Stream: JOBS Sequence: (\d+)`).FindStringSubmatch(stderr)
		require.NotNil(t, m, stderr)
		seq, err := strconv.ParseUint(m[1], 10, 64)
		require.NoError(t, err)
		// The job's first event is its verdict; --all --count 1 waits for it.
		out, _ := c.ok("sub", "geo.events.default.job."+id+".*", "--all", "--count", "1", "--raw")
		lines := nonEmptyLines(out)
		require.Len(t, lines, 1, out)
		var ev events.JobEvent
		require.NoError(t, json.Unmarshal([]byte(lines[0]), &ev), lines[0])
		assert.Equal(t, events.JobRejected, ev.State)
		assert.Equal(t, "tasks[0].deps[0]", ev.Field)
		assert.Contains(t, ev.Error, `unknown task "zz"`)
		assert.Equal(t, seq, ev.SubmitSeq)
	})

	t.Run("a long job is cancelled", func(t *testing.T) {
		c := c.with(t)
		const id = "long"
		out, _ := c.ok("req", "geo.api.default.jobs.submit", `{"id":"`+id+`","tasks":[{"id":"s","op":"sleep","params":{"duration_ms":60000}}]}`)
		var reply events.SubmitReply
		require.NoError(t, json.Unmarshal([]byte(out), &reply), out)
		require.Equal(t, id, reply.JobID)

		watch := c.background("kv", "watch", events.BucketJobs, "default."+id)
		watch.waitFor(`"running":1,`) // a worker started the sleep
		c.ok("pub", "geo.jobs.cancel.default", `{"job_id":"`+id+`"}`)
		watch.waitFor(`"state":"cancelled"`)
		watch.stop()

		out, _ = c.ok("kv", "get", events.BucketJobs, "default."+id, "--raw")
		var rec events.JobRecord
		require.NoError(t, json.Unmarshal([]byte(out), &rec), out)
		assert.Equal(t, events.JobCancelled, rec.State)
		assert.Equal(t, 1, rec.Counts.Cancelled)
		out, _ = c.ok("kv", "get", events.BucketTasks, "default."+id+".s", "--raw")
		var task events.TaskRecord
		require.NoError(t, json.Unmarshal([]byte(out), &task), out)
		assert.Equal(t, events.TaskCancelled, task.State)

		// The worker stopped the running sleep and said so.
		require.Eventually(t, func() bool {
			out, _, err := c.run("sub", "geo.events.default.*."+id+".*", "--all", "-T", "--raw")
			return err == nil && strings.Contains(out, `"task_id":"s","op":"sleep","state":"cancelled"`)
		}, 10*time.Second, 50*time.Millisecond, "no cancelled task event from the worker")
	})

	t.Run("dead letters are readable", func(t *testing.T) {
		c := c.with(t)
		const id = "doomed"
		c.ok("pub", "geo.jobs.submit.default", `{"id":"`+id+`","tasks":[{"id":"f","op":"fail","params":{"message":"boom"},"max_attempts":1}]}`, "-H", "Nats-Msg-Id:default."+id)
		rec := c.waitJob(id, events.JobFailed)
		assert.Contains(t, rec.Error, "task f dead-lettered after 1 attempts: boom")

		// The dead letter is stored in the same flush as the job record; wait
		// for it before replaying (-T waits when there is nothing to replay).
		var last string
		require.Eventually(t, func() bool {
			out, _, err := c.run("stream", "get", events.StreamDLQ, "--last-for", "geo.dlq.default.normal")
			last = out
			return err == nil
		}, 10*time.Second, 50*time.Millisecond, "no dead letter on geo.dlq.default.normal")
		assert.Contains(t, last, "Nats-Msg-Id: "+events.ReleaseMsgID(events.DefaultTenant, id, "f", 1))
		assert.Contains(t, last, `"last_error":"boom"`)

		out, _ := c.ok("sub", "geo.dlq.default.>", "--all", "-T", "--raw")
		lines := nonEmptyLines(out)
		require.Len(t, lines, 1, out)
		var dl events.DeadLetter
		require.NoError(t, json.Unmarshal([]byte(lines[0]), &dl), lines[0])
		assert.Equal(t, id, dl.Task.JobID)
		assert.Equal(t, "f", dl.Task.TaskID)
		assert.Equal(t, "boom", dl.LastError)
		assert.Equal(t, 1, dl.Attempts)
	})

	t.Run("an uploaded input is checksummed", func(t *testing.T) {
		c := c.with(t)
		const id, object = "sum", "scenes/33TUM/B04.tif"
		data := bytes.Repeat([]byte("geocluster tile "), 20000) // 320000 bytes, 3 chunks
		file := filepath.Join(t.TempDir(), "B04.tif")
		require.NoError(t, os.WriteFile(file, data, 0o600))
		c.ok("object", "put", events.ObjectTiles, file, "--name", object, "--no-progress", "-f")
		out, _ := c.ok("object", "ls", events.ObjectTiles)
		assert.Contains(t, out, object)

		c.ok("pub", "geo.jobs.submit.default", `{"id":"`+id+`","tasks":[{"id":"sum","op":"checksum","params":{"object":"`+object+`"},"inputs":["`+object+`"]}]}`, "-H", "Nats-Msg-Id:default."+id)
		c.waitJob(id, events.JobSucceeded)
		out, _ = c.ok("kv", "get", events.BucketTasks, "default."+id+".sum", "--raw")
		var task events.TaskRecord
		require.NoError(t, json.Unmarshal([]byte(out), &task), out)
		var res events.ChecksumResult
		require.NoError(t, json.Unmarshal(task.Result, &res), out)
		sum := sha256.Sum256(data)
		assert.Equal(t, events.ChecksumResult{Object: object, Size: uint64(len(data)), SHA256: hex.EncodeToString(sum[:])}, res)
	})

	t.Run("a pool's backlog is visible", func(t *testing.T) {
		c := c.with(t)
		out, _ := c.ok("consumer", "info", events.TaskStream(events.PriorityNormal), events.PoolConsumer(events.DefaultPool))
		assert.Contains(t, out, events.PoolConsumer(events.DefaultPool))
		assert.Contains(t, out, "geo.tasks.normal.default")
	})
}

// natsBinary finds the nats CLI, or skips the test; with
// GEO_REQUIRE_NATS_CLI=1 (as in CI) a missing CLI fails it instead.
func natsBinary(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("nats")
	if err == nil {
		return bin
	}
	const how = "install it with `go install github.com/nats-io/natscli/nats@v0.5.1` and put $(go env GOPATH)/bin on PATH"
	if os.Getenv("GEO_REQUIRE_NATS_CLI") == "1" {
		t.Fatalf("GEO_REQUIRE_NATS_CLI=1 but the nats CLI is not on PATH: %s", how)
	}
	t.Skipf("the nats CLI is not on PATH (%s; set GEO_REQUIRE_NATS_CLI=1 to fail instead)", how)
	return ""
}

// cliEnv is the environment of every nats command: no NATS_* variables and
// an empty config home, so a user's saved contexts cannot redirect or
// authenticate it; only --server counts.
func cliEnv(t *testing.T) []string {
	home := t.TempDir()
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "NATS_") && !strings.HasPrefix(kv, "HOME=") && !strings.HasPrefix(kv, "XDG_CONFIG_HOME=") {
			env = append(env, kv)
		}
	}
	return append(env, "HOME="+home, "XDG_CONFIG_HOME="+home)
}

// natsCLI runs the nats binary against one server.
type natsCLI struct {
	t   *testing.T
	bin string
	url string
	env []string
}

const cliTimeout = 10 * time.Second

func (c *natsCLI) with(t *testing.T) *natsCLI {
	cc := *c
	cc.t = t
	return &cc
}

func (c *natsCLI) command(ctx context.Context, args []string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, c.bin, append(args, "--server", c.url)...)
	cmd.Env = c.env
	cmd.WaitDelay = time.Second
	return cmd
}

// run runs one nats command to its end and returns its stdout and stderr.
func (c *natsCLI) run(args ...string) (stdout, stderr string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), cliTimeout)
	defer cancel()
	cmd := c.command(ctx, args)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.String(), errOut.String(), err
}

// ok runs a nats command that must succeed.
func (c *natsCLI) ok(args ...string) (stdout, stderr string) {
	c.t.Helper()
	stdout, stderr, err := c.run(args...)
	require.NoError(c.t, err, "nats %s\nstdout: %s\nstderr: %s", strings.Join(args, " "), stdout, stderr)
	return stdout, stderr
}

// waitJob polls `nats kv get geo_jobs default.<id> --raw` until the job is
// in a terminal state, which must be want.
func (c *natsCLI) waitJob(id string, want events.JobState) events.JobRecord {
	c.t.Helper()
	var rec events.JobRecord
	require.Eventually(c.t, func() bool {
		out, _, err := c.run("kv", "get", events.BucketJobs, events.JobKey(events.DefaultTenant, id), "--raw")
		return err == nil && json.Unmarshal([]byte(out), &rec) == nil && rec.State.Terminal()
	}, 15*time.Second, 50*time.Millisecond, "job %s did not finish; last record %+v", id, rec)
	require.Equal(c.t, want, rec.State, rec.Error)
	return rec
}

// bgCommand is a nats command running in the background; its stdout is
// collected line by line as it comes.
type bgCommand struct {
	t      *testing.T
	args   []string
	cmd    *exec.Cmd
	cancel context.CancelFunc
	stderr bytes.Buffer // read only after the command ended
	eof    chan struct{}
	once   sync.Once

	mu    sync.Mutex
	lines []string
}

// background starts a nats command that runs until it ends by itself
// (wait) or is stopped (stop); the test's cleanup stops it in any case.
func (c *natsCLI) background(args ...string) *bgCommand {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	b := &bgCommand{t: c.t, args: args, cmd: c.command(ctx, args), cancel: cancel, eof: make(chan struct{})}
	b.cmd.Stderr = &b.stderr
	stdout, err := b.cmd.StdoutPipe()
	require.NoError(c.t, err)
	require.NoError(c.t, b.cmd.Start(), "start nats %s", strings.Join(args, " "))
	go func() { // owned by b: wait and stop return only after eof
		defer close(b.eof)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			b.mu.Lock()
			b.lines = append(b.lines, sc.Text())
			b.mu.Unlock()
		}
	}()
	c.t.Cleanup(b.stop)
	return b
}

func (b *bgCommand) output() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.lines)
}

// waitFor waits until a line of stdout contains s.
func (b *bgCommand) waitFor(s string) {
	b.t.Helper()
	require.Eventually(b.t, func() bool {
		return slices.ContainsFunc(b.output(), func(l string) bool { return strings.Contains(l, s) })
	}, 15*time.Second, 20*time.Millisecond, "nats %s never printed %q; stdout:\n%s",
		strings.Join(b.args, " "), s, strings.Join(b.output(), "\n"))
}

// wait waits for the command to end by itself and returns its non-empty
// stdout lines.
func (b *bgCommand) wait(within time.Duration) []string {
	b.t.Helper()
	select {
	case <-b.eof:
	case <-time.After(within):
		b.stop()
		b.t.Fatalf("nats %s did not end within %s; stdout:\n%s", strings.Join(b.args, " "), within, strings.Join(b.output(), "\n"))
	}
	var err error
	b.once.Do(func() { err = b.cmd.Wait(); b.cancel() })
	require.NoError(b.t, err, "nats %s: %s", strings.Join(b.args, " "), b.stderr.String())
	return nonEmptyLines(strings.Join(b.output(), "\n"))
}

// stop kills the command if it still runs and waits for it.
func (b *bgCommand) stop() {
	b.once.Do(func() {
		b.cancel()
		<-b.eof
		var ee *exec.ExitError
		if err := b.cmd.Wait(); err != nil && !errors.As(err, &ee) && !errors.Is(err, context.Canceled) {
			b.t.Logf("nats %s: %v", strings.Join(b.args, " "), err)
		}
	})
}

// waitSubscribed waits until some client of srv subscribes to each of the
// subjects: a core subscription sees only what is published after it.
func waitSubscribed(t *testing.T, srv *server.Server, subjects ...string) {
	t.Helper()
	require.Eventually(t, func() bool {
		cz, err := srv.Connz(&server.ConnzOptions{Subscriptions: true, Limit: 1024})
		if err != nil {
			return false
		}
		var subs []string
		for _, ci := range cz.Conns {
			subs = append(subs, ci.Subs...)
		}
		for _, s := range subjects {
			if !slices.Contains(subs, s) {
				return false
			}
		}
		return true
	}, 10*time.Second, 10*time.Millisecond, "no subscription to %v", subjects)
}

func apiError(t *testing.T, stdout string) events.APIError {
	t.Helper()
	lines := nonEmptyLines(stdout)
	require.NotEmpty(t, lines, "empty reply")
	var e events.APIError
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &e), stdout)
	return e
}

func nonEmptyLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}
