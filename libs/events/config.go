package events

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// LoadTopology reads the shared topology settings over DefaultTopology:
// GEO_REPLICAS, GEO_STORAGE (file|memory), GEO_POOLS (comma list),
// GEO_TASK_ACK_WAIT, GEO_TASK_MAX_DELIVER, GEO_WORKER_TTL, GEO_CACHE_NODE_TTL, GEO_MAX_JOB_BYTES.
// Every service reads the same variables so they provision alike.
func LoadTopology(getenv func(string) string) (Topology, error) {
	t := DefaultTopology()
	var errs []error
	if v := getenv("GEO_REPLICAS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("GEO_REPLICAS: %q is not a number", v))
		}
		t.Replicas = n
	}
	switch v := getenv("GEO_STORAGE"); v {
	case "", "file":
	case "memory":
		t.Storage = jetstream.MemoryStorage
	default:
		errs = append(errs, fmt.Errorf("GEO_STORAGE: %q is not file or memory", v))
	}
	if v := getenv("GEO_POOLS"); v != "" {
		t.Pools = strings.Split(v, ",")
	}
	dur := func(name string, dst *time.Duration) {
		if v := getenv(name); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", name, err))
			}
			*dst = d
		}
	}
	dur("GEO_TASK_ACK_WAIT", &t.TaskAckWait)
	dur("GEO_WORKER_TTL", &t.WorkerTTL)
	dur("GEO_CACHE_NODE_TTL", &t.CacheNodeTTL)
	if v := getenv("GEO_TASK_MAX_DELIVER"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("GEO_TASK_MAX_DELIVER: %q is not a number", v))
		}
		t.TaskMaxDeliver = n
	}
	if v := getenv("GEO_MAX_JOB_BYTES"); v != "" {
		n, err := strconv.ParseInt(v, 10, 32)
		if err != nil {
			errs = append(errs, fmt.Errorf("GEO_MAX_JOB_BYTES: %q is not a number", v))
		}
		t.MaxJobBytes = int32(n)
	}
	if err := errors.Join(errs...); err != nil {
		return t, err
	}
	return t, t.Validate()
}
