package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"

	"github.com/geocluster/geocluster/libs/events"
	"github.com/geocluster/geocluster/libs/rules"
)

func (a *app) alertsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "alerts",
		Short: "Manage alert rules and follow alerts",
		Long: "Alert rules live in the geo_rules bucket, one JSON rule per key (its name); the\n" +
			"monitor reloads them on change and publishes alerts on geo.alerts.<severity>.<rule>,\n" +
			"kept by the ALERTS stream. Rules are validated before they are written: an error\n" +
			"names the field and, in an expression, the column of the bad token. The language is\n" +
			"described in docs/alerts.md.",
	}
	cmd.AddCommand(a.alertsListCommand(), a.alertsGetCommand(), a.alertsSetCommand(), a.alertsPutCommand(),
		a.alertsDeleteCommand(), a.alertsWatchCommand())
	return cmd
}

func (a *app) alertsListCommand() *cobra.Command {
	return &cobra.Command{
		Use: "list", Short: "List the alert rules", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withClient(func(c *client) error {
				list, err := c.rules(cmd.Context())
				if err != nil {
					return err
				}
				if a.opts.json {
					return printJSON(a.stdout, list)
				}
				if len(list) == 0 {
					_, err := fmt.Fprintln(a.stdout, "no alert rules")
					return err
				}
				tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "NAME\tSEVERITY\tFOR\tDETECTOR\tEXPR")
				for _, r := range list {
					det := "-"
					if r.Detector != nil {
						det = r.Detector.Type
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Name, r.Severity, r.For, det, r.Expr)
				}
				return tw.Flush()
			})
		},
	}
}

func (a *app) alertsGetCommand() *cobra.Command {
	return &cobra.Command{
		Use: "get NAME", Short: "Print an alert rule as stored", Args: argsOf("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withClient(func(c *client) error {
				kv, err := c.bucket(cmd.Context(), events.BucketRules)
				if err != nil {
					return err
				}
				e, err := kv.Get(cmd.Context(), args[0])
				if errors.Is(err, jetstream.ErrKeyNotFound) {
					return fmt.Errorf("no alert rule %q", args[0])
				}
				if err != nil {
					return fmt.Errorf("read rule %q: %w", args[0], err)
				}
				var v any
				if err := json.Unmarshal(e.Value(), &v); err != nil {
					return fmt.Errorf("rule %q is stored as invalid JSON: %w", args[0], err)
				}
				return printJSON(a.stdout, v)
			})
		},
	}
}

func (a *app) alertsSetCommand() *cobra.Command {
	var expr, forDur, severity, summary, detector string
	var labels []string
	cmd := &cobra.Command{
		Use:   "set NAME --expr EXPR [--for 2m] [--severity warning] [--label k=v]... [--summary TEXT] [--detector JSON]",
		Short: "Create or replace an alert rule",
		Example: `  geoctl alerts set hillshade_failures \
    --expr 'rate(geo_task_failed_total{op="tile_hillshade"}[1m]) / rate(geo_task_done_total[1m]) > 0.1' \
    --for 2m --severity critical --summary 'hillshade tiles failing'
  geoctl alerts set throughput_drop --expr 'rate(geo_task_done_total[1m])' --severity warning \
    --detector '{"type": "robust_z", "window": "10m", "threshold": 4, "direction": "down"}'`,
		Args: argsOf("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			def := map[string]any{"name": args[0], "expr": expr, "severity": severity}
			if forDur != "" {
				def["for"] = forDur
			}
			if summary != "" {
				def["summary"] = summary
			}
			if len(labels) > 0 {
				lm := map[string]string{}
				for _, l := range labels {
					k, v, ok := strings.Cut(l, "=")
					if !ok || k == "" {
						return fmt.Errorf("--label: %q is not key=value", l)
					}
					lm[k] = v
				}
				def["labels"] = lm
			}
			if detector != "" {
				var d any
				if err := json.Unmarshal([]byte(detector), &d); err != nil {
					return fmt.Errorf("--detector: not JSON: %w", err)
				}
				def["detector"] = d
			}
			data, err := json.Marshal(def)
			if err != nil {
				return err
			}
			return a.withClient(func(c *client) error { return a.writeRule(cmd.Context(), c, data) })
		},
	}
	f := cmd.Flags()
	f.StringVar(&expr, "expr", "", "the rule's expression (required)")
	f.StringVar(&forDur, "for", "", "how long the condition must hold before the alert fires (e.g. 2m)")
	f.StringVar(&severity, "severity", "warning", "critical, warning or info")
	f.StringVar(&summary, "summary", "", "what the alert means, for people")
	f.StringArrayVar(&labels, "label", nil, "a label of the rule's alerts, key=value (repeatable)")
	f.StringVar(&detector, "detector", "", "an anomaly detector as JSON: the expression is then the signal it watches")
	_ = cmd.MarkFlagRequired("expr")
	return cmd
}

