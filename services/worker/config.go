package worker

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/geocluster/geocluster/libs/events"
)

// Config of a worker. The zero value is not usable: start from DefaultConfig.
type Config struct {
	// ID names the worker in geo_workers, in events and in logs; a valid
	// subject token ("w-" + a new ULID).
	ID string
	// Pool is the worker pool whose tasks this worker runs (events.DefaultPool).
	Pool string
	// Capacity is how many tasks the worker holds at once, running or waiting
	// for their op's limit (32).
	Capacity int
	// OpLimits caps how many tasks of one op run at once on this worker, for
	// example {"hillshade": 2}; ops not named are bounded by Capacity only
	// (none).
	OpLimits map[string]int
	// Labels are advertised in the registration, e.g. {"zone": "eu-1"} (none).
	Labels map[string]string
	// Topology is provisioned at start (EnsureTopology and EnsurePool for
	// Pool); its TaskAckWait paces progress reports and its WorkerTTL the
	// heartbeat (events.DefaultTopology()).
	Topology events.Topology
	// HeartbeatInterval is how often the registration is refreshed; 0 means
	// Topology.WorkerTTL/3 (0).
	HeartbeatInterval time.Duration
	// DefaultTimeout bounds a task that carries no timeout_ms (10m).
	DefaultTimeout time.Duration
	// IdlePoll is how often an idle worker fetches even without a signal
	// from the scheduler (1s).
	IdlePoll time.Duration
	// MaxBatch is the most tasks one fetch asks for (64).
	MaxBatch int
	// Weights are the credits of each priority per round (critical 8,
	// high 4, normal 2, low 1); see the package doc.
	Weights map[events.Priority]int
	// DrainTimeout is how long a stopping worker waits for its running tasks
	// before it hands them back for redelivery; 0 hands them back at once
	// (30s).
	DrainTimeout time.Duration
	// PublishTimeout bounds the wait for the stream's acknowledgement of a
	// result event and of a registration change (10s).
	PublishTimeout time.Duration
	// DataDirs are the directories (shared by every worker, e.g. a network
	// file system) whose GeoTIFFs tile tasks may read by path; a task naming
	// a path elsewhere fails permanently (none: no path inputs).
	DataDirs []string
	// OutputDirs are the directories (shared by every worker) into which
	// an assemble task may write a job's output by path instead of to the
	// object store; a task naming a path elsewhere fails permanently
	// (none: no path outputs).
	OutputDirs []string
	// NearCacheBytes bounds the worker's near-cache of tiles, whose
	// contents it announces for data locality; 0 turns it off (tiles are
	// then read through the cache nodes or the object store every time)
	// (256 MiB).
	NearCacheBytes int64
	// Breaker configures the circuit breaker of each op: an op that keeps
	// failing on this worker trips it, and the worker hands that op's tasks
	// back until a probe succeeds (DefaultBreakerConfig(): enabled, 10
	// outcomes in 1m with half of them failed, 10s cooldown doubling up to
	// 5m, 1 probe, refused tasks handed back with at most 2s delay).
	Breaker BreakerConfig
}

// Defaults.
const (
	DefaultCapacity       = 32
	DefaultTimeout        = 10 * time.Minute
	DefaultIdlePoll       = time.Second
	DefaultMaxBatch       = 64
	DefaultDrainTimeout   = 30 * time.Second
	DefaultPublishTimeout = 10 * time.Second
	DefaultNearCacheBytes = 256 << 20
)

// DefaultWeights returns the default credits per priority.
func DefaultWeights() map[events.Priority]int {
	return map[events.Priority]int{
		events.PriorityCritical: 8,
		events.PriorityHigh:     4,
		events.PriorityNormal:   2,
		events.PriorityLow:      1,
	}
}

// DefaultConfig returns the defaults, with a fresh worker id.
func DefaultConfig() Config {
	return Config{
		ID:             "w-" + events.NewID(),
		Pool:           events.DefaultPool,
		Capacity:       DefaultCapacity,
		Topology:       events.DefaultTopology(),
		DefaultTimeout: DefaultTimeout,
		IdlePoll:       DefaultIdlePoll,
		MaxBatch:       DefaultMaxBatch,
		Weights:        DefaultWeights(),
		DrainTimeout:   DefaultDrainTimeout,
		PublishTimeout: DefaultPublishTimeout,
		NearCacheBytes: DefaultNearCacheBytes,
		Breaker:        DefaultBreakerConfig(),
	}
}

// heartbeat is the effective heartbeat interval.
func (c Config) heartbeat() time.Duration {
	if c.HeartbeatInterval > 0 {
		return c.HeartbeatInterval
	}
	return c.Topology.WorkerTTL / 3
}

