package main

import (
	"cmp"
	"fmt"
	"io"
	"slices"

	"github.com/spf13/cobra"

	"github.com/geocluster/geocluster/libs/events"
)

// maxListLimit is the most jobs the list API returns.
const maxListLimit = 1000

func (a *app) listCommand() *cobra.Command {
	var (
		limit int
		state string
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the tenant's jobs, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if limit < 1 || limit > maxListLimit {
				return fmt.Errorf("--limit: must be 1 to %d, got %d", maxListLimit, limit)
			}
			if err := checkJobState(state); err != nil {
				return err
			}
			return a.withClient(func(c *client) error {
				var reply events.ListReply
				req := events.ListRequest{Limit: limit, State: events.JobState(state)}
				if err := c.request(cmd.Context(), events.APIVerbList, req, &reply); err != nil {
					return err
				}
				if a.opts.json {
					return printJSON(a.stdout, reply)
				}
				return printJobs(a.stdout, reply.Jobs)
			})
		},
	}
	cmd.Flags().IntVarP(&limit, "limit", "n", 50, "most jobs to list")
	cmd.Flags().StringVar(&state, "state", "", "only jobs in this state (accepted, running, succeeded, failed, cancelled)")
	return cmd
}

// checkJobState accepts "" (any) and the states a stored job can be in.
func checkJobState(s string) error {
	switch events.JobState(s) {
	case "", events.JobAccepted, events.JobRunning, events.JobSucceeded, events.JobFailed, events.JobCancelled:
		return nil
	}
	return fmt.Errorf("--state: %q is not accepted, running, succeeded, failed or cancelled", s)
}

// printJobs writes a table of jobs, newest first.
func printJobs(w io.Writer, jobs []events.JobRecord) error {
	if len(jobs) == 0 {
		fmt.Fprintln(w, "no jobs")
		return nil
	}
	jobs = slices.Clone(jobs)
	slices.SortStableFunc(jobs, func(x, y events.JobRecord) int {
		return cmp.Compare(y.SubmittedAt.UnixNano(), x.SubmittedAt.UnixNano())
	})
	tw := newTable(w)
	row(tw, "ID", "NAME", "STATE", "DONE", "SUBMITTED")
	for _, j := range jobs {
		row(tw, j.ID, cell(j.Name), string(j.State), progressOf(j), clock(j.SubmittedAt))
	}
	return tw.Flush()
}
