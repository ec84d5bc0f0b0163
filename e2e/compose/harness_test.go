package compose_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// repoRoot is the project folder, two levels above this package.
var repoRoot = filepath.Join("..", "..")

// project is one docker compose project of docker-compose.yml, driven
// through deploy/compose.sh as a user would, with its own name, image tag
// and ephemeral loopback host ports so it never clashes with another run.
type project struct {
	t     *testing.T
	name  string
	root  string
	env   []string
	start time.Time
	last  time.Time
}

// needDocker skips the test unless a Docker engine answers and a compose
// (the plugin or docker-compose) is installed.
func needDocker(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("compose cluster test skipped in -short mode")
	}
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("docker is not installed: the compose cluster test needs a Docker engine")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput(); err != nil {
		t.Skipf("no Docker engine answers (docker info: %v: %s): the compose cluster test needs one", err, bytes.TrimSpace(out))
	}
	if exec.CommandContext(ctx, "docker", "compose", "version").Run() != nil {
		if _, err := exec.LookPath("docker-compose"); err != nil {
			t.Skip("neither the docker compose plugin nor docker-compose is installed")
		}
	}
}

// newProject names a project and its image after the test run; nothing
// exists in Docker until build and up.
func newProject(t *testing.T, dataDir string) *project {
	root, err := filepath.Abs(repoRoot)
	require.NoError(t, err)
	id := fmt.Sprintf("%d%d", os.Getpid(), time.Now().UnixNano()%1e6)
	p := &project{t: t, name: "geoe2e" + id, root: root, start: time.Now()}
	p.last = p.start
	p.env = append(os.Environ(),
		"GEO_IMAGE=geocluster-e2e:"+id,
		"GEO_DATA_DIR="+dataDir,
		"COMPOSE_PROJECT_NAME="+p.name,
		// Empty host ports: Docker picks free ones on 127.0.0.1.
		"GEO_NATS_PORT=", "GEO_NATS_PORT_2=", "GEO_NATS_PORT_3=",
		"GEO_NATS_MONITOR_PORT=", "GEO_NATS_MONITOR_PORT_2=", "GEO_NATS_MONITOR_PORT_3=",
		"GEO_MONITOR_PORT=",
		// The workers' tasks come back quickly after a kill, and one
		// worker runs one tile at a time so the job outlasts scaling and
		// the kills, and more workers visibly share it.
		"GEO_TASK_ACK_WAIT=10s",
		"GEO_WORKER_TTL=6s",
		"GEO_WORKER_OP_LIMITS=tile_hillshade=1",
		"GEO_WORKER_DRAIN_TIMEOUT=5s",
		// A tile task whose object store request lost its reply when the
		// NATS node died waits for the task's timeout (the worker's store
		// calls run under the task's context, so the JetStream client's
		// 5s default does not apply): bound it so the retry comes soon.
		"GEO_WORKER_DEFAULT_TIMEOUT=20s",
		"GEO_LOG_LEVEL=info",
	)
	return p
}

func (p *project) image() string {
	for _, kv := range p.env {
		if v, ok := strings.CutPrefix(kv, "GEO_IMAGE="); ok {
			return v
		}
	}
	return ""
}

// phase logs the time since the previous phase and since the start.
func (p *project) phase(name string) {
	now := time.Now()
	p.logPhase(name, now.Sub(p.last), now.Sub(p.start))
	p.last = now
}

