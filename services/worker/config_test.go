package worker_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/geocluster/geocluster/libs/events"
	"github.com/geocluster/geocluster/services/worker"
)

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestDefaultConfigIsValid(t *testing.T) {
	t.Parallel()
	c := worker.DefaultConfig()
	require.NoError(t, c.Validate())
	assert.True(t, strings.HasPrefix(c.ID, "w-"))
	assert.NotEqual(t, c.ID, worker.DefaultConfig().ID, "each worker gets its own id")
	assert.Equal(t, events.DefaultPool, c.Pool)
	assert.Equal(t, map[events.Priority]int{"critical": 8, "high": 4, "normal": 2, "low": 1}, c.Weights)
	assert.Equal(t, worker.BreakerConfig{
		Enabled: true, Window: time.Minute, MinRequests: 10, FailureRatio: 0.5,
		Cooldown: 10 * time.Second, MaxCooldown: 5 * time.Minute, Probes: 1, RefuseDelay: 2 * time.Second,
	}, c.Breaker, "the documented thresholds")
}

func TestLoadConfigReadsEnvironment(t *testing.T) {
	t.Parallel()
	c, err := worker.LoadConfig(env(map[string]string{
		worker.EnvID:             "w-gpu-1",
		worker.EnvPool:           "gpu",
		worker.EnvCapacity:       "4",
		worker.EnvLabels:         "zone=eu-1, disk=ssd",
		worker.EnvOpLimits:       "sleep=1,checksum=2",
		worker.EnvHeartbeat:      "2s",
		worker.EnvDefaultTimeout: "1m",
		worker.EnvIdlePoll:       "250ms",
		worker.EnvMaxBatch:       "16",
		worker.EnvWeights:        "low=3",
		worker.EnvDrainTimeout:   "5s",
		worker.EnvPublishTimeout: "3s",

		worker.EnvBreakerWindow:       "30s",
		worker.EnvBreakerMinRequests:  "4",
		worker.EnvBreakerFailureRatio: "0.75",
		worker.EnvBreakerCooldown:     "1s",
		worker.EnvBreakerMaxCooldown:  "1m",
		worker.EnvBreakerProbes:       "2",
		worker.EnvBreakerRefuseDelay:  "500ms",
	}))
	require.NoError(t, err)
	assert.Equal(t, "w-gpu-1", c.ID)
	assert.Equal(t, "gpu", c.Pool)
	assert.Equal(t, 4, c.Capacity)
	assert.Equal(t, map[string]string{"zone": "eu-1", "disk": "ssd"}, c.Labels)
	assert.Equal(t, map[string]int{"sleep": 1, "checksum": 2}, c.OpLimits)
	assert.Equal(t, 2*time.Second, c.HeartbeatInterval)
	assert.Equal(t, time.Minute, c.DefaultTimeout)
	assert.Equal(t, 250*time.Millisecond, c.IdlePoll)
	assert.Equal(t, 16, c.MaxBatch)
	assert.Equal(t, map[events.Priority]int{"critical": 8, "high": 4, "normal": 2, "low": 3}, c.Weights)
	assert.Equal(t, 5*time.Second, c.DrainTimeout)
	assert.Equal(t, 3*time.Second, c.PublishTimeout)
	assert.Equal(t, worker.BreakerConfig{
		Enabled: true, Window: 30 * time.Second, MinRequests: 4, FailureRatio: 0.75,
		Cooldown: time.Second, MaxCooldown: time.Minute, Probes: 2, RefuseDelay: 500 * time.Millisecond,
	}, c.Breaker)

	c, err = worker.LoadConfig(env(map[string]string{worker.EnvBreakerEnabled: "false", worker.EnvBreakerProbes: "0"}))
	require.NoError(t, err, "the thresholds of breakers turned off are not checked")
	assert.False(t, c.Breaker.Enabled)
}

func TestLoadConfigReportsEveryProblem(t *testing.T) {
	t.Parallel()
	_, err := worker.LoadConfig(env(map[string]string{
		worker.EnvPool:      "a.b",
		worker.EnvCapacity:  "many",
		worker.EnvLabels:    "zone",
		worker.EnvOpLimits:  "sleep=x,fail=0",
		worker.EnvHeartbeat: "1h",
		worker.EnvIdlePoll:  "soon",
		worker.EnvWeights:   "urgent=9",

		worker.EnvBreakerEnabled:      "maybe",
		worker.EnvBreakerFailureRatio: "half",
		worker.EnvBreakerCooldown:     "1m",
		worker.EnvBreakerMaxCooldown:  "1s",
	}))
	require.Error(t, err)
	for _, want := range []string{
		`pool: "a.b"`, worker.EnvCapacity, `"zone" is not key=value`, `sleep: "x" is not an integer`,
		"op_limits: fail: at least 1", "heartbeat: must be above 0 and below", worker.EnvIdlePoll,
		`unknown priority "urgent"`, worker.EnvBreakerEnabled, worker.EnvBreakerFailureRatio,
		"breaker: max_cooldown: must be at least the cooldown 1m0s",
	} {
		assert.Contains(t, err.Error(), want)
	}
}

func TestValidateRejectsBadValues(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		change func(*worker.Config)
		want   string
	}{
		{"id", func(c *worker.Config) { c.ID = "w 1" }, "id:"},
		{"capacity", func(c *worker.Config) { c.Capacity = 0 }, "capacity"},
		{"weights", func(c *worker.Config) { delete(c.Weights, events.PriorityLow) }, "weights: low"},
		{"max batch", func(c *worker.Config) { c.MaxBatch = 0 }, "max_batch"},
		{"timeout", func(c *worker.Config) { c.DefaultTimeout = 0 }, "default_timeout"},
		{"drain", func(c *worker.Config) { c.DrainTimeout = -time.Second }, "drain_timeout"},
		{"topology", func(c *worker.Config) { c.Topology.TaskAckWait = 0 }, "task_ack_wait"},
		{"heartbeat", func(c *worker.Config) { c.HeartbeatInterval = c.Topology.WorkerTTL }, "heartbeat"},
		{"labels", func(c *worker.Config) { c.Labels = map[string]string{"": "x"} }, "labels"},
		{"breaker", func(c *worker.Config) { c.Breaker.FailureRatio = 0 }, "breaker: failure_ratio"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := worker.DefaultConfig()
			tc.change(&c)
			err := c.Validate()
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func FuzzLoadConfigLists(f *testing.F) {
	for _, s := range []string{"", "a=1", "zone=eu-1,disk=ssd", "a=1,a=2", ",,=,", "x==y", "k=v=w"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := worker.LoadConfig(env(map[string]string{worker.EnvLabels: s, worker.EnvOpLimits: s}))
		if err != nil {
			return
		}
		require.NoError(t, c.Validate())
		for k := range c.Labels {
			assert.NotEmpty(t, k)
		}
		for op, n := range c.OpLimits {
			assert.NotEmpty(t, op)
			assert.Positive(t, n)
		}
	})
}
