// Package progress shows a job's progress from its geo_jobs record: a bar on
// a terminal, one plain line per change (at most one a second) elsewhere.
package progress

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/geocluster/geocluster/libs/events"
)

// Display modes.
const (
	Auto  = "auto"
	Bar   = "bar"
	Plain = "plain"
	None  = "none"
)

// TickInterval is the shortest time between two plain progress lines, and
// how often a caller should call Tick.
const TickInterval = time.Second

// Display shows a watched job's record as it changes. Tick is to be called
// about every second; Close ends the display and is safe to call twice.
type Display interface {
	Update(rec events.JobRecord)
	Tick()
	Close()
}

// New returns the display of mode on w; Auto is a bar when w is a terminal
// and plain lines otherwise (logs, CI).
func New(mode string, w io.Writer) Display {
	if mode == Auto {
		mode = Plain
		if IsTerminal(w) {
			mode = Bar
		}
	}
	switch mode {
	case Bar:
		return &barProgress{w: w}
	case Plain:
		return &plainProgress{w: w}
	}
	return noProgress{}
}

// IsTerminal reports whether w is a terminal.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// activity counts a job's tasks that are under way or failed.
func activity(c events.TaskCounts) string {
	return fmt.Sprintf("%d running, %d queued, %d retrying, %d failed", c.Running, c.Queued, c.Retrying, c.Failed)
}

type noProgress struct{}

func (noProgress) Update(events.JobRecord) {}
func (noProgress) Tick()                   {}
func (noProgress) Close()                  {}

// barProgress draws a progress bar of done/total tasks.
type barProgress struct {
	w      io.Writer
	bar    *progressbar.ProgressBar
	total  int
	closed bool
}

func (p *barProgress) Update(rec events.JobRecord) {
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

func (p *barProgress) Tick() {}

func (p *barProgress) Close() {
	if p.closed || p.bar == nil {
		p.closed = true
		return
	}
	p.closed = true
	_ = p.bar.Exit()
	fmt.Fprintln(p.w)
}

// plainProgress prints one line per change, at most one per TickInterval;
// tick prints a change held back by the interval.
type plainProgress struct {
	w       io.Writer
	last    string
	lastAt  time.Time
	pending string
	closed  bool
}

func (p *plainProgress) Update(rec events.JobRecord) {
	line := fmt.Sprintf("job %s %s: %d/%d done, %s", rec.ID, rec.State, rec.Counts.Done(), rec.Total, activity(rec.Counts))
	if line == p.last {
		p.pending = ""
		return
	}
	p.pending = line
	if time.Since(p.lastAt) >= TickInterval {
		p.flush()
	}
}

func (p *plainProgress) Tick() { p.flush() }

func (p *plainProgress) flush() {
	if p.closed || p.pending == "" {
		return
	}
	fmt.Fprintln(p.w, p.pending)
	p.last, p.lastAt, p.pending = p.pending, time.Now(), ""
}

func (p *plainProgress) Close() {
	p.flush()
	p.closed = true
}
