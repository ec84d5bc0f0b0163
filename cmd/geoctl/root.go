package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"

	"github.com/geocluster/geocluster/libs/events"
)

// Environment variables that set the defaults of the global flags.
const (
	envServer = "NATS_URL"
	envTenant = "GEO_TENANT"
)

// options are the global flags every command shares.
type options struct {
	// server is the NATS URL (--server, NATS_URL, nats://127.0.0.1:4222).
	server string
	// tenant owns the jobs addressed (--tenant, GEO_TENANT, "default").
	tenant string
	// timeout bounds each request and lookup (--timeout, 10s).
	timeout time.Duration
	// json prints machine-readable JSON instead of tables (--json, false).
	json bool
}

// Validate returns every problem of o at once.
func (o options) Validate() error {
	var errs []error
	if o.server == "" {
		errs = append(errs, errors.New("--server: must not be empty"))
	}
	if !events.ValidToken(o.tenant) {
		errs = append(errs, fmt.Errorf("--tenant: %q may contain only letters, digits, '-' and '_' (1 to %d)", o.tenant, events.MaxTokenLen))
	}
	if o.timeout <= 0 {
		errs = append(errs, fmt.Errorf("--timeout: must be positive, got %s", o.timeout))
	}
	return errors.Join(errs...)
}

// app is one invocation of geoctl: its flags and its standard streams.
type app struct {
	opts   options
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

// run executes the command line args (without the program name).
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr}
	root := a.rootCommand(getenv)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	return root.ExecuteContext(ctx)
}

func (a *app) rootCommand(getenv func(string) string) *cobra.Command {
	root := &cobra.Command{
		Use:   "geoctl",
		Short: "Submit and follow geocluster jobs",
		Long: "geoctl talks to a geocluster over NATS: it submits jobs to the scheduler's API,\n" +
			"watches their progress in the geo_jobs bucket and reads the EVENTS and DLQ streams.",
		SilenceErrors: true,
		SilenceUsage:  true,
		PersistentPreRunE: func(*cobra.Command, []string) error {
			return a.opts.Validate()
		},
	}
	root.CompletionOptions.HiddenDefaultCmd = true
	f := root.PersistentFlags()
	f.StringVar(&a.opts.server, "server", envOr(getenv, envServer, nats.DefaultURL), "NATS server URL (env "+envServer+")")
	f.StringVar(&a.opts.tenant, "tenant", envOr(getenv, envTenant, events.DefaultTenant), "tenant of the jobs (env "+envTenant+")")
	f.DurationVar(&a.opts.timeout, "timeout", 10*time.Second, "timeout of each request")
	f.BoolVar(&a.opts.json, "json", false, "print JSON instead of tables")
	root.AddCommand(
		a.submitCommand(),
		a.watchCommand(),
		a.getCommand(),
		a.listCommand(),
		a.cancelCommand(),
		a.workersCommand(),
		a.eventsCommand(),
		a.dlqCommand(),
		a.pipelineCommand(),
		a.alertsCommand(),
	)
	return root
}

func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}

// client is a connection to the cluster for one command.
type client struct {
	nc      *nats.Conn
	js      jetstream.JetStream
	server  string
	tenant  string
	timeout time.Duration
	closed  chan struct{}
}

// connect opens the connection every command uses; Close drains it.
func (a *app) connect() (*client, error) {
	c := &client{
		server:  a.opts.server,
		tenant:  a.opts.tenant,
		timeout: a.opts.timeout,
		closed:  make(chan struct{}),
	}
	nc, err := nats.Connect(c.server,
		nats.Name("geoctl"),
		nats.Timeout(c.timeout),
		nats.ClosedHandler(func(*nats.Conn) { close(c.closed) }),
	)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", c.server, err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	c.nc, c.js = nc, js
	return c, nil
}

// Close drains the connection and waits until it is closed.
func (c *client) Close() {
	if err := c.nc.Drain(); err != nil {
		c.nc.Close()
	}
	select {
	case <-c.closed:
	case <-time.After(c.timeout):
		c.nc.Close()
		<-c.closed
	}
}

// bucket opens a KV bucket of the platform.
func (c *client) bucket(ctx context.Context, name string) (jetstream.KeyValue, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	kv, err := c.js.KeyValue(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("open bucket %s at %s: %w%s", name, c.server, err, notProvisioned(err))
	}
	return kv, nil
}

// orderedConsumer creates an ordered (ephemeral, flow-controlled) consumer
// on stream.
func (c *client) orderedConsumer(ctx context.Context, stream string, cfg jetstream.OrderedConsumerConfig) (jetstream.Consumer, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	cons, err := c.js.OrderedConsumer(ctx, stream, cfg)
	if err != nil {
		return nil, fmt.Errorf("read stream %s at %s: %w%s", stream, c.server, err, notProvisioned(err))
	}
	return cons, nil
}

// notProvisioned hints at the cause of a missing stream or bucket.
func notProvisioned(err error) string {
	if errors.Is(err, jetstream.ErrStreamNotFound) || errors.Is(err, jetstream.ErrBucketNotFound) {
		return " (is the cluster provisioned? every geocluster service creates the topology at start)"
	}
	return ""
}

// withClient runs fn with a connected client and closes it afterwards.
func (a *app) withClient(fn func(c *client) error) error {
	c, err := a.connect()
	if err != nil {
		return err
	}
	defer c.Close()
	return fn(c)
}

// argsOf returns a cobra argument check that names the expected arguments.
func argsOf(names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != len(names) {
			return fmt.Errorf("usage: %s (see %s --help)", cmd.UseLine(), cmd.CommandPath())
		}
		return nil
	}
}

// checkJobID rejects an id that cannot be a subject token or key segment.
func checkJobID(id string) error {
	if !events.ValidToken(id) {
		return fmt.Errorf("job id %q: may contain only letters, digits, '-' and '_' (1 to %d)", id, events.MaxTokenLen)
	}
	return nil
}
