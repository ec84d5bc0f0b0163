package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"

	"github.com/geocluster/geocluster/internal/progress"
	"github.com/geocluster/geocluster/libs/events"
)

func (a *app) watchCommand() *cobra.Command {
	var o watchOptions
	cmd := &cobra.Command{
		Use:   "watch JOB_ID",
		Short: "Follow a job until it ends; exit non-zero unless it succeeded",
		Long: "watch follows the job's record in the geo_jobs bucket, shows its progress on\n" +
			"stderr and prints a summary when the job ends. It waits --wait for a job that\n" +
			"is not stored yet and reports a job the scheduler rejected. The exit status is\n" +
			"0 only when the job succeeded.",
		Args: argsOf("JOB_ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkJobID(args[0]); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			return a.withClient(func(c *client) error {
				return a.watchJob(cmd.Context(), c, args[0], o)
			})
		},
	}
	o.addFlags(cmd)
	return cmd
}

// watchJob follows job id until it is terminal, rejected, not found within
// o.wait, or ctx ends. It returns nil only when the job succeeded.
func (a *app) watchJob(ctx context.Context, c *client, id string, o watchOptions) error {
	key := events.JobKey(c.tenant, id)
	kv, err := c.bucket(ctx, events.BucketJobs)
	if err != nil {
		return err
	}
	w, err := kv.Watch(ctx, key)
	if err != nil {
		return fmt.Errorf("watch %s %s: %w", events.BucketJobs, key, err)
	}
	defer w.Stop()
	rejections, stop, err := c.rejections(ctx, id)
	if err != nil {
		return err
	}
	defer stop()

	p := progress.New(o.progress, a.stderr)
	defer p.Close()
	appear := time.NewTimer(o.wait)
	defer appear.Stop()
	appeared := appear.C
	tick := time.NewTicker(progress.TickInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return fmt.Errorf("watch %s: %w", id, ctx.Err())
		case e, ok := <-w.Updates():
			switch {
			case !ok && ctx.Err() != nil:
				return fmt.Errorf("watch %s: %w", id, ctx.Err())
			case !ok:
				return fmt.Errorf("watch %s: the watcher stopped", id)
			case e == nil: // every stored value was delivered
				continue
			case e.Operation() != jetstream.KeyValuePut:
				return fmt.Errorf("job %s: its record was removed from %s", id, events.BucketJobs)
			}
			var rec events.JobRecord
			if err := json.Unmarshal(e.Value(), &rec); err != nil {
				return fmt.Errorf("decode job record %s: %w", key, err)
			}
			appeared = nil
			p.Update(rec)
			if rec.State.Terminal() {
				p.Close()
				return a.finish(rec)
			}
		case ev := <-rejections:
			if appeared == nil || (o.submitSeq != 0 && ev.SubmitSeq != 0 && ev.SubmitSeq < o.submitSeq) {
				continue // the rejection of an earlier submission with the same id
			}
			if _, err := kv.Get(ctx, key); err == nil {
				continue // stored after all: the watcher delivers it next
			}
			p.Close()
			return a.rejected(id, ev)
		case <-appeared:
			return fmt.Errorf("job %s not found in tenant %q after %s: was it submitted, and is the scheduler at %s running?",
				id, c.tenant, o.wait, c.server)
		case <-tick.C:
			p.Tick()
		}
	}
}

// rejections delivers the rejection events of job id, past and future. stop
// ends the delivery and waits for it.
func (c *client) rejections(ctx context.Context, id string) (<-chan events.JobEvent, func(), error) {
	cons, err := c.orderedConsumer(ctx, events.StreamEvents, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{events.JobEventSubject(c.tenant, id, events.JobRejected)},
		DeliverPolicy:  jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return nil, nil, err
	}
	out := make(chan events.JobEvent)
	done := make(chan struct{})
	cc, err := cons.Consume(func(m jetstream.Msg) {
		ev, err := events.DecodeJobEvent(m.Data())
		if err != nil {
			return // not a job event: nothing to report on
		}
		select {
		case out <- ev:
		case <-done:
		}
	})
	if err != nil {
		return nil, nil, fmt.Errorf("consume %s: %w", events.StreamEvents, err)
	}
	stop := func() {
		close(done)
		cc.Stop()
		<-cc.Closed()
	}
	return out, stop, nil
}

// finish prints the summary of a terminal job and returns an error unless
// it succeeded.
func (a *app) finish(rec events.JobRecord) error {
	if a.opts.json {
		if err := printJSON(a.stdout, rec); err != nil {
			return err
		}
	} else if err := printSummary(a.stdout, rec); err != nil {
		return err
	}
	if rec.State == events.JobSucceeded {
		return nil
	}
	if rec.Error != "" {
		return fmt.Errorf("job %s %s: %s", rec.ID, rec.State, rec.Error)
	}
	return fmt.Errorf("job %s %s", rec.ID, rec.State)
}

// rejected reports a job the scheduler refused to store.
func (a *app) rejected(id string, ev events.JobEvent) error {
	if a.opts.json {
		if err := printJSON(a.stdout, ev); err != nil {
			return err
		}
	}
	msg := ev.Error
	if msg == "" {
		msg = "no reason given"
	}
	return errors.New("job " + id + " rejected: " + withField(ev.Field, msg))
}

// watchOptions are the flags of watch that submit --watch shares.
type watchOptions struct {
	// wait is how long to wait for the job to appear (--wait, 30s).
	wait time.Duration
	// progress is auto, bar, plain or none (--progress, auto).
	progress string
	// submitSeq is the JOBS sequence of the submission being watched (0:
	// unknown); rejections of earlier submissions are ignored.
	submitSeq uint64
}

func (o *watchOptions) addFlags(cmd *cobra.Command) {
	cmd.Flags().DurationVar(&o.wait, "wait", 30*time.Second, "how long to wait for the job to appear")
	cmd.Flags().StringVar(&o.progress, "progress", progress.Auto,
		"progress on stderr: auto (a bar on a terminal, plain lines otherwise), bar, plain, none")
}

// Validate returns every problem of o at once.
func (o watchOptions) Validate() error {
	var errs []error
	if o.wait <= 0 {
		errs = append(errs, fmt.Errorf("--wait: must be positive, got %s", o.wait))
	}
	switch o.progress {
	case progress.Auto, progress.Bar, progress.Plain, progress.None:
	default:
		errs = append(errs, fmt.Errorf("--progress: %q is not auto, bar, plain or none", o.progress))
	}
	return errors.Join(errs...)
}
