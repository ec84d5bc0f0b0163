package cache

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/geocluster/geocluster/libs/events"
)

// Config of a cache node.
type Config struct {
	// ID names the node in geo_cache_nodes and in its subjects; a valid
	// subject token ("c-" + a new ULID).
	ID string
	// MaxBytes bounds the memory held by tiles (1 GiB).
	MaxBytes int64
	// CompressAbove: tiles of at least this many bytes are stored
	// zstd-compressed (fastest level) when that saves a tenth; 0 never
	// compresses (64 KiB).
	CompressAbove int
	// Workers serve requests at once (8).
	Workers int
	// MaxObjectBytes is the largest tile sent in a reply; a larger one is
	// answered "too_large" and the client reads the store. 0 means the
	// server's max payload less 4 KiB for headers (0).
	MaxObjectBytes int
	// LoadTimeout bounds one read of the store (30s).
	LoadTimeout time.Duration
	// StatsInterval is how often statistics are published (10s).
	StatsInterval time.Duration
	// HeartbeatInterval refreshes the registration; 0 means a third of
	// Topology.CacheNodeTTL (0).
	HeartbeatInterval time.Duration
	// Topology is provisioned at start (events.DefaultTopology()).
	Topology events.Topology
}

// DefaultConfig returns the defaults, with a fresh node id.
func DefaultConfig() Config {
	return Config{
		ID:            "c-" + events.NewID(),
		MaxBytes:      1 << 30,
		CompressAbove: 64 << 10,
		Workers:       8,
		LoadTimeout:   30 * time.Second,
		StatsInterval: 10 * time.Second,
		Topology:      events.DefaultTopology(),
	}
}

func (c Config) heartbeat() time.Duration {
	if c.HeartbeatInterval > 0 {
		return c.HeartbeatInterval
	}
	return c.Topology.CacheNodeTTL / 3
}

// Validate returns every problem at once.
func (c Config) Validate() error {
	var errs []error
	if !events.ValidToken(c.ID) {
		errs = append(errs, fmt.Errorf("id: %q is not a valid subject token", c.ID))
	}
	if c.MaxBytes < 0 {
		errs = append(errs, fmt.Errorf("max_bytes: must not be negative, got %d", c.MaxBytes))
	}
	if c.CompressAbove < 0 {
		errs = append(errs, fmt.Errorf("compress_above: must not be negative, got %d", c.CompressAbove))
	}
	if c.Workers < 1 {
		errs = append(errs, fmt.Errorf("workers: at least 1, got %d", c.Workers))
	}
	if c.MaxObjectBytes < 0 {
		errs = append(errs, fmt.Errorf("max_object_bytes: must not be negative, got %d", c.MaxObjectBytes))
	}
	if c.LoadTimeout < 10*time.Millisecond {
		errs = append(errs, fmt.Errorf("load_timeout: at least 10ms, got %s", c.LoadTimeout))
	}
	if c.StatsInterval < 10*time.Millisecond {
		errs = append(errs, fmt.Errorf("stats_interval: at least 10ms, got %s", c.StatsInterval))
	}
	if c.HeartbeatInterval < 0 || (c.HeartbeatInterval > 0 && c.HeartbeatInterval >= c.Topology.CacheNodeTTL) {
		errs = append(errs, fmt.Errorf("heartbeat_interval: must be below the node TTL %s, got %s", c.Topology.CacheNodeTTL, c.HeartbeatInterval))
	}
	if err := c.Topology.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// LoadConfig reads GEO_CACHE_* variables over the defaults: GEO_CACHE_ID,
// GEO_CACHE_MAX_BYTES, GEO_CACHE_COMPRESS_ABOVE, GEO_CACHE_WORKERS,
// GEO_CACHE_MAX_OBJECT_BYTES, GEO_CACHE_LOAD_TIMEOUT,
// GEO_CACHE_STATS_INTERVAL, GEO_CACHE_HEARTBEAT_INTERVAL. The topology is
// read by events.LoadTopology (GEO_*, GEO_CACHE_NODE_TTL among them).
func LoadConfig(getenv func(string) string) (Config, error) {
	c := DefaultConfig()
	topo, err := events.LoadTopology(getenv)
	if err != nil {
		return c, err
	}
	c.Topology = topo
	var errs []error
	if v := getenv("GEO_CACHE_ID"); v != "" {
		c.ID = v
	}
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
	durVar := func(name string, dst *time.Duration) {
		if v := getenv(name); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", name, err))
				return
			}
			*dst = d
		}
	}
	if v := getenv("GEO_CACHE_MAX_BYTES"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			errs = append(errs, fmt.Errorf("GEO_CACHE_MAX_BYTES: %q is not a number", v))
		}
		c.MaxBytes = n
	}
	intVar("GEO_CACHE_COMPRESS_ABOVE", &c.CompressAbove)
	intVar("GEO_CACHE_WORKERS", &c.Workers)
	intVar("GEO_CACHE_MAX_OBJECT_BYTES", &c.MaxObjectBytes)
	durVar("GEO_CACHE_LOAD_TIMEOUT", &c.LoadTimeout)
	durVar("GEO_CACHE_STATS_INTERVAL", &c.StatsInterval)
	durVar("GEO_CACHE_HEARTBEAT_INTERVAL", &c.HeartbeatInterval)
	if err := errors.Join(errs...); err != nil {
		return c, err
	}
	return c, c.Validate()
}
