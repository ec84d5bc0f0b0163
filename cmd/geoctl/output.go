package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/geocluster/geocluster/libs/events"
)

// timeLayout is how tables show a time, in the local zone.
const timeLayout = "2006-01-02 15:04:05"

// maxCell bounds free text (errors) in a table cell.
const maxCell = 80

// printJSON writes v as indented JSON and a newline.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write JSON: %w", err)
	}
	return nil
}

// newTable returns a tabwriter for a table; Flush it when done.
func newTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
}

// row writes one tab-separated table row.
func row(w io.Writer, cells ...string) {
	fmt.Fprintln(w, strings.Join(cells, "\t"))
}

// cell makes free text fit one table cell: one line, at most maxCell runes,
// "-" when empty.
func cell(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if s == "" {
		return "-"
	}
	if r := []rune(s); len(r) > maxCell {
		return string(r[:maxCell-1]) + "…"
	}
	return s
}

// clock formats t for a table, "-" when zero.
func clock(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format(timeLayout)
}

// age is how long ago t was, rounded for people: 3s, 4m10s, 2h5m, 3d4h.
func age(now, t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := max(now.Sub(t), 0).Round(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm%ds", int(d/time.Minute), int(d%time.Minute/time.Second))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
	}
	return fmt.Sprintf("%dd%dh", int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour))
}

// labels formats a label map as sorted k=v pairs.
func labels(m map[string]string) string {
	if len(m) == 0 {
		return "-"
	}
	parts := make([]string, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, k+"="+m[k])
	}
	return strings.Join(parts, ",")
}

// progressOf is a job's done/total.
func progressOf(rec events.JobRecord) string {
	return fmt.Sprintf("%d/%d", rec.Counts.Done(), rec.Total)
}

// duration is how long a job ran: until it finished, or until its last
// update while it runs.
func duration(rec events.JobRecord) time.Duration {
	end := rec.UpdatedAt
	if rec.FinishedAt != nil {
		end = *rec.FinishedAt
	}
	if rec.SubmittedAt.IsZero() || end.Before(rec.SubmittedAt) {
		return 0
	}
	return end.Sub(rec.SubmittedAt).Round(time.Millisecond)
}

// countsLine lists the non-zero task counts, e.g. "8 succeeded, 2 failed".
func countsLine(c events.TaskCounts) string {
	var parts []string
	for _, n := range []struct {
		n    int
		name events.TaskState
	}{
		{c.Succeeded, events.TaskSucceeded}, {c.Failed, events.TaskFailed},
		{c.Skipped, events.TaskSkipped}, {c.Cancelled, events.TaskCancelled},
		{c.Running, events.TaskRunning}, {c.Retrying, events.TaskRetrying},
		{c.Queued, events.TaskQueued}, {c.Pending, events.TaskPending},
	} {
		if n.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n.n, n.name))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// printSummary writes the end-of-watch summary of a job.
func printSummary(w io.Writer, rec events.JobRecord) error {
	tw := newTable(w)
	name := ""
	if rec.Name != "" {
		name = " (" + rec.Name + ")"
	}
	row(tw, "job:", rec.ID+name)
	row(tw, "state:", string(rec.State))
	row(tw, "tasks:", fmt.Sprintf("%s done: %s", progressOf(rec), countsLine(rec.Counts)))
	row(tw, "duration:", duration(rec).String())
	if rec.Error != "" {
		row(tw, "error:", rec.Error)
	}
	return tw.Flush()
}
