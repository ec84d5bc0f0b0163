package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/geocluster/geocluster/libs/events"
)

func (a *app) cancelCommand() *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use:   "cancel JOB_ID",
		Short: "Ask the scheduler to cancel a job",
		Long: "cancel stores a cancellation for the job; the scheduler stops releasing its\n" +
			"tasks and workers stop the ones running. Follow it with 'geoctl watch'.",
		Args: argsOf("JOB_ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkJobID(args[0]); err != nil {
				return err
			}
			return a.withClient(func(c *client) error {
				var reply events.CancelReply
				req := events.CancelRequest{V: events.Version, JobID: args[0], Reason: reason}
				if err := c.request(cmd.Context(), events.APIVerbCancel, req, &reply); err != nil {
					return err
				}
				if a.opts.json {
					return printJSON(a.stdout, reply)
				}
				fmt.Fprintf(a.stdout, "cancel of job %s requested\n", reply.JobID)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why the job is cancelled (recorded with the job)")
	return cmd
}
