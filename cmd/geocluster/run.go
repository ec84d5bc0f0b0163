package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"time"

	"github.com/rs/zerolog"

	"github.com/geocluster/geocluster/internal/onebox"
	"github.com/geocluster/geocluster/internal/telemetry"
	"github.com/geocluster/geocluster/libs/events"
	"github.com/geocluster/geocluster/services/cache"
	"github.com/geocluster/geocluster/services/monitor"
	"github.com/geocluster/geocluster/services/scheduler"
	"github.com/geocluster/geocluster/services/worker"
)

const usage = `usage: geocluster [serve|demo] [flags]

  serve   run the cluster until interrupted (default)
  demo    run the cluster, run the demo job on the sample rasters, print the
          results and exit

flags:
`

type options struct {
	cmd      string
	dataDir  string
	memory   bool
	host     string
	port     int
	httpPort int
	workers  int
	caches   int
	logLevel string
	demoData string
	out      string
	monitor  string
}

func parse(args []string, getenv func(string) string, stderr io.Writer) (options, error) {
	o := options{cmd: "serve"}
	if len(args) > 0 && (args[0] == "serve" || args[0] == "demo") {
		o.cmd, args = args[0], args[1:]
	}
	fs := flag.NewFlagSet("geocluster", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage); fs.PrintDefaults() }
	envOr := func(k, d string) string {
		if v := getenv(k); v != "" {
			return v
		}
		return d
	}
	defPort := 4222
	if o.cmd == "demo" {
		defPort = -1 // the demo never collides with a running cluster
	}
	if v := getenv("GEO_PORT"); v != "" {
		if n, err := strconv.Atoi(v); err == nil {
			defPort = n
		}
	}
	fs.StringVar(&o.dataDir, "data-dir", envOr("GEO_DATA_DIR", ""), "JetStream storage directory (default: a temporary directory, removed at exit)")
	fs.BoolVar(&o.memory, "memory", getenv("GEO_STORAGE") == "memory", "keep streams, buckets and objects in memory only")
	fs.StringVar(&o.host, "host", envOr("GEO_HOST", "127.0.0.1"), "address to listen on")
	fs.IntVar(&o.port, "port", defPort, "NATS client port (-1: pick a free one)")
	fs.IntVar(&o.httpPort, "http-port", 0, "NATS monitoring port (0: off, -1: pick)")
	fs.IntVar(&o.workers, "workers", 2, "number of workers")
	fs.IntVar(&o.caches, "cache-nodes", 1, "number of tile cache nodes (0: none; workers then read tiles from the object store)")
	fs.StringVar(&o.logLevel, "log-level", envOr("GEO_LOG_LEVEL", "warn"), "log level: debug, info, warn, error")
	fs.StringVar(&o.demoData, "demo-data", envOr("GEO_DEMO_DATA", "../shared/data"), "folder of sample GeoTIFFs (demo)")
	fs.StringVar(&o.out, "out", "out/demo", "folder the demo writes its results to (demo)")
	defMonitor := "127.0.0.1:8090"
	if o.cmd == "demo" {
		defMonitor = "127.0.0.1:0" // the demo never collides with a running cluster
	}
	fs.StringVar(&o.monitor, "monitor-addr", envOr("GEO_MONITOR_ADDR", defMonitor), `where the monitor serves the dashboard and /metrics ("": no monitor)`)
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if o.workers < 1 {
		return o, errors.New("--workers: at least 1")
	}
	if o.caches < 0 {
		return o, errors.New("--cache-nodes: not negative")
	}
	return o, nil
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	o, err := parse(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	level, err := zerolog.ParseLevel(o.logLevel)
	if err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	log := zerolog.New(zerolog.ConsoleWriter{Out: stderr, TimeFormat: time.TimeOnly}).Level(level).With().Timestamp().Logger()

	shutdownTraces, err := telemetry.Setup(ctx, "geocluster", getenv, stdout)
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = shutdownTraces(sctx)
	}()
	topo, err := events.LoadTopology(getenv)
	if err != nil {
		return err
	}
	cfg := onebox.DefaultConfig()
	// The services read their own GEO_<SERVICE>_* settings, as they do
	// when they run as separate processes.
	if cfg.Worker, err = worker.LoadConfig(getenv); err != nil {
		return err
	}
	if cfg.Scheduler, err = scheduler.LoadConfig(getenv); err != nil {
		return err
	}
	if cfg.Cache, err = cache.LoadConfig(getenv); err != nil {
		return err
	}
	if o.cmd == "demo" && len(cfg.Worker.DataDirs) == 0 {
		if abs, err := filepath.Abs(o.demoData); err == nil {
			cfg.Worker.DataDirs = []string{abs}
		}
	}
	if cfg.MonitorConfig, err = monitor.LoadConfig(getenv); err != nil {
		return err
	}
	cfg.Monitor, cfg.MonitorConfig.HTTPAddr = o.monitor != "", o.monitor
	cfg.CacheNodes = o.caches
	cfg.DataDir, cfg.Memory = o.dataDir, o.memory
	cfg.Host, cfg.Port, cfg.HTTPPort = o.host, o.port, o.httpPort
	cfg.Workers, cfg.Topology, cfg.Log = o.workers, topo, log
	cl, err := onebox.Start(ctx, cfg)
	if err != nil {
		return err
	}
	storage := "file storage in " + o.dataDir
	switch {
	case o.memory:
		storage = "memory storage"
	case o.dataDir == "":
		storage = "file storage in a temporary directory"
	}
	fmt.Fprintf(stdout, "geocluster: NATS JetStream on %s (%s), scheduler + %d workers + %d tile cache nodes\n", cl.URL(), storage, o.workers, o.caches)
	if a := cl.MonitorAddr(); a != "" {
		fmt.Fprintf(stdout, "geocluster: dashboard on http://%s/ (Prometheus metrics on /metrics, alerts on geo.alerts.>)\n", a)
	}
	if o.httpPort != 0 {
		fmt.Fprintf(stdout, "geocluster: NATS monitoring on http://%s/\n", cl.Server.MonitorAddr())
	}
	if o.cmd == "demo" {
		err = runDemo(ctx, cl, o, stdout, stderr)
	} else {
		fmt.Fprintf(stdout, "geocluster: submit with `geoctl --server %s submit examples/diamond.yaml --watch`; Ctrl-C stops\n", cl.URL())
		<-ctx.Done()
	}
	return errors.Join(err, cl.Stop())
}
