package worker

import (
	"errors"
	"fmt"
	"sync"
	"time"
)

// BreakerConfig configures the worker's circuit breakers, one per op. A
// breaker is closed (the op runs), open (the worker refuses the op's tasks)
// or half-open (a few probe tasks run to see whether the op recovered):
//
//   - closed → open when, within the last Window, at least MinRequests
//     attempts of the op ended and at least FailureRatio of them failed.
//     (There is no separate consecutive-failures rule: MinRequests failures
//     in a row within a Window trip it.) The open period lasts Cooldown.
//   - open → half-open once the cooldown has passed.
//   - half-open: at most Probes tasks run at once; the first probe that
//     succeeds closes the breaker (and forgets the window), the first that
//     fails opens it again for twice the previous cooldown, at most
//     MaxCooldown.
//
// Only the op's own outcomes count: a success, an error, a timeout or a
// panic. A task cancelled with its job, handed back by a drain, or failed
// with a Permanent error (bad params, a missing input: the task's fault,
// not the op's) counts for nothing; a result that is not JSON is the op's
// fault and counts as a failure.
type BreakerConfig struct {
	// Enabled turns the breakers on (true in DefaultBreakerConfig; false, the
	// zero value, runs every task whatever its op's failures).
	Enabled bool
	// Window is how far back outcomes count (1m). It is kept in ten
	// buckets, so an outcome counts for between 0.9 and 1 Window.
	Window time.Duration
	// MinRequests is how many outcomes within the Window it takes before
	// the breaker may open (10).
	MinRequests int
	// FailureRatio is the share of failures within the Window, in (0, 1],
	// that opens the breaker (0.5).
	FailureRatio float64
	// Cooldown is how long the breaker stays open after it trips (10s).
	Cooldown time.Duration
	// MaxCooldown bounds the cooldown, which doubles each time a probe
	// fails (5m).
	MaxCooldown time.Duration
	// Probes is how many tasks may run at once while half-open (1).
	Probes int
	// RefuseDelay caps the NakWithDelay of a refused task: it is handed back
	// with the time left of the cooldown, at most RefuseDelay (2s).
	RefuseDelay time.Duration
}

// Defaults of BreakerConfig.
const (
	DefaultBreakerWindow       = time.Minute
	DefaultBreakerMinRequests  = 10
	DefaultBreakerFailureRatio = 0.5
	DefaultBreakerCooldown     = 10 * time.Second
	DefaultBreakerMaxCooldown  = 5 * time.Minute
	DefaultBreakerProbes       = 1
	DefaultBreakerRefuseDelay  = 2 * time.Second
)

// DefaultBreakerConfig returns the breakers' defaults, enabled.
func DefaultBreakerConfig() BreakerConfig {
	return BreakerConfig{
		Enabled:      true,
		Window:       DefaultBreakerWindow,
		MinRequests:  DefaultBreakerMinRequests,
		FailureRatio: DefaultBreakerFailureRatio,
		Cooldown:     DefaultBreakerCooldown,
		MaxCooldown:  DefaultBreakerMaxCooldown,
		Probes:       DefaultBreakerProbes,
		RefuseDelay:  DefaultBreakerRefuseDelay,
	}
}

// Validate returns every problem of c at once; a disabled config is valid.
func (c BreakerConfig) Validate() error {
	if !c.Enabled {
		return nil
	}
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf("breaker: "+format, args...)) }
	if c.Window <= 0 {
		add("window: must be positive, got %s", c.Window)
	}
	if c.MinRequests < 1 {
		add("min_requests: at least 1, got %d", c.MinRequests)
	}
	if !(c.FailureRatio > 0 && c.FailureRatio <= 1) {
		add("failure_ratio: must be in (0, 1], got %g", c.FailureRatio)
	}
	if c.Cooldown <= 0 {
		add("cooldown: must be positive, got %s", c.Cooldown)
	}
	if c.MaxCooldown < c.Cooldown {
		add("max_cooldown: must be at least the cooldown %s, got %s", c.Cooldown, c.MaxCooldown)
	}
	if c.Probes < 1 {
		add("probes: at least 1, got %d", c.Probes)
	}
	if c.RefuseDelay <= 0 {
		add("refuse_delay: must be positive, got %s", c.RefuseDelay)
	}
	return errors.Join(errs...)
}

// breakerState is a breaker's state, as the registration shows it.
type breakerState string

const (
	breakerClosed   breakerState = "closed"
	breakerOpen     breakerState = "open"
	breakerHalfOpen breakerState = "half_open"
)

// outcome is what a task admitted by a breaker tells it when it ends.
type outcome int

