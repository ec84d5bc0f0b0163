package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"

	"github.com/geocluster/geocluster/libs/events"
)

func (a *app) dlqCommand() *cobra.Command {
	var (
		limit      int
		allTenants bool
	)
	cmd := &cobra.Command{
		Use:   "dlq",
		Short: "Show dead letters: tasks that used all their attempts",
		Long: "dlq prints the newest dead letters of the DLQ stream, oldest first: the job,\n" +
			"the task, its attempts and its last error.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if limit < 1 {
				return fmt.Errorf("--limit: must be at least 1, got %d", limit)
			}
			return a.withClient(func(c *client) error {
				letters, err := c.deadLetters(cmd.Context(), limit, allTenants)
				if err != nil {
					return err
				}
				if a.opts.json {
					return printJSON(a.stdout, letters)
				}
				return printDeadLetters(a.stdout, letters, allTenants)
			})
		},
	}
	cmd.Flags().IntVarP(&limit, "limit", "n", 100, "most dead letters to show (the newest)")
	cmd.Flags().BoolVar(&allTenants, "all-tenants", false, "the dead letters of every tenant")
	return cmd
}

// deadLetters reads the newest limit dead letters of the tenant (or of every
// tenant), oldest first.
func (c *client) deadLetters(ctx context.Context, limit int, allTenants bool) ([]events.DeadLetter, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	stream, err := c.js.Stream(ctx, events.StreamDLQ)
	if err != nil {
		return nil, fmt.Errorf("read stream %s at %s: %w%s", events.StreamDLQ, c.server, err, notProvisioned(err))
	}
	st := stream.CachedInfo().State
	out := []events.DeadLetter{}
	if st.Msgs == 0 {
		return out, nil
	}
	cfg := jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverAllPolicy}
	if !allTenants {
		cfg.FilterSubjects = []string{events.TenantDLQFilter(c.tenant)}
	}
	if allTenants && st.LastSeq-st.FirstSeq >= uint64(limit) {
		cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, st.LastSeq-uint64(limit)+1
	}
	cons, err := stream.OrderedConsumer(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("read stream %s: %w", events.StreamDLQ, err)
	}
	it, err := cons.Messages()
	if err != nil {
		return nil, fmt.Errorf("read stream %s: %w", events.StreamDLQ, err)
	}
	defer it.Stop()
	for {
		m, err := it.Next(jetstream.NextContext(ctx))
		if err != nil {
			return nil, fmt.Errorf("read stream %s: %w", events.StreamDLQ, err)
		}
		var dl events.DeadLetter
		if json.Unmarshal(m.Data(), &dl) == nil && (allTenants || dl.Task.Tenant == c.tenant) {
			out = append(out, dl)
			if len(out) > limit {
				out = out[1:]
			}
		}
		meta, err := m.Metadata()
		if err != nil {
			return nil, fmt.Errorf("read stream %s: %w", events.StreamDLQ, err)
		}
		if meta.NumPending == 0 || meta.Sequence.Stream >= st.LastSeq {
			return out, nil
		}
	}
}

// printDeadLetters writes a table of dead letters.
func printDeadLetters(w io.Writer, letters []events.DeadLetter, withTenant bool) error {
	if len(letters) == 0 {
		fmt.Fprintln(w, "no dead letters")
		return nil
	}
	tw := newTable(w)
	head := []string{"DEAD AT", "JOB", "TASK", "OP", "PRIORITY", "ATTEMPTS", "LAST ERROR"}
	if withTenant {
		head = append([]string{"TENANT"}, head...)
	}
	row(tw, head...)
	for _, dl := range letters {
		cells := []string{clock(dl.At), dl.Task.JobID, dl.Task.TaskID, dl.Task.Op, string(dl.Task.Priority),
			strconv.Itoa(dl.Attempts), cell(dl.LastError)}
		if withTenant {
			cells = append([]string{dl.Task.Tenant}, cells...)
		}
		row(tw, cells...)
	}
	return tw.Flush()
}
