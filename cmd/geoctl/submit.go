package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"github.com/geocluster/geocluster/libs/events"
)

func (a *app) submitCommand() *cobra.Command {
	var (
		watch bool
		id    string
		wopts watchOptions
	)
	cmd := &cobra.Command{
		Use:   "submit FILE",
		Short: "Submit a job file (JSON or YAML; - reads stdin) and print its id",
		Long: "submit sends a job (a DAG of tasks, see libs/events.JobSpec) to the scheduler's\n" +
			"API and prints the job id on stdout. FILE is JSON or YAML: .yaml/.yml files and\n" +
			"content that does not start with '{' are read as YAML. With --watch it then\n" +
			"follows the job like 'geoctl watch' and exits non-zero unless it succeeds.",
		Args: argsOf("FILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if id != "" {
				if err := checkJobID(id); err != nil {
					return fmt.Errorf("--id: %w", err)
				}
			}
			if err := wopts.Validate(); err != nil {
				return err
			}
			body, err := a.readJob(args[0], id)
			if err != nil {
				return err
			}
			return a.withClient(func(c *client) error {
				var reply events.SubmitReply
				if err := c.request(cmd.Context(), events.APIVerbSubmit, body, &reply); err != nil {
					return err
				}
				if a.opts.json {
					if err := printJSON(a.stdout, reply); err != nil {
						return err
					}
				} else {
					fmt.Fprintln(a.stdout, reply.JobID)
				}
				if reply.Duplicate {
					fmt.Fprintf(a.stderr, "job %s was already submitted (duplicate id)\n", reply.JobID)
				}
				if !watch {
					return nil
				}
				if err := checkJobID(reply.JobID); err != nil {
					return fmt.Errorf("submit reply: %w", err)
				}
				wopts.submitSeq = reply.Seq
				return a.watchJob(cmd.Context(), c, reply.JobID, wopts)
			})
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&watch, "watch", "w", false, "follow the job until it ends")
	f.StringVar(&id, "id", "", "job id to use instead of the file's (letters, digits, '-', '_')")
	wopts.addFlags(cmd)
	return cmd
}

// readJob reads a job file ("-" for stdin), turns YAML into JSON, checks
// that it decodes as a job and, when id is set, replaces the job's id.
func (a *app) readJob(path, id string) ([]byte, error) {
	var (
		raw []byte
		err error
	)
	if path == "-" {
		raw, err = io.ReadAll(a.stdin)
	} else {
		raw, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("read job: %w", err)
	}
	name := path
	if path == "-" {
		name = "stdin"
	}
	body, err := jobJSON(path, raw, id)
	if err != nil {
		return nil, fmt.Errorf("job file %s: %w", name, err)
	}
	return body, nil
}

// jobJSON returns the JSON job encoded in raw, JSON or YAML. The job is
// decoded strictly (unknown fields are errors naming the field) but not
// validated: the scheduler validates against its own op catalog. Without an
// id override the bytes are sent as written.
func jobJSON(path string, raw []byte, id string) ([]byte, error) {
	data := raw
	if isYAML(path, raw) {
		var err error
		if data, err = yaml.YAMLToJSON(raw); err != nil {
			return nil, fmt.Errorf("parse YAML: %w", err)
		}
	}
	job, err := events.DecodeJob(data)
	if err != nil {
		return nil, err
	}
	if id == "" {
		return bytes.TrimSpace(data), nil
	}
	job.ID = id
	out, err := json.Marshal(job)
	if err != nil {
		return nil, fmt.Errorf("encode job: %w", err)
	}
	return out, nil
}

// isYAML says whether a job file is YAML: by its extension, else by its
// content (a JSON job is an object, so it starts with '{').
func isYAML(path string, raw []byte) bool {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".yaml", ".yml":
		return true
	case ".json":
		return false
	}
	trimmed := bytes.TrimLeft(raw, " \t\r\n\ufeff")
	return !bytes.HasPrefix(trimmed, []byte("{"))
}
