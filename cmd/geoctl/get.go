package main

import (
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/geocluster/geocluster/libs/events"
)

func (a *app) getCommand() *cobra.Command {
	var tasks bool
	cmd := &cobra.Command{
		Use:   "get JOB_ID",
		Short: "Show a job and, with --tasks, its tasks",
		Args:  argsOf("JOB_ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkJobID(args[0]); err != nil {
				return err
			}
			return a.withClient(func(c *client) error {
				var reply events.GetReply
				req := events.GetRequest{JobID: args[0], Tasks: tasks}
				if err := c.request(cmd.Context(), events.APIVerbGet, req, &reply); err != nil {
					return err
				}
				if a.opts.json {
					return printJSON(a.stdout, reply)
				}
				return printJob(a.stdout, time.Now(), reply, tasks)
			})
		},
	}
	cmd.Flags().BoolVar(&tasks, "tasks", false, "show the job's tasks too")
	return cmd
}

// printJob writes a job as "field: value" lines and then, when asked, a
// table of its tasks.
func printJob(w io.Writer, now time.Time, reply events.GetReply, tasks bool) error {
	j := reply.Job
	tw := newTable(w)
	row(tw, "ID:", j.ID)
	row(tw, "Name:", cell(j.Name))
	row(tw, "Tenant:", j.Tenant)
	row(tw, "State:", string(j.State))
	row(tw, "Priority:", string(j.Priority))
	row(tw, "On failure:", string(j.OnFailure))
	row(tw, "Tasks:", fmt.Sprintf("%s done: %s", progressOf(j), countsLine(j.Counts)))
	row(tw, "Submitted:", fmt.Sprintf("%s (%s ago)", clock(j.SubmittedAt), age(now, j.SubmittedAt)))
	row(tw, "Updated:", clock(j.UpdatedAt))
	if j.FinishedAt != nil {
		row(tw, "Finished:", clock(*j.FinishedAt))
	}
	row(tw, "Duration:", duration(j).String())
	row(tw, "Labels:", labels(j.Labels))
	if j.Error != "" {
		row(tw, "Error:", j.Error)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if !tasks {
		return nil
	}
	fmt.Fprintln(w)
	if len(reply.Tasks) == 0 {
		fmt.Fprintln(w, "no tasks")
		return nil
	}
	tw = newTable(w)
	row(tw, "TASK", "OP", "STATE", "ATTEMPT", "WORKER", "UPDATED", "LAST ERROR")
	for _, t := range reply.Tasks {
		lastErr := ""
		if n := len(t.Errors); n > 0 {
			lastErr = t.Errors[n-1].Error
		}
		attempt := strconv.Itoa(t.Attempt)
		if t.Spec.MaxAttempts > 0 {
			attempt += "/" + strconv.Itoa(t.Spec.MaxAttempts)
		}
		row(tw, t.Spec.ID, t.Spec.Op, string(t.State), attempt, cell(t.WorkerID), clock(t.UpdatedAt), cell(lastErr))
	}
	return tw.Flush()
}
