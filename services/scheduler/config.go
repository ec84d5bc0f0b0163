package scheduler

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/geocluster/geocluster/libs/events"
)

// Config of the scheduler.
type Config struct {
	// ID names this replica in the scheduler lease and in logs ("s-" + a
	// new ULID).
	ID string
	// LeaseTTL is how long the scheduler lease outlives a dead leader: a
	// standby replica takes over within about this long (5s).
	LeaseTTL time.Duration
	// Topology provisioned at start (events.DefaultTopology()).
	Topology events.Topology
	// Ops the scheduler accepts in jobs (events.PlatformOps()).
	Ops events.OpCatalog
	// Limits on one job (events.DefaultLimits).
	Limits events.Limits
	// MaxBatch is the most inputs applied in one flush (1000).
	MaxBatch int
	// MaxResultBytes is the largest task result stored (256 KiB).
	MaxResultBytes int
	// LocalityWait is how long a task whose inputs a live worker holds is
	// offered to that worker alone before every worker of the pool may
	// take it (250ms); 0 turns data locality off.
	LocalityWait time.Duration
	// Speculation tunes speculative execution of stragglers
	// (DefaultSpeculation()).
	Speculation SpeculationConfig
	// APIVersion is the version the micro service reports ("0.1.0").
	APIVersion string
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		Topology:       events.DefaultTopology(),
		Ops:            events.PlatformOps(),
		Limits:         events.DefaultLimits,
		MaxBatch:       1000,
		MaxResultBytes: 256 << 10,
		ID:             "s-" + events.NewID(),
		LeaseTTL:       5 * time.Second,
		LocalityWait:   250 * time.Millisecond,
		Speculation:    DefaultSpeculation(),
		APIVersion:     "0.1.0",
	}
}

// Validate returns every problem at once.
func (c Config) Validate() error {
	var errs []error
	if err := c.Topology.Validate(); err != nil {
		errs = append(errs, err)
	}
	if len(c.Ops) == 0 {
		errs = append(errs, errors.New("ops: the catalog is empty"))
	}
	if c.MaxBatch < 1 {
		errs = append(errs, fmt.Errorf("max_batch: at least 1, got %d", c.MaxBatch))
	}
	if !events.ValidToken(c.ID) {
		errs = append(errs, fmt.Errorf("id: %q is not a valid token", c.ID))
	}
	if err := c.Speculation.validate(); err != nil {
		errs = append(errs, err)
	}
	if c.LeaseTTL < time.Second {
		errs = append(errs, fmt.Errorf("lease_ttl: at least 1s, got %s", c.LeaseTTL))
	}
	if c.LocalityWait < 0 || c.LocalityWait > time.Minute {
		errs = append(errs, fmt.Errorf("locality_wait: 0 (off) to 1m, got %s", c.LocalityWait))
	}
	if c.MaxResultBytes < 1024 {
		errs = append(errs, fmt.Errorf("max_result_bytes: at least 1024, got %d", c.MaxResultBytes))
	}
	return errors.Join(errs...)
}

// LoadConfig reads GEO_SCHEDULER_* variables over the defaults:
// GEO_SCHEDULER_MAX_BATCH, GEO_SCHEDULER_MAX_TASKS, GEO_SCHEDULER_MAX_RESULT_BYTES,
// GEO_SCHEDULER_LOCALITY_WAIT (a Go duration, 0 = off), GEO_SCHEDULER_ID,
// GEO_SCHEDULER_LEASE_TTL.
// The topology is read by events.LoadTopology (GEO_*).
func LoadConfig(getenv func(string) string) (Config, error) {
	c := DefaultConfig()
	topo, err := events.LoadTopology(getenv)
	if err != nil {
		return c, err
	}
	c.Topology = topo
	var errs []error
	intVar := func(name string, dst *int) {
		if v := getenv(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %q is not a number", name, v))
				return
			}
			*dst = n
		}
	}
	intVar("GEO_SCHEDULER_MAX_BATCH", &c.MaxBatch)
	intVar("GEO_SCHEDULER_MAX_TASKS", &c.Limits.MaxTasks)
	intVar("GEO_SCHEDULER_MAX_RESULT_BYTES", &c.MaxResultBytes)
	durVar := func(name string, dst *time.Duration) {
		if v := getenv(name); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %q is not a duration", name, v))
				return
			}
			*dst = d
		}
	}
	durVar("GEO_SCHEDULER_LOCALITY_WAIT", &c.LocalityWait)
	durVar("GEO_SCHEDULER_LEASE_TTL", &c.LeaseTTL)
	if v := getenv("GEO_SCHEDULER_ID"); v != "" {
		c.ID = v
	}
	if err := errors.Join(errs...); err != nil {
		return c, err
	}
	return c, c.Validate()
}