func (a *app) alertsPutCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "put FILE",
		Short: "Create or replace alert rules from a JSON file (- for stdin)",
		Long:  "put reads one JSON rule, or an array of them, validates every one and writes them\nonly if all are valid.",
		Args:  argsOf("FILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var data []byte
			var err error
			if args[0] == "-" {
				data, err = io.ReadAll(io.LimitReader(a.stdin, 1<<20))
			} else {
				data, err = os.ReadFile(args[0])
			}
			if err != nil {
				return fmt.Errorf("read %s: %w", args[0], err)
			}
			var many []json.RawMessage
			if trimmed := strings.TrimSpace(string(data)); strings.HasPrefix(trimmed, "[") {
				if err := json.Unmarshal(data, &many); err != nil {
					return fmt.Errorf("%s: %w", args[0], err)
				}
			} else {
				many = []json.RawMessage{data}
			}
			var errs []error
			for _, raw := range many {
				if _, err := validateRule(raw); err != nil {
					errs = append(errs, err)
				}
			}
			if err := errors.Join(errs...); err != nil {
				return err
			}
			return a.withClient(func(c *client) error {
				for _, raw := range many {
					if err := a.writeRule(cmd.Context(), c, raw); err != nil {
						return err
					}
				}
				return nil
			})
		},
	}
}

func (a *app) alertsDeleteCommand() *cobra.Command {
	return &cobra.Command{
		Use: "delete NAME", Short: "Delete an alert rule (its firing alerts resolve)", Args: argsOf("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withClient(func(c *client) error {
				kv, err := c.bucket(cmd.Context(), events.BucketRules)
				if err != nil {
					return err
				}
				if _, err := kv.Get(cmd.Context(), args[0]); errors.Is(err, jetstream.ErrKeyNotFound) {
					return fmt.Errorf("no alert rule %q", args[0])
				}
				if err := kv.Delete(cmd.Context(), args[0]); err != nil {
					return fmt.Errorf("delete rule %q: %w", args[0], err)
				}
				_, err = fmt.Fprintf(a.stdout, "deleted alert rule %s\n", args[0])
				return err
			})
		},
	}
}

func (a *app) alertsWatchCommand() *cobra.Command {
	var history bool
	cmd := &cobra.Command{
		Use:   "watch",
		Short: "Print alerts as the monitor publishes them",
		Long:  "watch follows the ALERTS stream (geo.alerts.>) until interrupted; --history starts\nwith the alerts it keeps.",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withClient(func(c *client) error {
				cfg := jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverNewPolicy}
				if history {
					cfg.DeliverPolicy = jetstream.DeliverAllPolicy
				}
				cons, err := c.orderedConsumer(cmd.Context(), events.StreamAlerts, cfg)
				if err != nil {
					return err
				}
				it, err := cons.Messages()
				if err != nil {
					return err
				}
				go func() {
					<-cmd.Context().Done()
					it.Stop()
				}()
				for {
					m, err := it.Next()
					if err != nil {
						if cmd.Context().Err() != nil || errors.Is(err, jetstream.ErrMsgIteratorClosed) {
							return nil
						}
						return err
					}
					if err := a.printAlert(m.Subject(), m.Data()); err != nil {
						return err
					}
				}
			})
		},
	}
	cmd.Flags().BoolVar(&history, "history", false, "print the alerts ALERTS keeps first")
	return cmd
}

