package tilecache

import (
	"errors"
	"fmt"
	"time"
)

// Config of a Client. The zero value works: zero fields take their defaults
// except NearMaxBytes, where 0 means no near-cache.
type Config struct {
	// NearMaxBytes bounds the near-cache (entries are charged their length
	// plus a small overhead); 0 disables it (DefaultNearMaxBytes in
	// DefaultConfig).
	NearMaxBytes int64
	// RequestTimeout bounds one request to a cache node (5s).
	RequestTimeout time.Duration
	// MaxNodes is how many nodes a read tries, in rank order, before it
	// reads the store itself (2).
	MaxNodes int
	// NoWriteThrough stops Put from sending the bytes to the owner node
	// (false: it does).
	NoWriteThrough bool
	// Writer names the client in the versions it writes (none).
	Writer string
	// OnNear, when set, is called when an object enters (held) or leaves
	// (!held) the near-cache, in the order of those changes. It runs on the
	// goroutine that made the change (a Get, a Put, or the version watch),
	// must be quick, and must not call Get or Put.
	OnNear func(object string, held bool)
	// OnError receives errors of the background watches of geo_cache and
	// geo_cache_nodes, which are recreated with backoff (none).
	OnError func(error)
}

// Defaults.
const (
	DefaultNearMaxBytes   = 64 << 20
	DefaultRequestTimeout = 5 * time.Second
	DefaultMaxNodes       = 2
)

// DefaultConfig returns the defaults, with a near-cache.
func DefaultConfig() Config {
	return Config{NearMaxBytes: DefaultNearMaxBytes, RequestTimeout: DefaultRequestTimeout, MaxNodes: DefaultMaxNodes}
}

func (c *Config) setDefaults() {
	if c.RequestTimeout == 0 {
		c.RequestTimeout = DefaultRequestTimeout
	}
	if c.MaxNodes == 0 {
		c.MaxNodes = DefaultMaxNodes
	}
}

// Validate returns every problem at once.
func (c Config) Validate() error {
	var errs []error
	if c.NearMaxBytes < 0 {
		errs = append(errs, fmt.Errorf("near_max_bytes: must not be negative, got %d", c.NearMaxBytes))
	}
	if c.RequestTimeout < 0 {
		errs = append(errs, fmt.Errorf("request_timeout: must not be negative, got %s", c.RequestTimeout))
	}
	if c.MaxNodes < 0 {
		errs = append(errs, fmt.Errorf("max_nodes: must not be negative, got %d", c.MaxNodes))
	}
	return errors.Join(errs...)
}
