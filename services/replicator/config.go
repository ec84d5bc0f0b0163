package replicator

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/geocluster/geocluster/libs/events"
	"github.com/geocluster/geocluster/libs/lease"
)

// Config of the replicator.
type Config struct {
	// ID names this replica in its lease and in events ("r-" + a new ULID).
	ID string
	// Topology is provisioned at start (events.DefaultTopology()).
	Topology events.Topology
	// LeaseTTL is how long the lease outlives a dead holder (10s).
	LeaseTTL time.Duration
	// CheckEvery is how often stream and peer state is read (5s).
	CheckEvery time.Duration
	// OfflineGrace is how long a replica's server may stay offline before
	// its replicas are moved (30s).
	OfflineGrace time.Duration
	// Streams limits healing to these streams; empty means every stream of
	// the account with more than one replica (none).
	Streams []string
	// ScrubEvery is the period of the scrub of geo_tiles; 0 turns it off (1h).
	ScrubEvery time.Duration
	// ChunkWait is how long a scrub waits for the next chunk of an object
	// before it calls the object incomplete (2s).
	ChunkWait time.Duration
	// Mirror configures the mirror of geo_tiles (off).
	Mirror Mirror
	// PublishTimeout bounds the publish of one event (5s).
	PublishTimeout time.Duration
}

// Mirror configures a second object store that mirrors geo_tiles.
type Mirror struct {
	// Bucket names the mirror object store; empty turns mirroring off
	// (events.ObjectTilesMirror when enabled by environment).
	Bucket string
	// Replicas of the mirror stream (1).
	Replicas int
	// Cluster and Tags place the mirror, e.g. in another cluster of a
	// supercluster or on servers tagged with another zone (none).
	Cluster string
	Tags    []string
}

// Defaults.
const (
	DefaultLeaseTTL       = lease.DefaultTTL
	DefaultCheckEvery     = 5 * time.Second
	DefaultOfflineGrace   = 30 * time.Second
	DefaultScrubEvery     = time.Hour
	DefaultChunkWait      = 2 * time.Second
	DefaultPublishTimeout = 5 * time.Second
)

// DefaultConfig returns the defaults, with a fresh id.
func DefaultConfig() Config {
	return Config{
		ID:             "r-" + events.NewID(),
		Topology:       events.DefaultTopology(),
		LeaseTTL:       DefaultLeaseTTL,
		CheckEvery:     DefaultCheckEvery,
		OfflineGrace:   DefaultOfflineGrace,
		ScrubEvery:     DefaultScrubEvery,
		ChunkWait:      DefaultChunkWait,
		Mirror:         Mirror{Replicas: 1},
		PublishTimeout: DefaultPublishTimeout,
	}
}

// Validate returns every problem of c at once.
func (c Config) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if !events.ValidToken(c.ID) {
		add("id: %q is not a valid token", c.ID)
	}
	if err := c.Topology.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("topology: %w", err))
	}
	if c.LeaseTTL < lease.MinTTL {
		add("lease_ttl: at least %s, got %s", lease.MinTTL, c.LeaseTTL)
	}
	if c.CheckEvery < 10*time.Millisecond {
		add("check_every: at least 10ms, got %s", c.CheckEvery)
	}
	if c.OfflineGrace < 0 {
		add("offline_grace: must not be negative, got %s", c.OfflineGrace)
	}
	for _, s := range c.Streams {
		if s == "" || strings.ContainsAny(s, ".*> \t") {
			add("streams: %q is not a stream name", s)
		}
	}
	if c.ScrubEvery < 0 {
		add("scrub_every: must not be negative, got %s", c.ScrubEvery)
	}
	if c.ChunkWait <= 0 {
		add("chunk_wait: must be positive, got %s", c.ChunkWait)
	}
	if m := c.Mirror; m.Bucket != "" {
		if !events.ValidToken(m.Bucket) || m.Bucket == events.ObjectTiles {
			add("mirror.bucket: %q is not a valid bucket name other than %s", m.Bucket, events.ObjectTiles)
		}
		if m.Replicas < 1 || m.Replicas > 5 {
			add("mirror.replicas: 1 to 5, got %d", m.Replicas)
		}
	}
	if c.PublishTimeout <= 0 {
		add("publish_timeout: must be positive, got %s", c.PublishTimeout)
	}
	return errors.Join(errs...)
}

// Environment variables read by LoadConfig, beside the topology's GEO_*.
const (
	EnvID             = "GEO_REPLICATOR_ID"
	EnvLeaseTTL       = "GEO_REPLICATOR_LEASE_TTL"
	EnvCheckEvery     = "GEO_REPLICATOR_CHECK_EVERY"
	EnvOfflineGrace   = "GEO_REPLICATOR_OFFLINE_GRACE"
	EnvStreams        = "GEO_REPLICATOR_STREAMS" // comma-separated
	EnvScrubEvery     = "GEO_REPLICATOR_SCRUB_EVERY"
	EnvChunkWait      = "GEO_REPLICATOR_CHUNK_WAIT"
	EnvMirror         = "GEO_REPLICATOR_MIRROR" // a bucket name, or "on" for geo_tiles_mirror
	EnvMirrorReplicas = "GEO_REPLICATOR_MIRROR_REPLICAS"
	EnvMirrorCluster  = "GEO_REPLICATOR_MIRROR_CLUSTER"
	EnvMirrorTags     = "GEO_REPLICATOR_MIRROR_TAGS" // comma-separated
	EnvPublishTimeout = "GEO_REPLICATOR_PUBLISH_TIMEOUT"
)

// LoadConfig reads GEO_REPLICATOR_* variables over the defaults; the
// topology is read by events.LoadTopology (GEO_*).
func LoadConfig(getenv func(string) string) (Config, error) {
	c := DefaultConfig()
	topo, err := events.LoadTopology(getenv)
	if err != nil {
		return c, err
	}
	c.Topology = topo
	var errs []error
	dur := func(name string, dst *time.Duration) {
		if v := getenv(name); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %q is not a duration such as 30s", name, v))
				return
			}
			*dst = d
		}
	}
	list := func(name string) []string {
		if v := getenv(name); v != "" {
			return strings.Split(v, ",")
		}
		return nil
	}
	if v := getenv(EnvID); v != "" {
		c.ID = v
	}
	dur(EnvLeaseTTL, &c.LeaseTTL)
	dur(EnvCheckEvery, &c.CheckEvery)
	dur(EnvOfflineGrace, &c.OfflineGrace)
	dur(EnvScrubEvery, &c.ScrubEvery)
	dur(EnvChunkWait, &c.ChunkWait)
	dur(EnvPublishTimeout, &c.PublishTimeout)
	c.Streams = list(EnvStreams)
	switch v := getenv(EnvMirror); v {
	case "":
	case "on":
		c.Mirror.Bucket = events.ObjectTilesMirror
	default:
		c.Mirror.Bucket = v
	}
	if v := getenv(EnvMirrorReplicas); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %q is not a number", EnvMirrorReplicas, v))
		}
		c.Mirror.Replicas = n
	}
	c.Mirror.Cluster = getenv(EnvMirrorCluster)
	c.Mirror.Tags = list(EnvMirrorTags)
	if err := errors.Join(errs...); err != nil {
		return c, err
	}
	return c, c.Validate()
}