// alertLine is the part of an alert message watch prints.
type alertLine struct {
	Rule     string            `json:"rule"`
	Severity string            `json:"severity"`
	State    string            `json:"state"`
	Value    float64           `json:"value"`
	Summary  string            `json:"summary"`
	Labels   map[string]string `json:"labels"`
	At       time.Time         `json:"at"`
}

func (a *app) printAlert(subject string, data []byte) error {
	if a.opts.json {
		_, err := fmt.Fprintf(a.stdout, "%s\n", data)
		return err
	}
	var l alertLine
	if err := json.Unmarshal(data, &l); err != nil {
		_, err := fmt.Fprintf(a.stdout, "%s: undecodable alert: %v\n", subject, err)
		return err
	}
	var labels []string
	for k, v := range l.Labels {
		labels = append(labels, k+"="+v)
	}
	slices.Sort(labels)
	_, err := fmt.Fprintf(a.stdout, "%s %-8s %-8s %s value=%g %s %s\n", l.At.Local().Format(time.TimeOnly), strings.ToUpper(l.State),
		l.Severity, l.Rule, l.Value, strings.Join(labels, ","), l.Summary)
	return err
}

// validateRule checks a rule as the monitor will; an expression error is
// shown with a caret under the bad token.
func validateRule(data []byte) (rules.Rule, error) {
	r, err := rules.ParseRule(data)
	if err == nil {
		return r, nil
	}
	var pe *rules.ParseError
	if errors.As(err, &pe) && pe.Column > 0 {
		var def struct {
			Expr string `json:"expr"`
		}
		if json.Unmarshal(data, &def) == nil && pe.Column <= len(def.Expr)+1 {
			return rules.Rule{}, fmt.Errorf("%w\n  %s\n  %s^", err, def.Expr, strings.Repeat(" ", pe.Column-1))
		}
	}
	return rules.Rule{}, err
}

// writeRule validates a rule and stores it under its name.
func (a *app) writeRule(ctx context.Context, c *client, data []byte) error {
	r, err := validateRule(data)
	if err != nil {
		return err
	}
	stored, err := json.Marshal(r)
	if err != nil {
		return err
	}
	kv, err := c.bucket(ctx, events.BucketRules)
	if err != nil {
		return err
	}
	if _, err := kv.Put(ctx, r.Name, stored); err != nil {
		return fmt.Errorf("write rule %q: %w", r.Name, err)
	}
	_, err = fmt.Fprintf(a.stdout, "alert rule %s written\n", r.Name)
	return err
}

// rules reads every stored rule, sorted by name; one that does not
// validate is reported with its error rather than hidden.
func (c *client) rules(ctx context.Context) ([]rules.Rule, error) {
	kv, err := c.bucket(ctx, events.BucketRules)
	if err != nil {
		return nil, err
	}
	keys, err := kv.Keys(ctx)
	if errors.Is(err, jetstream.ErrNoKeysFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", events.BucketRules, err)
	}
	slices.Sort(keys)
	var out []rules.Rule
	var errs []error
	for _, k := range keys {
		e, err := kv.Get(ctx, k)
		if err != nil {
			continue // deleted since the listing
		}
		r, err := rules.ParseRule(e.Value())
		if err != nil {
			errs = append(errs, fmt.Errorf("stored rule %q is invalid (the monitor refuses it): %w", k, err))
			continue
		}
		out = append(out, r)
	}
	return out, errors.Join(errs...)
}
