package monitor

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/geocluster/geocluster/libs/events"
	"github.com/geocluster/geocluster/libs/lease"
)

// Config of the monitor.
type Config struct {
	// ID names the monitor's durable consumer (monitor_<ID>) and its
	// snapshot key; a restarted monitor with the same ID resumes where it
	// left off ("main").
	ID string
	// HTTPAddr is where the dashboard, /metrics and the API are served
	// (":8090"; "127.0.0.1:0" picks a free port).
	HTTPAddr string
	// SnapshotInterval is how often the derived metrics are stored in
	// geo_monitor and the events they include acked (2s).
	SnapshotInterval time.Duration
	// PollInterval is how often queue depths and stream sizes are read
	// from the JetStream API (2s).
	PollInterval time.Duration
	// EvalInterval is how often the metrics are sampled for the alert
	// rules and the charts, and the rules evaluated (1s).
	EvalInterval time.Duration
	// Retention is how long sampled metrics are kept for rules and charts
	// (1h).
	Retention time.Duration
	// LeaseTTL is how long a monitor that died keeps the lease that lets it
	// count (10s): then another monitor with the same ID takes over.
	LeaseTTL time.Duration
	// MaxJobs is how many job records the dashboard keeps (1000; finished
	// jobs are dropped first).
	MaxJobs int
	// Topology is provisioned at start (events.DefaultTopology()).
	Topology events.Topology
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		ID:               "main",
		HTTPAddr:         ":8090",
		SnapshotInterval: 2 * time.Second,
		PollInterval:     2 * time.Second,
		EvalInterval:     time.Second,
		Retention:        time.Hour,
		LeaseTTL:         lease.DefaultTTL,
		MaxJobs:          1000,
		Topology:         events.DefaultTopology(),
	}
}

// Validate returns every problem at once, each naming its field.
func (c Config) Validate() error {
	var errs []error
	if !events.ValidToken(c.ID) {
		errs = append(errs, fmt.Errorf("id: %q is not a valid subject token", c.ID))
	}
	if c.HTTPAddr == "" {
		errs = append(errs, errors.New("http_addr: is required"))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
		min  time.Duration
	}{
		{"snapshot_interval", c.SnapshotInterval, 10 * time.Millisecond},
		{"poll_interval", c.PollInterval, 10 * time.Millisecond},
		{"eval_interval", c.EvalInterval, 10 * time.Millisecond},
		{"retention", c.Retention, time.Minute},
		{"lease_ttl", c.LeaseTTL, lease.MinTTL},
	} {
		if d.v < d.min {
			errs = append(errs, fmt.Errorf("%s: at least %s, got %s", d.name, d.min, d.v))
		}
	}
	if c.MaxJobs < 1 {
		errs = append(errs, fmt.Errorf("max_jobs: at least 1, got %d", c.MaxJobs))
	}
	if err := c.Topology.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// LoadConfig reads GEO_MONITOR_* variables over the defaults:
// GEO_MONITOR_ID, GEO_MONITOR_ADDR, GEO_MONITOR_SNAPSHOT_INTERVAL,
// GEO_MONITOR_POLL_INTERVAL, GEO_MONITOR_EVAL_INTERVAL,
// GEO_MONITOR_RETENTION, GEO_MONITOR_LEASE_TTL, GEO_MONITOR_MAX_JOBS; the topology by
// events.LoadTopology.
func LoadConfig(getenv func(string) string) (Config, error) {
	c := DefaultConfig()
	topo, err := events.LoadTopology(getenv)
	if err != nil {
		return c, err
	}
	c.Topology = topo
	var errs []error
	if v := getenv("GEO_MONITOR_ID"); v != "" {
		c.ID = v
	}
	if v := getenv("GEO_MONITOR_ADDR"); v != "" {
		c.HTTPAddr = v
	}
	for _, d := range []struct {
		name string
		dst  *time.Duration
	}{
		{"GEO_MONITOR_SNAPSHOT_INTERVAL", &c.SnapshotInterval},
		{"GEO_MONITOR_POLL_INTERVAL", &c.PollInterval},
		{"GEO_MONITOR_EVAL_INTERVAL", &c.EvalInterval},
		{"GEO_MONITOR_RETENTION", &c.Retention},
		{"GEO_MONITOR_LEASE_TTL", &c.LeaseTTL},
	} {
		if v := getenv(d.name); v != "" {
			x, err := time.ParseDuration(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", d.name, err))
				continue
			}
			*d.dst = x
		}
	}
	if v := getenv("GEO_MONITOR_MAX_JOBS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("GEO_MONITOR_MAX_JOBS: %q is not a number", v))
		}
		c.MaxJobs = n
	}
	if err := errors.Join(errs...); err != nil {
		return c, err
	}
	return c, c.Validate()
}