// Validate returns every problem of c at once.
func (c Config) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if !events.ValidToken(c.ID) {
		add("id: %q is not a valid token (1 to %d letters, digits, '-', '_')", c.ID, events.MaxTokenLen)
	}
	if !events.ValidToken(c.Pool) {
		add("pool: %q is not a valid pool name", c.Pool)
	}
	if c.Capacity < 1 {
		add("capacity: at least 1, got %d", c.Capacity)
	}
	for _, op := range sortedKeys(c.OpLimits) {
		if op == "" {
			add("op_limits: empty op name")
		}
		if n := c.OpLimits[op]; n < 1 {
			add("op_limits: %s: at least 1, got %d", op, n)
		}
	}
	if c.NearCacheBytes < 0 {
		add("near_cache_bytes: must not be negative, got %d", c.NearCacheBytes)
	}
	for _, d := range c.DataDirs {
		if !filepath.IsAbs(d) {
			add("data_dirs: %q is not an absolute path", d)
		}
	}
	for _, d := range c.OutputDirs {
		if !filepath.IsAbs(d) {
			add("output_dirs: %q is not an absolute path", d)
		}
	}
	for _, k := range sortedKeys(c.Labels) {
		if k == "" || len(k) > 128 {
			add("labels: keys must be 1 to 128 characters, got %q", k)
		}
	}
	if err := c.Topology.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("topology: %w", err))
	}
	switch hb := c.heartbeat(); {
	case c.HeartbeatInterval < 0:
		add("heartbeat: must not be negative, got %s", c.HeartbeatInterval)
	case hb <= 0 || hb >= c.Topology.WorkerTTL:
		add("heartbeat: must be above 0 and below the worker TTL %s, got %s", c.Topology.WorkerTTL, hb)
	}
	if c.DefaultTimeout <= 0 {
		add("default_timeout: must be positive, got %s", c.DefaultTimeout)
	}
	if c.IdlePoll <= 0 {
		add("idle_poll: must be positive, got %s", c.IdlePoll)
	}
	if c.MaxBatch < 1 {
		add("max_batch: at least 1, got %d", c.MaxBatch)
	}
	for _, p := range events.Priorities {
		if w, ok := c.Weights[p]; !ok || w < 1 {
			add("weights: %s: at least 1, got %d", p, w)
		}
	}
	for _, p := range sortedKeys(c.Weights) {
		if !p.Valid() {
			add("weights: unknown priority %q", p)
		}
	}
	if c.DrainTimeout < 0 {
		add("drain_timeout: must not be negative, got %s", c.DrainTimeout)
	}
	if c.PublishTimeout <= 0 {
		add("publish_timeout: must be positive, got %s", c.PublishTimeout)
	}
	if err := c.Breaker.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Environment variables read by LoadConfig.
const (
	EnvID             = "GEO_WORKER_ID"               // worker id
	EnvPool           = "GEO_WORKER_POOL"             // pool name
	EnvCapacity       = "GEO_WORKER_CAPACITY"         // integer
	EnvLabels         = "GEO_WORKER_LABELS"           // zone=eu-1,disk=ssd
	EnvOpLimits       = "GEO_WORKER_OP_LIMITS"        // hillshade=2,checksum=8
	EnvHeartbeat      = "GEO_WORKER_HEARTBEAT"        // Go duration, e.g. 5s
	EnvDefaultTimeout = "GEO_WORKER_DEFAULT_TIMEOUT"  // Go duration
	EnvIdlePoll       = "GEO_WORKER_IDLE_POLL"        // Go duration
	EnvMaxBatch       = "GEO_WORKER_MAX_BATCH"        // integer
	EnvWeights        = "GEO_WORKER_WEIGHTS"          // critical=8,high=4,normal=2,low=1 (partial allowed)
	EnvDrainTimeout   = "GEO_WORKER_DRAIN_TIMEOUT"    // Go duration
	EnvPublishTimeout = "GEO_WORKER_PUBLISH_TIMEOUT"  // Go duration
	EnvDataDirs       = "GEO_WORKER_DATA_DIRS"        // /data,/mnt/rasters
	EnvOutputDirs     = "GEO_WORKER_OUTPUT_DIRS"      // /data/out
	EnvNearCacheBytes = "GEO_WORKER_NEAR_CACHE_BYTES" // integer, 0 = off

	EnvBreakerEnabled      = "GEO_WORKER_BREAKER_ENABLED"       // true|false: false turns the circuit breakers off
	EnvBreakerWindow       = "GEO_WORKER_BREAKER_WINDOW"        // Go duration
	EnvBreakerMinRequests  = "GEO_WORKER_BREAKER_MIN_REQUESTS"  // integer
	EnvBreakerFailureRatio = "GEO_WORKER_BREAKER_FAILURE_RATIO" // number in (0, 1]
	EnvBreakerCooldown     = "GEO_WORKER_BREAKER_COOLDOWN"      // Go duration
	EnvBreakerMaxCooldown  = "GEO_WORKER_BREAKER_MAX_COOLDOWN"  // Go duration
	EnvBreakerProbes       = "GEO_WORKER_BREAKER_PROBES"        // integer
	EnvBreakerRefuseDelay  = "GEO_WORKER_BREAKER_REFUSE_DELAY"  // Go duration
)

