package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"

	"github.com/geocluster/geocluster/libs/events"
)

func (a *app) workersCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "workers",
		Short: "List the live workers",
		Long: "workers lists the registrations in the geo_workers bucket: a worker refreshes\n" +
			"its entry every heartbeat and the bucket's TTL removes a silent one.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withClient(func(c *client) error {
				workers, err := c.workers(cmd.Context())
				if err != nil {
					return err
				}
				if a.opts.json {
					return printJSON(a.stdout, workers)
				}
				return printWorkers(a.stdout, time.Now(), workers)
			})
		},
	}
}

// workers reads every live worker registration, sorted by pool and id.
func (c *client) workers(ctx context.Context) ([]events.WorkerInfo, error) {
	kv, err := c.bucket(ctx, events.BucketWorkers)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	w, err := kv.WatchAll(ctx, jetstream.IgnoreDeletes())
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", events.BucketWorkers, err)
	}
	defer w.Stop()
	out := []events.WorkerInfo{}
	for {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("read %s: %w", events.BucketWorkers, ctx.Err())
		case e, ok := <-w.Updates():
			if !ok {
				return nil, fmt.Errorf("read %s: the watcher stopped", events.BucketWorkers)
			}
			if e == nil { // every stored value was delivered
				slices.SortFunc(out, func(x, y events.WorkerInfo) int {
					return cmp.Or(cmp.Compare(x.Pool, y.Pool), cmp.Compare(x.ID, y.ID))
				})
				return out, nil
			}
			var wi events.WorkerInfo
			if err := json.Unmarshal(e.Value(), &wi); err != nil {
				return nil, fmt.Errorf("decode worker %s: %w", e.Key(), err)
			}
			out = append(out, wi)
		}
	}
}

// printWorkers writes a table of workers.
func printWorkers(w io.Writer, now time.Time, workers []events.WorkerInfo) error {
	if len(workers) == 0 {
		fmt.Fprintln(w, "no live workers")
		return nil
	}
	tw := newTable(w)
	row(tw, "ID", "POOL", "STATE", "RUNNING", "COMPLETED", "FAILED", "LABELS", "OPS", "HEARTBEAT")
	for _, wi := range workers {
		row(tw, wi.ID, wi.Pool, string(wi.State),
			fmt.Sprintf("%d/%d", wi.Running, wi.Capacity),
			strconv.FormatUint(wi.Completed, 10), strconv.FormatUint(wi.Failed, 10),
			labels(wi.Labels), cell(strings.Join(wi.Ops, ",")), age(now, wi.HeartbeatAt)+" ago")
	}
	return tw.Flush()
}
