package worker

import (
	"errors"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/geocluster/geocluster/libs/events"
)

// breakers are the worker's circuit breakers, one per op it runs (see
// BreakerConfig). Built before Run starts tasks; the map is read-only
// afterwards.
type breakers struct {
	cfg  BreakerConfig
	now  func() time.Time
	byOp map[string]*opBreaker // nil when the breakers are off
	// changed is called, outside any lock, with each transition.
	changed func(op string, tr transition, refused uint64)
}

// opBreaker is one op's breaker and how many tasks it refused.
type opBreaker struct {
	*breaker
	refused atomic.Uint64
}

func newBreakers(cfg BreakerConfig, ops []string, now func() time.Time, changed func(string, transition, uint64)) *breakers {
	s := &breakers{cfg: cfg, now: now, changed: changed}
	if !cfg.Enabled {
		return s
	}
	s.byOp = make(map[string]*opBreaker, len(ops))
	for _, op := range ops {
		s.byOp[op] = &opBreaker{breaker: newBreaker(cfg)}
	}
	return s
}

// permit is a task's admission by its op's breaker; report its outcome
// with done. The zero permit (no breaker) ignores it.
type permit struct {
	s  *breakers
	op string
	b  *opBreaker
	t  ticket
}

// done reports the outcome of the admitted task.
func (p permit) done(o outcome) {
	if p.b != nil {
		p.s.report(p.op, p.b, p.b.done(p.t, o, p.s.now()))
	}
}

// blocked reports whether op's breaker is open with cooldown left, without
// taking a probe: a task may be refused before it waits for its op's limit.
func (s *breakers) blocked(op string) (delay time.Duration, refuse bool) {
	b := s.byOp[op]
	if b == nil {
		return 0, false
	}
	wait, open := b.blocked(s.now())
	if !open {
		return 0, false
	}
	b.refused.Add(1)
	return s.delay(wait), true
}

// allow admits a task of op, or refuses it with the delay of its hand-back.
func (s *breakers) allow(op string) (p permit, delay time.Duration, ok bool) {
	b := s.byOp[op]
	if b == nil {
		return permit{}, 0, true
	}
	t, wait, ok, tr := b.allow(s.now())
	s.report(op, b, tr)
	if !ok {
		b.refused.Add(1)
		return permit{}, s.delay(wait), false
	}
	return permit{s: s, op: op, b: b, t: t}, 0, true
}

// delay is the hand-back delay of a task refused with wait left of the
// cooldown: at most RefuseDelay, which is also the delay while half-open
// (wait 0).
func (s *breakers) delay(wait time.Duration) time.Duration {
	if wait <= 0 {
		return s.cfg.RefuseDelay
	}
	return min(wait, s.cfg.RefuseDelay)
}

// states returns every op's breaker state, for the registration; nil when
// the breakers are off.
func (s *breakers) states() map[string]string {
	if s.byOp == nil {
		return nil
	}
	out := make(map[string]string, len(s.byOp))
	now := s.now()
	for op, b := range s.byOp {
		state, tr := b.current(now)
		s.report(op, b, tr)
		out[op] = string(state)
	}
	return out
}

// refusedTotal is how many tasks the breakers refused since the start.
func (s *breakers) refusedTotal() uint64 {
	var n uint64
	for _, b := range s.byOp {
		n += b.refused.Load()
	}
	return n
}

func (s *breakers) report(op string, b *opBreaker, tr transition) {
	if tr.changed() && s.changed != nil {
		s.changed(op, tr, b.refused.Load())
	}
}

// outcomeOf classifies how a task ended for its op's breaker: err is what
// the op returned, cause the cause of the task's context.
func outcomeOf(err, cause error) outcome {
	var bad *badResultError
	switch {
	case err == nil:
		return outcomeSuccess
	case errors.Is(cause, ErrDraining), errors.Is(cause, ErrJobCancelled):
		return outcomeIgnored
	case errors.As(err, &bad):
		return outcomeFailure // the op's fault, though retrying cannot help
	case IsPermanent(err):
		return outcomeIgnored // the task's fault
	default:
		return outcomeFailure // an error, a timeout, a panic
	}
}

// badResultError is the (permanent) error of an op that returned a result
// that is not JSON.
type badResultError struct{ op string }

func (e *badResultError) Error() string {
	return "op " + e.op + " returned a result that is not JSON"
}

// onBreakerChange logs a breaker's transition and writes the registration
// at once, so operators and the scheduler see it.
func (w *worker) onBreakerChange(op string, tr transition, refused uint64) {
	ev := w.log.Info()
	if tr.to == breakerOpen {
		ev = w.log.Warn().Dur("cooldown", tr.cooldown)
	}
	ev.Str("op", op).Str("from", string(tr.from)).Str("to", string(tr.to)).Uint64("refused", refused).Msg("circuit breaker changed")
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// refuse hands back a task its op's breaker refused: another worker may
// take it, or this one after delay. The Nak counts as a delivery (see lost).
func (w *worker) refuse(msg jetstream.Msg, m events.TaskMessage, delay time.Duration, log zerolog.Logger) {
	log.Debug().Str("op", m.Op).Dur("delay", delay).Msg("task refused: circuit breaker open")
	if err := msg.NakWithDelay(delay); err != nil {
		log.Warn().Err(err).Msg("nak failed")
	}
}

// admit asks the breaker of m's op to run it, or refuses it.
func (w *worker) admit(msg jetstream.Msg, m events.TaskMessage, log zerolog.Logger) (permit, bool) {
	p, delay, ok := w.breakers.allow(m.Op)
	if !ok {
		w.refuse(msg, m, delay, log)
	}
	return p, ok
}