// LoadConfig returns DefaultConfig overridden by the GEO_WORKER_* variables
// that getenv returns non-empty, and validates it. Every problem is reported
// at once.
func LoadConfig(getenv func(string) string) (Config, error) {
	c := DefaultConfig()
	var errs []error
	topo, err := events.LoadTopology(getenv)
	if err != nil {
		errs = append(errs, err)
	}
	c.Topology = topo
	str := func(key string, dst *string) {
		if v := strings.TrimSpace(getenv(key)); v != "" {
			*dst = v
		}
	}
	integer := func(key string, dst *int) {
		if v := strings.TrimSpace(getenv(key)); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %q is not an integer", key, v))
				return
			}
			*dst = n
		}
	}
	duration := func(key string, dst *time.Duration) {
		if v := strings.TrimSpace(getenv(key)); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %q is not a duration (e.g. 5s)", key, v))
				return
			}
			*dst = d
		}
	}
	str(EnvID, &c.ID)
	str(EnvPool, &c.Pool)
	integer(EnvCapacity, &c.Capacity)
	integer(EnvMaxBatch, &c.MaxBatch)
	duration(EnvHeartbeat, &c.HeartbeatInterval)
	duration(EnvDefaultTimeout, &c.DefaultTimeout)
	duration(EnvIdlePoll, &c.IdlePoll)
	duration(EnvDrainTimeout, &c.DrainTimeout)
	duration(EnvPublishTimeout, &c.PublishTimeout)
	if v := strings.TrimSpace(getenv(EnvBreakerEnabled)); v != "" {
		if on, err := strconv.ParseBool(v); err != nil {
			errs = append(errs, fmt.Errorf("%s: %q is not true or false", EnvBreakerEnabled, v))
		} else {
			c.Breaker.Enabled = on
		}
	}
	duration(EnvBreakerWindow, &c.Breaker.Window)
	integer(EnvBreakerMinRequests, &c.Breaker.MinRequests)
	if v := strings.TrimSpace(getenv(EnvBreakerFailureRatio)); v != "" {
		r, err := strconv.ParseFloat(v, 64)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %q is not a number", EnvBreakerFailureRatio, v))
		} else {
			c.Breaker.FailureRatio = r
		}
	}
	duration(EnvBreakerCooldown, &c.Breaker.Cooldown)
	duration(EnvBreakerMaxCooldown, &c.Breaker.MaxCooldown)
	integer(EnvBreakerProbes, &c.Breaker.Probes)
	duration(EnvBreakerRefuseDelay, &c.Breaker.RefuseDelay)
	if v := strings.TrimSpace(getenv(EnvNearCacheBytes)); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %q is not an integer", EnvNearCacheBytes, v))
		}
		c.NearCacheBytes = n
	}
	for _, d := range strings.Split(getenv(EnvDataDirs), ",") {
		if d = strings.TrimSpace(d); d != "" {
			c.DataDirs = append(c.DataDirs, d)
		}
	}
	for _, d := range strings.Split(getenv(EnvOutputDirs), ",") {
		if d = strings.TrimSpace(d); d != "" {
			c.OutputDirs = append(c.OutputDirs, d)
		}
	}
	if v := getenv(EnvLabels); strings.TrimSpace(v) != "" {
		labels, err := parsePairs(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", EnvLabels, err))
		}
		c.Labels = labels
	}
	if v := getenv(EnvOpLimits); strings.TrimSpace(v) != "" {
		limits, err := parseCounts(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", EnvOpLimits, err))
		}
		c.OpLimits = limits
	}
	if v := getenv(EnvWeights); strings.TrimSpace(v) != "" {
		weights, err := parseCounts(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", EnvWeights, err))
		}
		for p, w := range weights {
			c.Weights[events.Priority(p)] = w
		}
	}
	// Values that did not parse kept their defaults: validating the rest
	// still finds every other problem.
	if err := c.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return Config{}, fmt.Errorf("worker config: %w", err)
	}
	return c, nil
}

// parsePairs parses "k=v,k=v". Blank items are ignored; every malformed item
// is reported.
func parsePairs(s string) (map[string]string, error) {
	out := map[string]string{}
	var errs []error
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		k, v, ok := strings.Cut(item, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch {
		case !ok || k == "":
			errs = append(errs, fmt.Errorf("%q is not key=value", item))
		default:
			if _, dup := out[k]; dup {
				errs = append(errs, fmt.Errorf("key %q given twice", k))
			}
			out[k] = v
		}
	}
	return out, errors.Join(errs...)
}

// parseCounts parses "name=n,name=n" with integer values.
func parseCounts(s string) (map[string]int, error) {
	pairs, err := parsePairs(s)
	out := make(map[string]int, len(pairs))
	errs := []error{err}
	for _, k := range sortedKeys(pairs) {
		n, convErr := strconv.Atoi(pairs[k])
		if convErr != nil {
			errs = append(errs, fmt.Errorf("%s: %q is not an integer", k, pairs[k]))
			continue
		}
		out[k] = n
	}
	return out, errors.Join(errs...)
}

func sortedKeys[K ~string, V any](m map[K]V) []K {
	out := make([]K, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