// logPhase logs a phase's timing, and appends it to compose-phases.txt in
// GEO_ARTIFACTS_DIR when that is set, so that CI shows the timings of a
// passing run too (go test prints a passing test's log only with -v).
func (p *project) logPhase(name string, took, total time.Duration) {
	line := fmt.Sprintf("phase %-34s %6.1fs (total %6.1fs)", name, took.Seconds(), total.Seconds())
	p.t.Log(line)
	dir := os.Getenv("GEO_ARTIFACTS_DIR")
	if dir == "" {
		return
	}
	f, err := os.OpenFile(filepath.Join(dir, "compose-phases.txt"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		p.t.Logf("phase timings file: %v", err)
		return
	}
	defer f.Close()
	fmt.Fprintln(f, line)
}

// run runs a command in the project folder with the project's environment
// and returns its combined output.
func (p *project) run(ctx context.Context, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = p.root
	cmd.Env = p.env
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// compose runs deploy/compose.sh with args, bounded by timeout.
func (p *project) compose(timeout time.Duration, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return p.run(ctx, filepath.Join(p.root, "deploy", "compose.sh"), args...)
}

func (p *project) mustCompose(timeout time.Duration, args ...string) string {
	p.t.Helper()
	out, err := p.compose(timeout, args...)
	require.NoError(p.t, err)
	return out
}

// containers lists the container ids of service (every service if empty),
// running or not.
func (p *project) containers(service string) []string {
	p.t.Helper()
	args := []string{"ps", "-q"}
	if service != "" {
		args = append(args, service)
	}
	return strings.Fields(p.mustCompose(time.Minute, args...))
}

// docker runs the docker CLI, bounded by timeout.
func (p *project) docker(timeout time.Duration, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return p.run(ctx, "docker", args...)
}

// health reports the health status of every given container ("healthy",
// "starting", "unhealthy", or the state of one that is not running).
func (p *project) health(ids []string) map[string]string {
	out, err := p.docker(time.Minute, append([]string{"inspect", "-f",
		"{{.Name}} {{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}"}, ids...)...)
	if err != nil {
		return map[string]string{"docker inspect": err.Error()}
	}
	st := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			continue
		}
		if f[1] != "running" {
			st[f[0]] = f[1]
		} else {
			st[f[0]] = f[2]
		}
	}
	return st
}

// waitHealthy waits until every container of the project (or of the given
// ones) runs and passes its health check.
func (p *project) waitHealthy(timeout time.Duration, ids ...string) {
	p.t.Helper()
	var st map[string]string
	ok := assertEventually(timeout, 2*time.Second, func() bool {
		list := ids
		if len(list) == 0 {
			list = p.containers("")
		}
		st = p.health(list)
		for _, s := range st {
			if s != "healthy" {
				return false
			}
		}
		return len(st) > 0
	})
	require.True(p.t, ok, "containers not healthy within %s: %v", timeout, st)
}

// port returns the 127.0.0.1:PORT the service's container port is
// published on.
func (p *project) port(service string, container int) string {
	p.t.Helper()
	out := strings.TrimSpace(p.mustCompose(time.Minute, "port", service, fmt.Sprint(container)))
	require.True(p.t, strings.HasPrefix(out, "127.0.0.1:"), "%s:%d published on %q, want loopback", service, container, out)
	return out
}

// dumpLogs prints the last lines of every container's log.
func (p *project) dumpLogs() {
	out, err := p.compose(2*time.Minute, "logs", "--no-color", "--tail", "150")
	p.t.Logf("container logs (last 150 lines each):\n%s", out)
	if err != nil {
		p.t.Logf("compose logs: %v", err)
	}
	if st, err := p.compose(time.Minute, "ps"); err == nil {
		p.t.Logf("compose ps:\n%s", st)
	}
}

// down removes the containers, the network, the volumes and the image.
func (p *project) down() {
	start := time.Now()
	if out, err := p.compose(3*time.Minute, "down", "--volumes", "--remove-orphans", "--timeout", "5"); err != nil {
		p.t.Errorf("compose down: %v\n%s", err, out)
	}
	if out, err := p.docker(time.Minute, "image", "rm", "--force", p.image()); err != nil {
		p.t.Logf("remove image: %v\n%s", err, out)
	}
	out, _ := p.docker(time.Minute, "volume", "ls", "-q", "--filter", "label=com.docker.compose.project="+p.name)
	if strings.TrimSpace(out) != "" {
		p.t.Errorf("volumes left after down: %s", out)
	}
	p.logPhase("teardown (down -v, image rm)", time.Since(start), time.Since(p.start))
}

// assertEventually polls cond every tick until it holds or timeout passes.
func assertEventually(timeout, tick time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(tick)
	}
}

// syncBuffer is a bytes.Buffer safe for a command writing while the test
// reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
