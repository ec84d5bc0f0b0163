// Package onebox runs a whole geocluster in one process: an embedded NATS
// JetStream server and every service, each on its own in-process connection.
// cmd/geocluster, the end-to-end tests and the benchmarks build on it.
//
// A Cluster is started by Start, runs until Stop (or the ctx given to Start
// is done), and can stop or kill single workers to show that nothing is lost.
package onebox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/geocluster/geocluster/libs/embedded"
	"github.com/geocluster/geocluster/libs/events"
	"github.com/geocluster/geocluster/services/cache"
	"github.com/geocluster/geocluster/services/monitor"
	"github.com/geocluster/geocluster/services/scheduler"
	"github.com/geocluster/geocluster/services/worker"
)

// Config of a one-process cluster.
type Config struct {
	// DataDir holds JetStream's files ("" = a temporary directory removed at
	// Stop).
	DataDir string
	// Memory keeps every stream, bucket and object store in memory.
	Memory bool
	// Host and Port the NATS server listens on (127.0.0.1, 4222; -1 picks a
	// free port).
	Host string
	Port int
	// HTTPPort serves NATS monitoring (0 = off).
	HTTPPort int
	// Workers is how many workers run (2).
	Workers int
	// Worker is the template of every worker's config; its ID is replaced.
	Worker worker.Config
	// Scheduler is the scheduler's config.
	Scheduler scheduler.Config
	// CacheNodes is how many tile cache nodes run (1).
	CacheNodes int
	// Cache is the template of every cache node's config; its ID is
	// replaced.
	Cache cache.Config
	// Topology is given to every service (events.DefaultTopology()).
	Topology events.Topology
	// Ops overrides the ops workers run (nil: platform ops). The scheduler's
	// catalog (Scheduler.Ops) must name them too.
	Ops *worker.Registry
	// Monitor runs the monitor (dashboard, /metrics, alerts) with
	// MonitorConfig when true (false).
	Monitor       bool
	MonitorConfig monitor.Config
	// Log is the root logger; each service gets it with "service" set.
	Log zerolog.Logger
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		Host: "127.0.0.1", Port: 4222, Workers: 2, CacheNodes: 1,
		Worker: worker.DefaultConfig(), Scheduler: scheduler.DefaultConfig(), Cache: cache.DefaultConfig(),
		MonitorConfig: monitorDefaults(),
		Topology:      events.DefaultTopology(), Log: zerolog.Nop(),
	}
}

// Cluster is a running one-process cluster.
type Cluster struct {
	Server *embedded.Server
	cfg    Config
	tmp    string

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	// monitorAddr is the monitor's bound HTTP address, guarded by mu.
	monitorAddr string
	errs        []error
	svc         []*service
}

// service is one running service with its own connection.
type service struct {
	Name   string
	nc     *nats.Conn
	cancel context.CancelFunc
	done   chan struct{}
	killed bool
}

// Start starts the server and every service.
func Start(ctx context.Context, cfg Config) (*Cluster, error) {
	if cfg.Memory {
		cfg.Topology.Storage = jetstream.MemoryStorage
	}
	c := &Cluster{cfg: cfg}
	dir := cfg.DataDir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "geocluster-")
		if err != nil {
			return nil, fmt.Errorf("temp dir: %w", err)
		}
		c.tmp, dir = tmp, tmp
	}
	srv, err := embedded.Start(embedded.Config{Host: cfg.Host, Port: cfg.Port, HTTPPort: cfg.HTTPPort, StoreDir: filepath.Join(dir, "jetstream")})
	if err != nil {
		c.removeTmp()
		return nil, err
	}
	c.Server = srv
	c.ctx, c.cancel = context.WithCancel(ctx)

	nc, err := srv.Connect("provision", true)
	if err != nil {
		c.Stop()
		return nil, err
	}
	js, _ := jetstream.New(nc)
	err = events.EnsureTopology(ctx, js, cfg.Topology)
	nc.Close()
	if err != nil {
		c.Stop()
		return nil, err
	}
	scfg := cfg.Scheduler
	scfg.Topology = cfg.Topology
	if err := c.startService("scheduler", func(ctx context.Context, nc *nats.Conn, log zerolog.Logger) error {
		return scheduler.Run(ctx, scheduler.Deps{NC: nc, Log: log}, scfg)
	}); err != nil {
		c.Stop()
		return nil, err
	}
	for range cfg.CacheNodes {
		ccfg := cfg.Cache
		ccfg.ID = "c-" + events.NewID()
		ccfg.Topology = cfg.Topology
		if err := c.startService(ccfg.ID, func(ctx context.Context, nc *nats.Conn, log zerolog.Logger) error {
			return cache.Run(ctx, cache.Deps{NC: nc, Log: log}, ccfg)
		}); err != nil {
			c.Stop()
			return nil, err
		}
	}
	if cfg.Monitor {
		if err := c.startMonitor(); err != nil {
			c.Stop()
			return nil, err
		}
	}
	for range cfg.Workers {
		if _, err := c.AddWorker(); err != nil {
			c.Stop()
			return nil, err
		}
	}
	if err := c.waitReady(ctx, cfg.Workers); err != nil {
		c.Stop()
		return nil, err
	}
	return c, nil
}

