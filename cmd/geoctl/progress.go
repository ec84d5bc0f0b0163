package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/geocluster/geocluster/libs/events"
)

// Progress displays, chosen with --progress.
const (
	progressAuto  = "auto"
	progressBar   = "bar"
	progressPlain = "plain"
	progressNone  = "none"
)

// plainInterval is the shortest time between two plain progress lines.
const plainInterval = time.Second

// progress shows a watched job's record as it changes. tick is called every
// plainInterval; close ends the display and is safe to call twice.
type progress interface {
	update(rec events.JobRecord)
	tick()
	close()
}

// newProgress returns the display of mode on w; auto is a bar when w is a
// terminal and plain lines otherwise (logs, CI).
func newProgress(mode string, w io.Writer) progress {
	if mode == progressAuto {
		mode = progressPlain
		if isTerminal(w) {
			mode = progressBar
		}
	}
	switch mode {
	case progressBar:
		return &barProgress{w: w}
	case progressPlain:
		return &plainProgress{w: w}
	}
	return noProgress{}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// activity counts a job's tasks that are under way or failed.
func activity(c events.TaskCounts) string {
	return fmt.Sprintf("%d running, %d queued, %d retrying, %d failed", c.Running, c.Queued, c.Retrying, c.Failed)
}

type noProgress struct{}

func (noProgress) update(events.JobRecord) {}
func (noProgress) tick()                   {}
func (noProgress) close()                  {}

// barProgress draws a progress bar of done/total tasks.
type barProgress struct {
	w      io.Writer
	bar    *progressbar.ProgressBar
	total  int
	closed bool
}

func (p *barProgress) update(rec events.JobRecord) {
	if p.closed {
		return
	}
	total := max(rec.Total, 1)
	if p.bar == nil {
		p.bar = progressbar.NewOptions(total,
			progressbar.OptionSetWriter(p.w),
			progressbar.OptionSetWidth(30),
			progressbar.OptionShowCount(),
			progressbar.OptionSetElapsedTime(true),
			progressbar.OptionShowDescriptionAtLineEnd(),
			progressbar.OptionSetItsString("tasks"),
		)
		p.total = total
	}
	if total != p.total {
		p.bar.ChangeMax(total)
		p.total = total
	}
	_ = p.bar.Set(rec.Counts.Done()) // a display error is not worth failing the watch
	p.bar.Describe("[" + string(rec.State) + "] " + activity(rec.Counts))
}

func (p *barProgress) tick() {}

func (p *barProgress) close() {
	if p.closed || p.bar == nil {
		p.closed = true
		return
	}
	p.closed = true
	_ = p.bar.Exit()
	fmt.Fprintln(p.w)
}

// plainProgress prints one line per change, at most one per plainInterval;
// tick prints a change held back by the interval.
type plainProgress struct {
	w       io.Writer
	last    string
	lastAt  time.Time
	pending string
	closed  bool
}

func (p *plainProgress) update(rec events.JobRecord) {
	line := fmt.Sprintf("job %s %s: %d/%d done, %s", rec.ID, rec.State, rec.Counts.Done(), rec.Total, activity(rec.Counts))
	if line == p.last {
		p.pending = ""
		return
	}
	p.pending = line
	if time.Since(p.lastAt) >= plainInterval {
		p.flush()
	}
}

func (p *plainProgress) tick() { p.flush() }

func (p *plainProgress) flush() {
	if p.closed || p.pending == "" {
		return
	}
	fmt.Fprintln(p.w, p.pending)
	p.last, p.lastAt, p.pending = p.pending, time.Now(), ""
}

func (p *plainProgress) close() { p.closed = true }
