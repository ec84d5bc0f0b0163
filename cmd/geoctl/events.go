package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"

	"github.com/geocluster/geocluster/libs/events"
)

// eventsOptions are the flags of the events command.
type eventsOptions struct {
	job        string        // --job: one job's events
	allTenants bool          // --all-tenants: every event and worker event
	workers    bool          // --workers: worker lifecycle events too
	since      time.Duration // --since: events of the last duration
	onlyNew    bool          // --new: only events published from now on
}

func (a *app) eventsCommand() *cobra.Command {
	var o eventsOptions
	cmd := &cobra.Command{
		Use:   "events",
		Short: "Tail lifecycle events until interrupted",
		Long: "events prints the EVENTS stream, one line per event: time, subject, state,\n" +
			"job/task or worker, attempt and error (with --json the raw event). By default it\n" +
			"starts at the oldest stored event of the tenant; --since and --new start later.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.job != "" {
				if err := checkJobID(o.job); err != nil {
					return fmt.Errorf("--job: %w", err)
				}
			}
			if o.since < 0 {
				return fmt.Errorf("--since: must not be negative, got %s", o.since)
			}
			return a.withClient(func(c *client) error {
				return a.tailEvents(cmd.Context(), c, o)
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.job, "job", "", "only the events of this job")
	f.BoolVar(&o.allTenants, "all-tenants", false, "the events of every tenant and of the workers")
	f.BoolVar(&o.workers, "workers", false, "worker lifecycle events too")
	f.DurationVar(&o.since, "since", 0, "start with the events of this last duration (e.g. 10m)")
	f.BoolVar(&o.onlyNew, "new", false, "only events published from now on")
	cmd.MarkFlagsMutuallyExclusive("since", "new")
	cmd.MarkFlagsMutuallyExclusive("job", "all-tenants")
	return cmd
}

// filters returns the EVENTS subjects o selects for tenant.
func (o eventsOptions) filters(tenant string) []string {
	workers := events.AllWorkerEvents
	switch {
	case o.allTenants:
		return events.EventsStreamSubjects
	case o.job != "":
		return []string{events.JobEventsFilter(tenant, o.job)}
	case o.workers:
		return []string{events.TenantEventsFilter(tenant), workers}
	}
	return []string{events.TenantEventsFilter(tenant)}
}

// tailEvents prints the selected events until ctx ends, then returns nil.
func (a *app) tailEvents(ctx context.Context, c *client, o eventsOptions) error {
	cfg := jetstream.OrderedConsumerConfig{FilterSubjects: o.filters(c.tenant), DeliverPolicy: jetstream.DeliverAllPolicy}
	switch {
	case o.onlyNew:
		cfg.DeliverPolicy = jetstream.DeliverNewPolicy
	case o.since > 0:
		start := time.Now().Add(-o.since)
		cfg.DeliverPolicy, cfg.OptStartTime = jetstream.DeliverByStartTimePolicy, &start
	}
	cons, err := c.orderedConsumer(ctx, events.StreamEvents, cfg)
	if err != nil {
		return err
	}
	failed := make(chan error, 1)
	cc, err := cons.Consume(func(m jetstream.Msg) {
		if err := a.printEvent(m); err != nil {
			select {
			case failed <- err:
			default:
			}
		}
	})
	if err != nil {
		return fmt.Errorf("consume %s: %w", events.StreamEvents, err)
	}
	defer func() {
		cc.Stop()
		<-cc.Closed()
	}()
	select {
	case <-ctx.Done():
		return nil
	case err := <-failed:
		return err
	}
}

// eventLine holds the fields of task, job and worker events that a line shows.
type eventLine struct {
	JobID    string    `json:"job_id"`
	TaskID   string    `json:"task_id"`
	WorkerID string    `json:"worker_id"`
	State    string    `json:"state"`
	Attempt  int       `json:"attempt"`
	Error    string    `json:"error"`
	Field    string    `json:"field"`
	At       time.Time `json:"at"`
}

// printEvent writes one event: the compact raw JSON with --json, else a line.
func (a *app) printEvent(m jetstream.Msg) error {
	if a.opts.json {
		var buf bytes.Buffer
		if err := json.Compact(&buf, m.Data()); err != nil {
			buf.Reset()
			buf.Write(bytes.TrimSpace(m.Data()))
		}
		buf.WriteByte('\n')
		_, err := a.stdout.Write(buf.Bytes())
		return err
	}
	_, err := io.WriteString(a.stdout, formatEvent(m)+"\n")
	return err
}

// formatEvent renders an event as: time  subject  state  who  details.
func formatEvent(m jetstream.Msg) string {
	var e eventLine
	if err := json.Unmarshal(m.Data(), &e); err != nil {
		return fmt.Sprintf("%s  %s  undecodable event: %v", clockMilli(time.Now()), m.Subject(), err)
	}
	at := e.At
	if meta, err := m.Metadata(); at.IsZero() && err == nil {
		at = meta.Timestamp
	}
	who := e.JobID
	switch {
	case e.TaskID != "":
		who += "/" + e.TaskID
	case who == "":
		who = e.WorkerID
	}
	parts := []string{clockMilli(at), m.Subject(), cell(e.State), cell(who)}
	if e.WorkerID != "" && e.WorkerID != who {
		parts = append(parts, "worker="+e.WorkerID)
	}
	if e.Attempt > 0 {
		parts = append(parts, "attempt="+strconv.Itoa(e.Attempt))
	}
	if msg := e.Error; msg != "" {
		if e.Field != "" {
			msg = e.Field + ": " + msg
		}
		parts = append(parts, "error="+strconv.Quote(msg))
	}
	return strings.Join(parts, "  ")
}

func clockMilli(t time.Time) string { return t.Local().Format(timeLayout + ".000") }