const (
	// outcomeIgnored counts for nothing (cancelled, handed back, the task's
	// own fault); it frees a half-open probe.
	outcomeIgnored outcome = iota
	outcomeSuccess
	outcomeFailure
)

// transition is a change of a breaker's state; cooldown is set when it
// opens.
type transition struct {
	from, to breakerState
	cooldown time.Duration
}

// changed reports whether t is a transition at all.
func (t transition) changed() bool { return t.from != t.to }

// ticket is a breaker's admission of one task. Its generation ties the
// outcome to the state that admitted it: an outcome reported after the
// state changed counts for nothing.
type ticket struct {
	gen   uint64
	probe bool
}

// breaker is the state machine of one op's breaker (see BreakerConfig). It
// keeps no clock: every call is given the time. Safe for concurrent use.
type breaker struct {
	cfg BreakerConfig

	mu       sync.Mutex
	state    breakerState
	gen      uint64        // incremented on every transition
	window   window        // outcomes while closed
	until    time.Time     // open: the end of the cooldown
	cooldown time.Duration // the cooldown of the last opening; 0 once closed
	probes   int           // half-open: probes running
}

func newBreaker(cfg BreakerConfig) *breaker {
	return &breaker{cfg: cfg, state: breakerClosed, window: newWindow(cfg.Window)}
}

// allow admits a task or refuses it. When it refuses, wait is the time
// left of the cooldown (0 when half-open with every probe running). It
// moves an open breaker whose cooldown passed to half-open and returns that
// transition.
func (b *breaker) allow(now time.Time) (t ticket, wait time.Duration, ok bool, tr transition) {
	b.mu.Lock()
	defer b.mu.Unlock()
	tr = b.advance(now)
	switch b.state {
	case breakerOpen:
		return ticket{}, b.until.Sub(now), false, tr
	case breakerHalfOpen:
		if b.probes >= b.cfg.Probes {
			return ticket{}, 0, false, tr
		}
		b.probes++
		return ticket{gen: b.gen, probe: true}, 0, true, tr
	default:
		return ticket{gen: b.gen}, 0, true, tr
	}
}

// blocked reports whether the breaker is open with cooldown left, and how
// much; it changes nothing.
func (b *breaker) blocked(now time.Time) (wait time.Duration, open bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state == breakerOpen && now.Before(b.until) {
		return b.until.Sub(now), true
	}
	return 0, false
}

// done records the outcome of a task admitted with t and returns the
// transition it caused.
func (b *breaker) done(t ticket, o outcome, now time.Time) transition {
	b.mu.Lock()
	defer b.mu.Unlock()
	if t.gen != b.gen {
		return transition{from: b.state, to: b.state} // admitted by an earlier state
	}
	switch {
	case b.state == breakerClosed && o != outcomeIgnored:
		b.window.add(now, o == outcomeFailure)
		total, failures := b.window.counts(now)
		if total >= b.cfg.MinRequests && float64(failures) >= b.cfg.FailureRatio*float64(total) {
			return b.open(now, b.cfg.Cooldown)
		}
	case b.state == breakerHalfOpen && t.probe:
		b.probes--
		switch o {
		case outcomeSuccess:
			return b.set(breakerClosed)
		case outcomeFailure:
			return b.open(now, min(2*b.cooldown, b.cfg.MaxCooldown))
		}
	}
	return transition{from: b.state, to: b.state}
}

// current returns the state at now, moving an open breaker whose cooldown
// passed to half-open.
func (b *breaker) current(now time.Time) (breakerState, transition) {
	b.mu.Lock()
	defer b.mu.Unlock()
	tr := b.advance(now)
	return b.state, tr
}

// advance moves an open breaker whose cooldown passed to half-open.
// Callers hold b.mu.
func (b *breaker) advance(now time.Time) transition {
	if b.state == breakerOpen && !now.Before(b.until) {
		return b.set(breakerHalfOpen)
	}
	return transition{from: b.state, to: b.state}
}

// open opens the breaker for cooldown. Callers hold b.mu.
func (b *breaker) open(now time.Time, cooldown time.Duration) transition {
	tr := b.set(breakerOpen)
	b.cooldown, b.until = cooldown, now.Add(cooldown)
	tr.cooldown = cooldown
	return tr
}

// set enters state s and starts a new generation. Callers hold b.mu.
func (b *breaker) set(s breakerState) transition {
	tr := transition{from: b.state, to: s}
	b.state = s
	b.gen++
	b.probes = 0
	if s == breakerClosed {
		b.window.reset()
		b.cooldown = 0
	}
	return tr
}