// waitReady returns once the scheduler's API answers and every worker has
// registered, so that a caller can submit at once.
func (c *Cluster) waitReady(ctx context.Context, workers int) error {
	nc, err := c.Server.Connect("onebox-ready", true)
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	kv, err := js.KeyValue(ctx, events.BucketWorkers)
	if err != nil {
		return fmt.Errorf("bind %s: %w", events.BucketWorkers, err)
	}
	for {
		_, perr := nc.Request("$SRV.PING."+events.APIServiceName, nil, time.Second)
		keys, _ := kv.Keys(ctx)
		if perr == nil && len(keys) >= workers {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster not ready: scheduler api: %v, %d of %d workers registered", perr, len(keys), workers)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// monitorDefaults are the monitor's defaults with the dashboard on a free
// loopback port (the commands choose a fixed one).
func monitorDefaults() monitor.Config {
	m := monitor.DefaultConfig()
	m.HTTPAddr = "127.0.0.1:0"
	return m
}

// startMonitor starts the monitor and waits until it serves HTTP.
func (c *Cluster) startMonitor() error {
	mcfg := c.cfg.MonitorConfig
	mcfg.Topology = c.cfg.Topology
	started := make(chan error, 1)
	err := c.startService("monitor", func(ctx context.Context, nc *nats.Conn, log zerolog.Logger) error {
		m, err := monitor.Start(ctx, monitor.Deps{NC: nc, Log: log}, mcfg)
		if err != nil {
			started <- err
			return err
		}
		c.mu.Lock()
		c.monitorAddr = m.Addr()
		c.mu.Unlock()
		started <- nil
		return m.Wait()
	})
	if err != nil {
		return err
	}
	select {
	case err := <-started:
		return err
	case <-c.ctx.Done():
		return c.ctx.Err()
	}
}

// MonitorAddr is where the monitor serves HTTP ("" when it does not run).
func (c *Cluster) MonitorAddr() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.monitorAddr
}

// URL is where clients connect.
func (c *Cluster) URL() string { return c.Server.ClientURL() }

// AddWorker starts one more worker and returns its id.
func (c *Cluster) AddWorker() (string, error) {
	wcfg := c.cfg.Worker
	wcfg.ID = "w-" + events.NewID()
	wcfg.Topology = c.cfg.Topology
	err := c.startService(wcfg.ID, func(ctx context.Context, nc *nats.Conn, log zerolog.Logger) error {
		js, err := jetstream.New(nc)
		if err != nil {
			return err
		}
		return worker.Run(ctx, worker.Deps{NC: nc, JS: js, Log: log, Ops: c.cfg.Ops}, wcfg)
	})
	return wcfg.ID, err
}

func (c *Cluster) startService(name string, run func(context.Context, *nats.Conn, zerolog.Logger) error) error {
	nc, err := c.Server.Connect(name, true)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(c.ctx)
	s := &service{Name: name, nc: nc, cancel: cancel, done: make(chan struct{})}
	log := c.cfg.Log.With().Str("service", name).Logger()
	c.mu.Lock()
	c.svc = append(c.svc, s)
	c.mu.Unlock()
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		defer close(s.done)
		defer nc.Close()
		if err := run(ctx, nc, log); err != nil {
			c.mu.Lock()
			if s.killed {
				c.mu.Unlock()
				return // a killed service may fail to say goodbye; that is the point
			}
			c.errs = append(c.errs, fmt.Errorf("%s: %w", name, err))
			c.mu.Unlock()
		}
	}()
	return nil
}

// Workers lists the ids of the workers started and not stopped.
func (c *Cluster) Workers() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var ids []string
	for _, s := range c.svc {
		if strings.HasPrefix(s.Name, "w-") && !closed(s.done) {
			ids = append(ids, s.Name)
		}
	}
	return ids
}

func closed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func (c *Cluster) find(name string) *service {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.svc {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// StopService stops one service gracefully (as SIGTERM would) and waits.
func (c *Cluster) StopService(name string) error {
	s := c.find(name)
	if s == nil {
		return fmt.Errorf("no service %s", name)
	}
	s.cancel()
	<-s.done
	return nil
}

// KillService closes a service's connection without any goodbye, as if its
// process died, then stops what is left of it.
func (c *Cluster) KillService(name string) error {
	s := c.find(name)
	if s == nil {
		return fmt.Errorf("no service %s", name)
	}
	c.mu.Lock()
	s.killed = true
	c.mu.Unlock()
	s.nc.Close()
	s.cancel()
	<-s.done
	return nil
}

// Stop stops every service, then the server; it returns the errors the
// services returned.
func (c *Cluster) Stop() error {
	if c.cancel != nil {
		c.cancel()
	}
	c.wg.Wait()
	if c.Server != nil {
		c.Server.Stop()
	}
	c.removeTmp()
	c.mu.Lock()
	defer c.mu.Unlock()
	return errors.Join(c.errs...)
}

func (c *Cluster) removeTmp() {
	if c.tmp != "" {
		_ = os.RemoveAll(c.tmp)
	}
}
